"""The prediction cache on a real transformers model (the tiny BERT): an unchanged rerun reads
the stored predictions, which equal the model's own; each change that can move a prediction
(one byte of the weights, one label, one text, ``max_length``, ``batch_size``, another adapter
parameter) is a miss, and the model runs again. Misses and hits are read from ``run.predictions``
in the JSON report."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real

SUITE = """model:
  adapter: transformers
  path: ../model
  batch_size: 16
  max_length: 128
datasets:
  eval:
    path: ../eval.csv
checks:
  - kind: accuracy
    dataset: eval
"""


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir: Path) -> Any:
    """The tiny BERT and its tokenizer, loaded once. Loading it here, before any pytester
    fixture takes its snapshot of ``sys.modules``, also keeps torch and transformers' lazily
    imported modules loaded: pytester drops the modules first imported during a test, and torch
    cannot be imported a second time in one process."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return (AutoTokenizer.from_pretrained(tiny_model_dir),
            AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval())


@pytest.fixture
def project(tiny_model: Any, pytester: pytest.Pytester, tiny_model_dir: Path,
            eval_csv: Path) -> pytest.Pytester:
    """A copy of the tiny model, the evaluation set and the suite, with one run done (a miss)."""
    shutil.copytree(tiny_model_dir, pytester.path / "model")
    shutil.copy(eval_csv, pytester.path / "eval.csv")
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "tiny.yaml").write_text(SUITE)
    assert source(run(pytester))["cache"] == "miss"
    return pytester


def run(pytester: pytest.Pytester) -> dict[str, Any]:
    pytester.runpytest("suites/").assert_outcomes(passed=1)
    return dict(json.loads((pytester.path / "reports" / "modeltests.json").read_text()))


def source(document: dict[str, Any]) -> dict[str, Any]:
    (only,) = document["run"]["predictions"]
    return dict(only)


def flip_last_weight_byte(root: Path) -> None:
    weights = root / "model" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # the low mantissa bit of the last float: still a valid file
    weights.write_bytes(bytes(data))


def edit_csv(change: Callable[[Any], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        import pandas as pd

        frame = pd.read_csv(root / "eval.csv")
        change(frame)
        frame.to_csv(root / "eval.csv", index=False)
    return apply


def flip_first_label(frame: Any) -> None:
    frame.loc[0, "label"] = "negative" if frame.loc[0, "label"] == "positive" else "positive"


def edit_first_text(frame: Any) -> None:
    frame.loc[0, "text"] = str(frame.loc[0, "text"]) + " Really."


def edit_suite(old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / "suites" / "tiny.yaml"
        path.write_text(path.read_text().replace(old, new))
    return apply


CHANGES = {
    "weights-byte": flip_last_weight_byte,
    "label": edit_csv(flip_first_label),
    "text": edit_csv(edit_first_text),
    "max_length": edit_suite("max_length: 128", "max_length: 96"),
    "batch_size": edit_suite("batch_size: 16", "batch_size: 8"),
    "adapter-parameter": edit_suite("max_length: 128", "max_length: 128\n  "
                                                       "max_tokens_per_batch: 4096"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_change_recomputes(project: pytest.Pytester, change: str) -> None:
    CHANGES[change](project.path)
    document = run(project)
    assert source(document)["cache"] == "miss" and source(document)["from_cache"] is False
    assert source(run(project))["cache"] == "hit"  # and the new key is stored


def test_unchanged_rerun_hits_with_the_models_own_predictions(project: pytest.Pytester,
                                                              tiny_model: Any) -> None:
    import pandas as pd
    import torch

    document = run(project)
    hit = source(document)
    assert hit["cache"] == "hit" and hit["from_cache"] is True and hit["rows"] == 600
    frame = pd.read_csv(project.path / "eval.csv")
    tokenizer, model = tiny_model
    with torch.inference_mode():
        batch = tokenizer(list(frame.text), padding=True, truncation=True, max_length=128,
                          return_tensors="pt")
        expected = torch.softmax(model(**batch).logits.double(), dim=-1).numpy()
    with np.load(hit["path"]) as entry:
        stored = entry["probabilities"]
        labels = [str(label) for label in entry["labels"]]
    assert np.abs(stored - expected).max() < 1e-5
    names = model.config.id2label
    assert labels == [names[i] for i in expected.argmax(1)]
    correct = sum(p == t for p, t in zip(labels, frame.label))
    assert document["checks"][0]["metrics"]["accuracy"] == pytest.approx(correct / len(frame))


QUANTIZATION = """
  - kind: quantization
    dataset: eval
    scheme: int8_dynamic
    speed_examples: 0
"""


def test_quantized_copy_is_keyed_by_its_source_and_recipe(project: pytest.Pytester) -> None:
    """The int8 copy's predictions (sorted by length as configured, in file order, and in the
    seeded shuffle) are reused by an unchanged rerun, with the same metrics; one changed byte
    of the fp32 weights misses. (The half-size batching runs in chunks, uncached.)"""
    suite = project.path / "suites" / "tiny.yaml"
    suite.write_text(suite.read_text() + QUANTIZATION)

    def derived(document: dict[str, Any]) -> list[str]:
        return [p["cache"] for p in document["run"]["predictions"] if "derived" in p]

    def metrics(document: dict[str, Any]) -> dict[str, Any]:
        return dict(document["checks"][1]["metrics"])

    def run_two(pytester: pytest.Pytester) -> dict[str, Any]:
        pytester.runpytest("suites/").assert_outcomes(passed=2)
        return dict(json.loads((pytester.path / "reports" / "modeltests.json").read_text()))

    first = run_two(project)
    assert derived(first) == ["miss", "miss", "miss"]
    assert first["run"]["predictions"][1]["derived"] == {"compression": "int8_dynamic"}
    second = run_two(project)
    assert derived(second) == ["hit", "hit", "hit"]
    assert metrics(second) == metrics(first)
    flip_last_weight_byte(project.path)
    assert derived(run_two(project)) == ["miss", "miss", "miss"]
