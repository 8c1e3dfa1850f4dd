"""The calibration and coverage checks on a real transformers model (the tiny BERT) against an
independent computation: probabilities from ``AutoModelForSequenceClassification``, NLL from
scikit-learn's ``log_loss``, the binary Brier score from ``brier_score_loss``, ECE and MCE binned
by hand in loops, the risk-coverage curve read threshold by threshold."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real

# The check and the fixture run the model one text at a time (no padding, the same kernels) and
# take the softmax of the float32 logits in float64: the probabilities agree to the last bits,
# so rows tie and bin identically and the metrics agree to rounding.
CLOSE = 1e-9


@pytest.fixture(scope="module")
def by_hand(tiny_model_dir: Path, eval_csv: Path) -> dict:
    """Probabilities of the tiny BERT on the evaluation set, one text at a time, columns in the
    model's label order."""
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    frame = pd.read_csv(eval_csv)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    rows = []
    with torch.inference_mode():
        for text in frame.text:
            batch = tokenizer([text], truncation=True, max_length=256, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits.double(), dim=-1).numpy())
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    probabilities = np.concatenate(rows)
    truth = np.array([labels.index(y) for y in frame.label])
    return {"labels": labels, "p": probabilities, "truth": truth,
            "confidence": probabilities.max(axis=1),
            "correct": probabilities.argmax(axis=1) == truth}


def _run(pytester: pytest.Pytester, model_dir: Path, csv: Path, check: str) -> dict:
    shutil.copy(csv, pytester.path / "eval.csv")
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "tiny.yaml").write_text(f"""model:
  adapter: transformers
  path: {model_dir}
  batch_size: 1
datasets:
  eval:
    path: ../eval.csv
checks:
{check}""")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    return dict(document["checks"][0])


def _ece_by_hand(confidence: np.ndarray, correct: np.ndarray, groups: list[list[int]]
                 ) -> tuple[float, float]:
    """ECE and MCE over the given groups of row indices, in plain loops."""
    n = len(confidence)
    ece, mce = 0.0, 0.0
    for rows in groups:
        if not rows:
            continue
        accuracy = sum(bool(correct[i]) for i in rows) / len(rows)
        mean_confidence = sum(float(confidence[i]) for i in rows) / len(rows)
        ece += len(rows) / n * abs(accuracy - mean_confidence)
        mce = max(mce, abs(accuracy - mean_confidence))
    return ece, mce


def _debiased_ece_by_hand(confidence: np.ndarray, correct: np.ndarray,
                          groups: list[list[int]]) -> float:
    """Kumar et al. (2019)'s debiased root-mean-square calibration error, in plain loops:
    per bin, the squared mean gap less the unbiased variance of that mean."""
    n, squared = len(confidence), 0.0
    for rows in groups:
        gaps = [float(correct[i]) - float(confidence[i]) for i in rows]
        if not gaps:
            continue
        mean = sum(gaps) / len(gaps)
        variance = (sum((g - mean) ** 2 for g in gaps) / (len(gaps) - 1) / len(gaps)
                    if len(gaps) > 1 else 0.0)
        squared += len(gaps) / n * (mean ** 2 - variance)
    return float(np.sqrt(max(squared, 0.0)))


def _width_groups(confidence: np.ndarray, bins: int) -> list[list[int]]:
    """Rows by equal-width bin: (b/bins, (b+1)/bins], the first bin also taking 0."""
    groups: list[list[int]] = [[] for _ in range(bins)]
    for i, c in enumerate(confidence):
        b = next(b for b in range(bins) if c <= (b + 1) / bins or b == bins - 1)
        groups[b].append(i)
    return groups


def _mass_groups(confidence: np.ndarray, bins: int) -> list[list[int]]:
    """Rows sorted by confidence, cut into ``bins`` runs whose sizes differ by at most one."""
    order = sorted(range(len(confidence)), key=lambda i: (confidence[i], i))
    size, extra = divmod(len(order), bins)
    groups, start = [], 0
    for b in range(bins):
        end = start + size + (1 if b < extra else 0)
        groups.append(order[start:end])
        start = end
    return groups


