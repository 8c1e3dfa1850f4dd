"""The demo model behind a real MLServer started by a suite's ``serve:`` section: its answers
over the Open Inference Protocol match the model computed here with transformers directly,
and the server is gone, its port free, once the session closes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modeltests.api import Session
from modeltests.serving.server import port_is_free

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["I loved every minute of it.", "The plot was a mess and the acting worse.",
         "Not bad at all.", "It arrived broken, but support replaced it the same day.", ""]


def suite_text() -> str:
    serving = ROOT / "suites" / "serving"
    return f"""
serve:
  command: ["{{python}}", "-m", "mlserver.cli.main", "start", "{serving}"]
  env:
    MLSERVER_HTTP_PORT: "{{port}}"
    MLSERVER_GRPC_PORT: "{{port:grpc}}"
    PYTHONPATH: "{ROOT}"
  ready_url: "http://127.0.0.1:{{port}}/v2/models/sentiment/ready"
  startup_timeout_s: 300
model:
  adapter: http
  protocol: v2
  url: "http://127.0.0.1:{{port}}/v2/models/sentiment/infer"
  labels: [negative, positive]
checks:
  - kind: availability
"""


def direct_probabilities(model_dir: Path, texts: list[str]) -> tuple[list[str], object]:
    """Each text alone through AutoModelForSequenceClassification, softmax in float64."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    rows = []
    with torch.no_grad():
        for text in texts:
            batch = tokenizer([text], truncation=True, max_length=256, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits.double(), dim=-1)[0])
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return labels, torch.stack(rows).numpy()


def test_the_served_model_answers_what_the_model_computes_and_leaves_no_process(
        demo_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("mlserver", reason="pip install 'modeltests[serve]'")
    import numpy as np

    path = tmp_path / "served.yaml"
    path.write_text(suite_text())
    with Session(rootdir=tmp_path, progress=False) as session:
        runtime = session.runtime
        suite = runtime.suite(path)
        served = runtime.models.model(suite).predict(TEXTS)
        ((_, server),) = runtime.servers.started()
        facts = server.facts
        assert facts is not None and facts.cold_start_s is not None
    labels, expected = direct_probabilities(demo_model_dir, TEXTS)
    assert served.label_names == labels == ["negative", "positive"]
    assert served.probabilities is not None
    assert np.abs(served.probabilities - expected).max() < 1e-5
    assert served.labels == [labels[i] for i in expected.argmax(axis=1)]
    assert facts.stopped_by == "SIGTERM" and facts.exit_code is not None
    assert facts.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(facts.pid, 0)
    assert all(port_is_free(port) for port in facts.ports.values())
