"""Calibration statistics of class probabilities: pure functions over numpy arrays (a leaf; numpy
and scipy are imported inside the functions).

Definitions (``n`` rows, ``k`` classes, ``p`` the model's probabilities, ``y`` the true class):

* **confidence** of a row: its largest probability; the row is **correct** when that class (the
  argmax, the predicted label) is ``y``. Calibration here is *top-label* calibration: among rows
  answered with confidence about 0.8, about 80% should be right.
* **plain ECE** (expected calibration error, torchmetrics' and most papers' definition): rows
  are put in ``B`` bins by confidence; ``sum_b (n_b / n) * |accuracy_b - mean confidence_b|``.
  Reported as ``ece_width`` and ``ece_mass``. It is biased upwards: for a perfectly calibrated
  model each bin's gap is sampling noise, and ``|noise|`` averages about ``0.8`` standard
  errors, so at n=400 its bootstrap interval almost never contains the true 0.
* **ECE** (gated by ``max_ece``): the debiased root-mean-square calibration error of Kumar,
  Liang and Ma, "Verified Uncertainty Calibration" (NeurIPS 2019):
  ``sqrt(max(0, sum_b (n_b / n) * (gap_b^2 - v_b)))``, ``gap_b = mean over the bin of
  (correct - confidence)`` and ``v_b`` the unbiased estimate of ``gap_b``'s variance (sample
  variance of ``correct - confidence`` in the bin over ``n_b (n_b - 1)``). Why this one: the
  squared gap has an unbiased estimator (``gap^2 - v``), the absolute gap has none; and the
  population RMS error is never below the population plain ECE (Jensen), so an upper bound on
  it bounds torchmetrics' ECE too: gating on it can never pass a model whose true plain ECE
  exceeds the limit more often than the interval allows. Its interval is the basic
  (reverse-percentile) bootstrap of the debiased squared error around the bootstrap world's
  true value, the plug-in ``sum_b (n_b / n) gap_b^2`` (see :func:`debiased_ece`).
  *Equal-width* bins split [0, 1] into ``B`` intervals ``(i/B, (i+1)/B]`` (the first also takes 0);
  *equal-mass* bins sort the rows by confidence and cut them into ``B`` groups of sizes that
  differ by at most one (tied confidences may fall in two neighbouring bins).
* **MCE** (maximum calibration error): the largest ``|accuracy_b - confidence_b|`` over the
  non-empty bins of the same binning.
* **Brier score** (multi-class): ``mean over rows of sum over classes (p_c - [c == y])^2``, in
  [0, 2]. For two classes it is twice scikit-learn's ``brier_score_loss``, which scores the
  positive class's probability only (``mean (p_1 - [y == 1])^2``).
* **NLL** (negative log likelihood, log loss): ``-mean log max(p_y, EPSILON)``, natural log, the
  same clipping as scikit-learn's ``log_loss`` for float64.
* **Temperature**: the ``T`` minimising the NLL of ``softmax(log p / T)`` on these rows (``log p``
  are the logits up to a per-row constant, which softmax ignores), searched on ``log T`` in
  [log 0.05, log 20]. ``T > 1`` means the model is over-confident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Binning = Literal["width", "mass"]
EPSILON = 2.220446049250313e-16
"""Probabilities are clipped at this (float64 machine epsilon) before the log of the NLL."""
LOG_T_BOUNDS = (math.log(0.05), math.log(20.0))


@dataclass(frozen=True)
class CalibrationRows:
    """Per-row quantities every calibration statistic is a (weighted) function of."""

    confidence: NDArray[np.float64]
    correct: NDArray[np.float64]
    log_loss: NDArray[np.float64]
    squared_error: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.confidence)


def calibration_rows(probabilities: NDArray[np.float64], truth: NDArray[np.int64]
                     ) -> CalibrationRows:
    """The rows' confidence, correctness (argmax == truth), log loss and squared error."""
    import numpy as np

    p = np.asarray(probabilities, dtype=np.float64)
    rows = np.arange(len(p))
    onehot = np.zeros_like(p)
    onehot[rows, truth] = 1.0
    return CalibrationRows(
        confidence=p.max(axis=1),
        correct=(p.argmax(axis=1) == truth).astype(np.float64),
        log_loss=-np.log(np.clip(p[rows, truth], EPSILON, 1.0)),
        squared_error=((p - onehot) ** 2).sum(axis=1))