def test_calibration_metrics_match_an_independent_computation(
        pytester: pytest.Pytester, tiny_model_dir: Path, eval_csv: Path, by_hand: dict) -> None:
    from sklearn.metrics import brier_score_loss, log_loss

    entry = _run(pytester, tiny_model_dir, eval_csv, "  - kind: calibration\n"
                 "    dataset: eval\n    bins: 10\n    ece_binning: mass\n    max_nll: 5\n")
    m, p, truth = entry["metrics"], by_hand["p"], by_hand["truth"]
    confidence, correct = by_hand["confidence"], by_hand["correct"]
    assert entry["sample_size"] == len(truth) >= 400
    assert m["nll"] == pytest.approx(log_loss(truth, p, labels=[0, 1]), abs=CLOSE)
    onehot = np.eye(p.shape[1])[truth]
    assert m["brier"] == pytest.approx(((p - onehot) ** 2).sum(axis=1).mean(), abs=CLOSE)
    positive = by_hand["labels"].index("positive")
    # The multi-class definition is twice scikit-learn's positive-class Brier for two classes.
    assert m["brier"] == pytest.approx(
        2 * brier_score_loss(truth == positive, p[:, positive]), abs=CLOSE)
    width_ece, _ = _ece_by_hand(confidence, correct, _width_groups(confidence, 10))
    mass_ece, mass_mce = _ece_by_hand(confidence, correct, _mass_groups(confidence, 10))
    assert m["ece_width"] == pytest.approx(width_ece, abs=CLOSE)
    assert m["ece_mass"] == pytest.approx(mass_ece, abs=CLOSE)
    # ece_binning: mass: the gated ECE is the debiased one over the equal-mass bins.
    assert m["ece"] == pytest.approx(
        _debiased_ece_by_hand(confidence, correct, _mass_groups(confidence, 10)), abs=CLOSE)
    assert m["mce"] == pytest.approx(mass_mce, abs=CLOSE)
    assert m["accuracy"] == pytest.approx(correct.mean(), abs=1e-12)
    for name in ("brier", "nll"):  # a mean's percentile interval holds its estimate
        low, high = entry["intervals"][name]
        assert low < m[name] < high
    table = entry["details"]["reliability"]["mass"]
    assert sum(b["n"] for b in table) == len(truth)


def test_the_fitted_temperature_minimises_the_nll(
        pytester: pytest.Pytester, tiny_model_dir: Path, eval_csv: Path, by_hand: dict) -> None:
    entry = _run(pytester, tiny_model_dir, eval_csv,
                 "  - kind: calibration\n    dataset: eval\n    max_ece: 1\n")
    m, p, truth = entry["metrics"], by_hand["p"], by_hand["truth"]

    def nll(t: float) -> float:
        z = np.log(p) / t
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(truth)), truth].mean())

    t = m["temperature"]
    assert 0.05 < t < 20
    assert m["nll_after_temperature"] == pytest.approx(nll(t), abs=CLOSE)
    assert nll(t) <= min(nll(t * 1.05), nll(t / 1.05)) + 1e-9
    assert m["nll_after_temperature"] <= m["nll"] + 1e-9  # T = 1 is among the candidates


def test_coverage_curve_matches_a_direct_computation(
        pytester: pytest.Pytester, tiny_model_dir: Path, eval_csv: Path, by_hand: dict) -> None:
    entry = _run(pytester, tiny_model_dir, eval_csv, "  - kind: coverage\n    dataset: eval\n"
                 "    confidence_threshold: 0.8\n    target_accuracy: 0.95\n"
                 "    min_coverage: 0\n")
    m = entry["metrics"]
    confidence, correct = by_hand["confidence"], by_hand["correct"]
    n = len(confidence)
    answered = confidence >= 0.8
    assert m["coverage"] == pytest.approx(answered.mean(), abs=1e-12)
    assert m["accuracy_at_coverage"] == pytest.approx(correct[answered].mean(), abs=1e-12)

    def at(threshold: float) -> tuple[float, float]:
        chosen = confidence >= threshold
        return chosen.mean(), 1 - correct[chosen].mean()

    for coverage, risk, threshold in entry["details"]["risk_coverage"]:
        assert (coverage, risk) == pytest.approx(at(threshold), abs=CLOSE)
    # AURC: each row answered with every row at least as confident, its risk averaged over rows.
    aurc = sum(1 - correct[confidence >= c].mean() for c in confidence) / n
    assert m["aurc"] == pytest.approx(aurc, abs=CLOSE)
    reachable = [(confidence >= c).mean() for c in confidence
                 if correct[confidence >= c].mean() >= 0.95]
    assert m["coverage_at_target_accuracy"] == pytest.approx(max(reachable, default=0.0),
                                                             abs=CLOSE)
    low, high = entry["intervals"]["coverage_at_target_accuracy"]
    assert low <= high and not math.isnan(low)
