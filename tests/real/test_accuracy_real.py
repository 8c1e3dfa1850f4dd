"""The accuracy check on a real transformers model (the tiny BERT) against a hand computation
with ``AutoModelForSequenceClassification`` and scikit-learn."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real

LABELS = ["negative", "positive"]


@pytest.fixture(scope="module")
def by_hand(tiny_model_dir: Path, eval_csv: Path) -> dict:
    """Probabilities of the tiny BERT on the evaluation set, one text at a time (no padding)."""
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    frame = pd.read_csv(eval_csv)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(frame), 64):
            batch = tokenizer(list(frame.text[start:start + 64]), padding=True, truncation=True,
                              max_length=256, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits.double(), dim=-1).numpy())
    probabilities = np.concatenate(rows)
    id2label = model.config.id2label
    predicted = [id2label[i] for i in probabilities.argmax(axis=1)]
    return {"frame": frame, "probabilities": probabilities, "predicted": predicted}


def _run_suite(pytester: pytest.Pytester, model_dir: Path, csv: Path, checks: str) -> dict:
    shutil.copy(csv, pytester.path / "eval.csv")
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "tiny.yaml").write_text(f"""model:
  adapter: transformers
  path: {model_dir}
  batch_size: 16
datasets:
  eval:
    path: ../eval.csv
checks:
{checks}""")
    result = pytester.runpytest("suites/")
    result.assert_outcomes(passed=1)
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    return document["checks"][0]


def test_accuracy_check_matches_a_hand_computation(
    pytester: pytest.Pytester, tiny_model_dir: Path, eval_csv: Path, by_hand: dict
) -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score

    entry = _run_suite(pytester, tiny_model_dir, eval_csv,
                       "  - kind: accuracy\n    dataset: eval\n    min_accuracy: 0.5\n")
    truth = list(by_hand["frame"].label)
    predicted = by_hand["predicted"]
    metrics = entry["metrics"]
    assert entry["sample_size"] == len(truth) >= 400
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert metrics["f1_macro"] == pytest.approx(
        f1_score(truth, predicted, average="macro", labels=LABELS), abs=1e-12)
    assert metrics["f1_weighted"] == pytest.approx(
        f1_score(truth, predicted, average="weighted", labels=LABELS), abs=1e-12)
    assert metrics["precision_macro"] == pytest.approx(
        precision_score(truth, predicted, average="macro", labels=LABELS), abs=1e-12)
    assert entry["details"]["confusion_matrix"] == \
        confusion_matrix(truth, predicted, labels=LABELS).tolist()
    assert entry["details"]["labels"] == LABELS
    wrong = [i for i, (t, p) in enumerate(zip(truth, predicted)) if t != p]
    assert entry["details"]["errors"] == len(wrong)
    # Issue 26: the most confident error of each true class first, then the others, most
    # confident first (equal confidences in file order), computed here by hand.
    confidence = by_hand["probabilities"].max(axis=1)
    by_confidence = sorted(wrong, key=lambda i: (-round(float(confidence[i]), 5), i))
    first_of_class: dict[str, int] = {}
    for i in by_confidence:
        first_of_class.setdefault(truth[i], i)
    expected_order = list(first_of_class.values()) + \
        [i for i in by_confidence if i not in first_of_class.values()]
    shown = [e["text"] for e in entry["examples"]]
    assert shown == [by_hand["frame"].text[i] for i in expected_order[:len(shown)]]
    for example, index in zip(entry["examples"], expected_order):
        assert example["confidence"] == pytest.approx(by_hand["probabilities"][index].max(),
                                                      abs=1e-5)


def test_length_sorted_batches_give_the_same_outputs(
    tiny_model_dir: Path, by_hand: dict, tmp_path: Path
) -> None:
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.transformers import TransformersParams, load_transformers

    texts = list(by_hand["frame"].text)
    context = LoadContext(base_dir=tmp_path, rootdir=tmp_path)
    outputs, widths = {}, {}
    for sort in (True, False):
        params = TransformersParams(path=str(tiny_model_dir), batch_size=16, sort_by_length=sort)
        model = load_transformers(params, context)
        seen: list[int] = []
        forward = model.forward
        model.forward = lambda batch: (seen.append(batch["input_ids"].shape[1]),  # type: ignore
                                       forward(batch))[1]
        outputs[sort] = model.predict(texts)
        widths[sort] = seen
    # it really reorders: sorted batches come longest first, and pad less than file order
    assert widths[True] == sorted(widths[True], reverse=True) != widths[False]
    assert sum(widths[True]) < sum(widths[False])
    assert outputs[True].labels == outputs[False].labels == by_hand["predicted"]
    np.testing.assert_allclose(outputs[True].probabilities, outputs[False].probabilities,
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs[True].probabilities, by_hand["probabilities"],
                               atol=1e-5, rtol=0)


def test_slices_by_column_regex_and_length(
    pytester: pytest.Pytester, tiny_model_dir: Path, eval_csv: Path, by_hand: dict
) -> None:
    entry = _run_suite(pytester, tiny_model_dir, eval_csv, """  - kind: accuracy
    dataset: eval
    slices:
      - name: negation
        column: phenomenon
        equals: negation
      - name: two topics
        column: topic
        in: [restaurant, movie]
      - name: not
        regex: "\\\\bnot\\\\b"
      - name: short
        max_words: 6
      - name: long
        min_chars: 60
""")
    frame = by_hand["frame"]
    truth, predicted = list(frame.label), by_hand["predicted"]
    members = {
        "negation": [i for i, v in enumerate(frame.phenomenon) if v == "negation"],
        "two topics": [i for i, v in enumerate(frame.topic) if v in ("restaurant", "movie")],
        "not": [i for i, t in enumerate(frame.text) if re.search(r"\bnot\b", t, re.IGNORECASE)],
        "short": [i for i, t in enumerate(frame.text) if len(t.split()) <= 6],
        "long": [i for i, t in enumerate(frame.text) if len(t) >= 60],
    }
    slices = {s["name"]: s for s in entry["details"]["slices"]}
    assert list(slices) == list(members)
    for name, indices in members.items():
        assert slices[name]["n"] == len(indices) > 0, name
        expected = sum(truth[i] == predicted[i] for i in indices) / len(indices)
        assert slices[name]["accuracy"] == pytest.approx(expected, abs=1e-12), name
        assert entry["metrics"][f"slice.{name}.accuracy"] == pytest.approx(expected, abs=1e-12)
