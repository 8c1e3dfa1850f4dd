"""``directional`` (CheckList's DIR): added text may move p(label) only in the expected direction.

Text is appended to (or prepended to) each sentence; a case passes when the probability of the
watched label moves only the expected way, within the tolerance. Needs class probabilities::

    - kind: directional
      dataset: eval
      only_label: positive
      append: "Overall it was awful."
      expect: {label: positive, direction: not_increase, tolerance: 0.05}
      min_pass_rate: 0.9

On a dataset of text pairs the text is added to one side (``side: first | second | both``,
default ``second``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from modeltests.checks._rates import label_probability, pass_rate_result
from modeltests.checks._sources import (
    TextSource,
    check_known_label,
    edited_side,
    prepare_side,
    source_texts,
)
from modeltests.context import CheckContext
from modeltests.data.inputs import as_display, map_side
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult


class Expectation(BaseModel):
    """How the probability of ``label`` may move."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(description="The label whose probability is watched.")
    direction: Literal["not_increase", "not_decrease"] = Field(
        description="not_increase: p(label) may not rise by more than the tolerance.")
    tolerance: float = Field(default=0.0, ge=0, le=1)


class DirectionalParams(TextSource):
    """DIR: adding text must move the probability of a label only one way."""

    kind: str = "directional"
    append: str | None = Field(default=None, description="Text appended to every sentence.")
    prepend: str | None = Field(default=None, description="Text prepended to every sentence.")
    expect: Expectation

    @model_validator(mode="after")
    def _one_change(self) -> DirectionalParams:
        if (self.append is None) == (self.prepend is None):
            raise ValueError("set exactly one of 'append' or 'prepend'")
        return self


def run_directional(context: CheckContext, params: DirectionalParams) -> CheckResult:
    """Add the text to each sentence; p(label) may move only in the expected direction."""
    expect = params.expect
    check_known_label(context, "expect.label", expect.label, context.model().labels)
    texts = source_texts(context, params)
    side = edited_side(context, params, texts)
    changed = [map_side(t, side, lambda x: f"{x.rstrip()} {params.append}"
                        if params.append is not None else f"{params.prepend} {x.lstrip()}")
               for t in texts]
    before, after = context.predict(texts), context.predict(changed)
    if before.probabilities is None:
        from modeltests.errors import UnsupportedCapabilityError

        raise UnsupportedCapabilityError("directional needs class probabilities; the model "
                                         "returns labels only")
    passed: list[bool] = []
    failures: list[dict[str, Any]] = []
    deltas: list[float] = []
    for i, text in enumerate(texts):
        p0 = label_probability(before, i, expect.label) or 0.0
        p1 = label_probability(after, i, expect.label) or 0.0
        delta = p1 - p0
        deltas.append(delta)
        ok = delta <= expect.tolerance if expect.direction == "not_increase" \
            else delta >= -expect.tolerance
        passed.append(ok)
        if not ok:
            failures.append({"original": as_display(text), "perturbed": as_display(changed[i]),
                             "expected": f"p({expect.label}) {expect.direction.replace('_', ' ')}"
                                         f" (tolerance {expect.tolerance:g})",
                             "watched_label": expect.label, "p_before": p0, "p_after": p1,
                             "change": round(delta, 4), "predicted": after.labels[i],
                             "confidence": label_probability(after, i, after.labels[i])})
    extra = {"mean_change": sum(deltas) / len(deltas) if deltas else 0.0}
    return pass_rate_result(context, passed, failures, extra)


CHECK_KINDS = [CheckKind("directional", DirectionalParams, run_directional,
                         "DIR: added text moves p(label) only in the expected direction",
                         prepare=prepare_side)]
