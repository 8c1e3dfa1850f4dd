"""``regression`` on a real BERT: the candidate (the tiny model reading 8 tokens) against the
baseline (the same weights reading 128). Accuracies, flips, McNemar's p, per class and per slice
equal the same numbers computed by hand from two independent evaluations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real

ROWS = 200

SUITE = """model:
  adapter: transformers
  path: {model}
  max_length: 8
models:
  production:
    adapter: transformers
    path: {model}
    max_length: 128
datasets:
  eval:
    path: {csv}
    limit: {rows}
checks:
  - kind: regression
    dataset: eval
    baseline: production
    max_accuracy_drop: 1.0
    slices:
      - {{name: negation, column: phenomenon, equals: negation, max_accuracy_drop: 1.0}}
      - {{name: long, column: phenomenon, equals: long, max_accuracy_drop: 1.0}}
"""


def predicted(directory: Path, texts: list[str], max_length: int) -> tuple[list[str], Any]:
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), 32):
            encoded = tokenizer(texts[start:start + 32], padding=True, truncation=True,
                                max_length=max_length, return_tensors="pt")
            rows.append(torch.softmax(model(**encoded).logits.double(), dim=-1).numpy())
    p = np.concatenate(rows)
    return [model.config.id2label[i] for i in p.argmax(1)], p


def test_regression_metrics_equal_a_hand_computation(tiny_model_dir: Path, eval_csv: Path,
                                                     tmp_path: Path) -> None:
    import pandas as pd
    from scipy.stats import binomtest

    import modeltests

    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(model=tiny_model_dir, csv=eval_csv, rows=ROWS))
    run = modeltests.run(suite)
    record = run["regression[production]"]
    assert record.result is not None, record.message
    result = record.result

    frame = pd.read_csv(eval_csv).head(ROWS)
    texts, truth = list(frame["text"]), list(frame["label"])
    candidate, _ = predicted(tiny_model_dir, texts, 8)
    baseline, base_p = predicted(tiny_model_dir, texts, 128)

    def expected(rows: list[int]) -> dict[str, float]:
        worse = sum(baseline[i] == truth[i] != candidate[i] for i in rows)
        better = sum(candidate[i] == truth[i] != baseline[i] for i in rows)
        acc_b = sum(baseline[i] == truth[i] for i in rows) / len(rows)
        acc_c = sum(candidate[i] == truth[i] for i in rows) / len(rows)
        p = binomtest(worse, worse + better, 0.5).pvalue if worse + better else 1.0
        return {"accuracy_baseline": acc_b, "accuracy_candidate": acc_c,
                "accuracy_drop": acc_b - acc_c, "negative_flip_rate": worse / len(rows),
                "positive_flip_rate": better / len(rows), "mcnemar_p_value": min(1.0, p)}

    overall = expected(list(range(ROWS)))
    for key, value in overall.items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-12), key
    assert overall["negative_flip_rate"] + overall["positive_flip_rate"] > 0  # a real difference
    low, high = result.intervals["accuracy_drop"]
    assert low <= overall["accuracy_drop"] <= high

    for label in ("negative", "positive"):
        rows = [i for i in range(ROWS) if truth[i] == label]
        assert result.metrics[f"class.{label}.accuracy_drop"] == pytest.approx(
            expected(rows)["accuracy_drop"], abs=1e-12)

    slices = {s["name"]: s for s in result.details["slices"]}
    p_values = {}
    for name in ("negation", "long"):
        rows = [i for i in range(ROWS) if frame["phenomenon"][i] == name]
        hand = expected(rows)
        assert slices[name]["n"] == len(rows)
        assert slices[name]["accuracy_drop"] == pytest.approx(hand["accuracy_drop"], abs=1e-12)
        assert slices[name]["mcnemar_p_value"] == pytest.approx(hand["mcnemar_p_value"])
        p_values[name] = hand["mcnemar_p_value"]
    (first, p1), (second, p2) = sorted(p_values.items(), key=lambda item: item[1])
    holm = {first: min(1.0, 2 * p1), second: max(min(1.0, 2 * p1), p2)}  # Holm, m = 2
    for name, value in holm.items():
        assert slices[name]["holm_p_value"] == pytest.approx(value), name

    flips = [i for i in range(ROWS) if baseline[i] == truth[i] != candidate[i]]
    assert result.details["negative_flips"] == len(flips)
    shown = result.examples[0] if result.examples else None
    if shown is not None:
        row = texts.index(shown["text"])
        assert row in flips
        assert shown["baseline_probabilities"][baseline[row]] == pytest.approx(
            float(base_p[row].max()), abs=1e-4)
