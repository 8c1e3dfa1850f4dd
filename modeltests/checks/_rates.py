"""The verdict of the sentence-level checks: a share of cases, with its Wilson 95% interval.

``invariance``, ``directional`` and ``behavior`` report ``pass_rate`` (:func:`pass_rate_result`),
``property_search`` reports ``flip_rate``; each through :func:`rate_result`, which evaluates the
check's thresholds and keeps a few failing examples. :func:`label_probability` is the probability
that INV and DIR compare before and after a change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltests.context import CheckContext
from modeltests.result import CheckResult

if TYPE_CHECKING:
    from modeltests.adapters.base import Predictions


def rate_result(context: CheckContext, metrics: dict[str, float], rate: str, hits: int, n: int,
                examples: list[dict[str, Any]]) -> CheckResult:
    """A result over ``n`` cases whose ``rate`` metric is ``hits / n``: its Wilson interval, the
    check's thresholds applied to ``metrics``, and the first ``examples`` the report keeps."""
    from modeltests.stats.proportions import wilson_interval

    intervals = {rate: wilson_interval(hits, n)} if n else {}
    # The other metrics are counts of cases: exact.
    methods = {name: "exact" for name in metrics}
    methods[rate] = "wilson"
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.examples = examples[: context.max_examples]
    return result


def pass_rate_result(context: CheckContext, passed: list[bool], failures: list[dict[str, Any]],
                     extra: dict[str, float] | None = None) -> CheckResult:
    """``pass_rate``, ``cases`` and ``failures`` (then ``extra``) over the cases ``passed``."""
    n = len(passed)
    ok = sum(passed)
    metrics = {"pass_rate": ok / n if n else 0.0, "cases": float(n), "failures": float(n - ok)}
    metrics.update(extra or {})
    result = rate_result(context, metrics, "pass_rate", ok, n, failures)
    result.details = {"errors": n - ok}
    if n == 0:
        result.warnings.append("no case applied: nothing was tested")
    return result


def label_probability(predictions: Predictions, row: int, label: str) -> float | None:
    """The probability of ``label`` in row ``row`` (None when the model gives labels only)."""
    if predictions.probabilities is None:
        return None
    return float(predictions.probabilities[row][predictions.label_names.index(label)])
