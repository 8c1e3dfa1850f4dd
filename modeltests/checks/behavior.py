"""``behavior`` (CheckList's MFT): template sentences must get the expected label.

A template with ``{placeholders}`` is expanded with lexicons (the built-in ones of
:mod:`modeltests.perturb.checklist`, or the suite's own); every sentence must get ``expected``. Reports
``pass_rate`` with a Wilson 95% interval and a few failing sentences::

    - kind: behavior
      template: "{name} thought the {thing} was {pos_adj}."
      expected: positive
      max_cases: 100
      min_pass_rate: 0.9

``invariance`` (INV) and ``directional`` (DIR), the other CheckList test types, have their own
modules.
"""

from __future__ import annotations

import itertools
import string
from typing import Any, Mapping, Sequence

from pydantic import Field, model_validator

from modeltests.checks._rates import pass_rate_result
from modeltests.checks._sources import check_known_label, sample_indices
from modeltests.context import CheckContext
from modeltests.perturb.checklist import LEXICONS
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold


class BehaviorParams(SeededParams):
    """MFT: template sentences with an expected label."""

    kind: str = "behavior"
    template: str = Field(description="A sentence with {placeholders}, e.g. "
                          "'{name} thought the {thing} was {pos_adj}.'")
    lexicons: dict[str, list[str]] = Field(
        default_factory=dict, description="Words per placeholder; built-in lexicons: "
        + ", ".join(sorted(LEXICONS)))
    expected: str = Field(description="The label every expanded sentence must get.")
    max_cases: int = Field(default=200, ge=1, le=100_000,
                           description="Seeded sample when the expansion is larger.")
    min_pass_rate: float | None = threshold("Lowest share of sentences that pass.", ge=0, le=1)

    @model_validator(mode="after")
    def _placeholders_known(self) -> BehaviorParams:
        from modeltests.support.text import close_matches

        known = set(LEXICONS) | set(self.lexicons)
        for field in placeholders(self.template):
            if field not in known:
                hint = close_matches(field, sorted(known))
                raise ValueError(f"placeholder {{{field}}} has no lexicon (lexicons: "
                                 f"{', '.join(sorted(known))})"
                                 + (f"; did you mean {{{hint[0]}}}?" if hint else ""))
        empty = [k for k, words in self.lexicons.items() if not words]
        if empty:
            raise ValueError(f"lexicon {empty[0]!r} is empty")
        return self


def placeholders(template: str) -> list[str]:
    """Placeholder names of ``template`` in order of first appearance."""
    seen: list[str] = []
    for _, field, _, _ in string.Formatter().parse(template):
        if field and field not in seen:
            seen.append(field)
    return seen


def expand_template(template: str, lexicons: Mapping[str, Sequence[str]], max_cases: int,
                    seed: int) -> list[str]:
    """Every combination of lexicon words (itertools.product, in lexicon order); a seeded sample
    of ``max_cases`` of them, kept in that order, when there are more."""
    fields = placeholders(template)
    words = [list(lexicons.get(f) or LEXICONS[f]) for f in fields]
    total = 1
    for options in words:
        total *= len(options)
    if total <= max_cases:
        combos = list(itertools.product(*words))
    else:
        combos = [_nth_product(words, n) for n in sample_indices(total, max_cases, seed)]
    return [template.format(**dict(zip(fields, combo))) for combo in combos]


def _nth_product(words: list[list[str]], n: int) -> tuple[str, ...]:
    combo = []
    for options in reversed(words):
        n, index = divmod(n, len(options))
        combo.append(options[index])
    return tuple(reversed(combo))


def run_behavior(context: CheckContext, params: BehaviorParams) -> CheckResult:
    """Expand the template and check every sentence gets ``expected``."""
    check_known_label(context, "expected", params.expected, context.model().labels)
    sentences = expand_template(params.template, params.lexicons, params.max_cases, context.seed)
    predictions = context.predict(sentences)
    confidence = predictions.confidence()
    passed = [label == params.expected for label in predictions.labels]
    failures: list[dict[str, Any]] = [
        {"text": s, "expected": params.expected, "predicted": predictions.labels[i],
         "confidence": confidence[i]} for i, s in enumerate(sentences) if not passed[i]]
    return pass_rate_result(context, passed, failures)


CHECK_KINDS = [CheckKind("behavior", BehaviorParams, run_behavior,
                         "MFT: template sentences must get the expected label")]