def bin_index(confidence: NDArray[np.float64], bins: int, binning: Binning) -> NDArray[np.int64]:
    """Which bin each row falls in (see the module docstring for both binnings)."""
    import numpy as np

    if binning == "width":
        index = np.ceil(confidence * bins).astype(np.int64) - 1
        return np.clip(index, 0, bins - 1)
    order = np.argsort(confidence, kind="stable")
    index = np.empty(len(confidence), dtype=np.int64)
    for b, part in enumerate(np.array_split(order, bins)):
        index[part] = b
    return index


def binned_errors(weights: NDArray[np.float64], rows: CalibrationRows, index: NDArray[np.int64],
                  bins: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """ECE and MCE for each row of ``weights`` (``(m, n)`` counts of each row; all ones for the
    sample itself), with the rows' bins fixed by ``index``."""
    import numpy as np

    member = np.zeros((len(rows), bins))
    member[np.arange(len(rows)), index] = 1.0
    counts = weights @ member
    gap = np.abs(weights @ (member * rows.correct[:, None])
                 - weights @ (member * rows.confidence[:, None]))
    ece = gap.sum(axis=1) / weights.sum(axis=1)
    per_bin = np.divide(gap, counts, out=np.full_like(gap, -np.inf), where=counts > 0)
    return ece, per_bin.max(axis=1)


def squared_errors(weights: NDArray[np.float64], rows: CalibrationRows, index: NDArray[np.int64],
                   bins: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Kumar et al.'s debiased squared calibration error and its plug-in (no variance term)
    for each row of ``weights``, the rows' bins fixed by ``index``. A bin of fewer than 2 rows
    has no variance estimate and is not corrected."""
    import numpy as np

    member = np.zeros((len(rows), bins))
    member[np.arange(len(rows)), index] = 1.0
    gap = rows.correct - rows.confidence
    counts = weights @ member
    safe = np.maximum(counts, 1.0)
    mean = (weights @ (member * gap[:, None])) / safe
    spread = np.maximum((weights @ (member * (gap ** 2)[:, None])) / safe - mean ** 2, 0.0)
    variance = np.where(counts > 1, spread / np.maximum(counts - 1, 1.0), 0.0)
    share = counts / weights.sum(axis=1, keepdims=True)
    plug_in = (share * mean ** 2).sum(axis=1)
    return plug_in - (share * variance).sum(axis=1), plug_in


def debiased_ece(squared: float, plug_in: float, quantiles: tuple[float, float]
                 ) -> tuple[float, tuple[float, float]]:
    """The gated ECE and its 95% interval from the sample's debiased squared error, its plug-in
    and the 2.5th and 97.5th percentiles of the resampled debiased squared errors.

    The basic bootstrap: a resample's debiased error scatters around the plug-in of the sample
    (the true value of the bootstrap world) as the sample's scatters around the true value, so
    the interval of the squared error is ``squared - (q97.5 - plug_in)`` to
    ``squared - (q2.5 - plug_in)``; both ends and the estimate are clipped at 0 and square-rooted
    (a monotone map keeps the coverage). A percentile interval of the same resamples would sit
    one variance term too high."""
    low = squared - (quantiles[1] - plug_in)
    high = squared - (quantiles[0] - plug_in)
    return math.sqrt(max(squared, 0.0)), (math.sqrt(max(low, 0.0)), math.sqrt(max(high, 0.0)))


def finish_ece(metrics: dict[str, float], intervals: dict[str, tuple[float, float]]) -> None:
    """Replace the working figures ``ece_squared`` and ``ece_squared_plug_in`` (in ``metrics``
    and ``intervals``) by the gated ``ece``'s interval (:func:`debiased_ece`); ``metrics["ece"]``
    is set by :func:`point_statistics`."""
    squared = metrics.pop("ece_squared")
    plug_in = metrics.pop("ece_squared_plug_in")
    quantiles = intervals.pop("ece_squared", None)
    intervals.pop("ece_squared_plug_in", None)
    if quantiles is not None:
        metrics["ece"], intervals["ece"] = debiased_ece(squared, plug_in, quantiles)


def calibration_statistics(weights: NDArray[np.float64], rows: CalibrationRows, bins: int,
                           gated: Binning) -> dict[str, NDArray[np.float64]]:
    """Every bootstrapped statistic for each row of ``weights``: ``ece_squared`` and
    ``ece_squared_plug_in`` (the debiased squared error and its plug-in, of the ``gated``
    binning: :func:`finish_ece` turns them into ``ece``), ``mce`` (gated binning),
    ``ece_width`` and ``ece_mass`` (plain), ``brier``, ``nll``."""
    total = weights.sum(axis=1)
    found: dict[str, NDArray[np.float64]] = {}
    for binning in ("width", "mass"):
        index = bin_index(rows.confidence, bins, binning)
        ece, mce = binned_errors(weights, rows, index, bins)
        found[f"ece_{binning}"] = ece
        if binning == gated:
            found["mce"] = mce
            found["ece_squared"], found["ece_squared_plug_in"] = squared_errors(
                weights, rows, index, bins)
    found["brier"] = weights @ rows.squared_error / total
    found["nll"] = weights @ rows.log_loss / total
    return found


def point_statistics(rows: CalibrationRows, bins: int, gated: Binning) -> dict[str, float]:
    """The statistics of the sample itself, plus its accuracy and mean confidence."""
    import numpy as np

    ones = np.ones((1, len(rows)))
    found = {name: float(values[0])
             for name, values in calibration_statistics(ones, rows, bins, gated).items()}
    found["ece"] = math.sqrt(max(found["ece_squared"], 0.0))
    found["accuracy"] = float(rows.correct.mean())
    found["mean_confidence"] = float(rows.confidence.mean())
    return found


def reliability_bins(rows: CalibrationRows, bins: int, binning: Binning) -> list[dict[str, Any]]:
    """The reliability diagram's table: per non-empty bin its confidence range, rows, mean
    confidence, accuracy and gap (accuracy minus confidence; negative: over-confident)."""
    index = bin_index(rows.confidence, bins, binning)
    table = []
    for b in range(bins):
        inside = index == b
        if not inside.any():
            continue
        confidence = rows.confidence[inside]
        low, high = ((b / bins, (b + 1) / bins) if binning == "width"
                     else (float(confidence.min()), float(confidence.max())))
        accuracy = float(rows.correct[inside].mean())
        table.append({"low": low, "high": high, "n": int(inside.sum()),
                      "confidence": float(confidence.mean()), "accuracy": accuracy,
                      "gap": accuracy - float(confidence.mean())})
    return table


def fit_temperature(probabilities: NDArray[np.float64], truth: NDArray[np.int64]
                    ) -> tuple[float, NDArray[np.float64], bool]:
    """The NLL-minimising temperature, the probabilities it would give (never applied to the
    model), and whether the search stopped at a bound of [0.05, 20]."""
    import numpy as np
    from scipy.optimize import minimize_scalar

    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1.0))

    def nll(log_t: float) -> float:
        return float(-_log_softmax(logits / math.exp(log_t))[np.arange(len(logits)), truth]
                     .mean())

    found = minimize_scalar(nll, bounds=LOG_T_BOUNDS, method="bounded",
                            options={"xatol": 1e-6})
    log_t = float(found.x)
    at_bound = min(abs(log_t - b) for b in LOG_T_BOUNDS) < 1e-3
    return math.exp(log_t), np.exp(_log_softmax(logits / math.exp(log_t))), at_bound


def _log_softmax(z: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    shifted = z - z.max(axis=1, keepdims=True)
    result: NDArray[np.float64] = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result
