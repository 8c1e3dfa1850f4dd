"""``invariance`` (CheckList's INV): built-in perturbations must not change the prediction.

Each perturbation of :mod:`modeltests.perturb.checklist` (typos, punctuation, names ...) is applied to
each sentence with its own seed; a case passes when the predicted label stays (and, with
``max_confidence_drop``, its probability does not fall by more). Reports ``pass_rate`` overall and
per perturbation, with a few failing cases::

    - kind: invariance
      dataset: eval
      perturbations: [typos, names, append_url]
      samples: 100
      min_pass_rate: 0.9

On a dataset of text pairs the perturbations edit one side (``side: first | second | both``,
default ``second``); the other side is left as it is.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from pydantic import Field

from modeltests.checks._rates import label_probability, pass_rate_result
from modeltests.checks._sources import TextSource, edited_side, prepare_side, source_texts
from modeltests.context import CheckContext
from modeltests.data.inputs import as_display, map_side_or_none
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult

PerturbationName = Literal["typos", "punctuation", "case", "contractions", "whitespace", "names",
                           "locations", "numbers", "append_url", "append_handle", "neutral_word"]


class InvarianceParams(TextSource):
    """INV: perturbations that must not change the predicted label."""

    kind: str = "invariance"
    perturbations: list[PerturbationName] = Field(min_length=1,
                                                  description="Built-in perturbations to apply.")
    max_confidence_drop: float | None = Field(
        default=None, ge=0, le=1, description="A case also fails when the probability of the "
        "original prediction drops by more than this.")


def run_invariance(context: CheckContext, params: InvarianceParams) -> CheckResult:
    """Apply each perturbation to each sentence; a case passes when the label stays."""
    from modeltests.perturb.checklist import perturb
    from modeltests.stats.proportions import wilson_interval

    texts = source_texts(context, params)
    side = edited_side(context, params, texts)
    cases = [(i, name, changed) for i, text in enumerate(texts) for name in params.perturbations
             if (changed := map_side_or_none(text, side, partial(perturb, name=name,
                                                                 seed=context.seed)))
             is not None]
    before = context.predict(texts)
    after = context.predict([c[2] for c in cases])
    passed: list[bool] = []
    failures: list[dict[str, Any]] = []
    drops: list[float] = []
    by_kind: dict[str, list[bool]] = {}
    for row, (i, name, changed) in enumerate(cases):
        label = before.labels[i]
        p0, p1 = label_probability(before, i, label), label_probability(after, row, label)
        drop = 0.0 if p0 is None or p1 is None else max(0.0, p0 - p1)
        drops.append(drop)
        ok = after.labels[row] == label and (params.max_confidence_drop is None
                                             or drop <= params.max_confidence_drop)
        passed.append(ok)
        by_kind.setdefault(name, []).append(ok)
        if not ok:
            failures.append({"original": as_display(texts[i]), "perturbed": as_display(changed),
                             "input": name,
                             "expected": label, "predicted": after.labels[row],
                             "confidence": label_probability(after, row, after.labels[row]),
                             "watched_label": label, "p_before": p0, "p_after": p1,
                             "confidence_drop": round(drop, 4)})
    extra = {f"pass_rate.{k}": sum(v) / len(v) for k, v in by_kind.items()}
    extra["worst_confidence_drop"] = max(drops, default=0.0)
    result = pass_rate_result(context, passed, failures, extra)
    result.details["per_perturbation"] = {
        k: {"cases": len(v), "passed": sum(v), "interval": list(wilson_interval(sum(v), len(v)))}
        for k, v in by_kind.items()}
    return result


CHECK_KINDS = [CheckKind("invariance", InvarianceParams, run_invariance,
                         "INV: perturbations must not change the prediction",
                         prepare=prepare_side)]
