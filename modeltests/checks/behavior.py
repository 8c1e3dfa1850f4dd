"""Behavioural tests in CheckList's vocabulary: ``invariance``, ``directional``, ``behavior``.

- ``invariance`` (INV): built-in perturbations (typos, punctuation, names ...) must not change
  the prediction.
- ``directional`` (DIR): appending or prepending text must move the probability of a label only
  in the expected direction (within a tolerance).
- ``behavior`` (MFT): sentences expanded from a template and lexicons must get the expected label.

Each reports ``pass_rate`` with a Wilson 95% interval, gated by ``min_pass_rate``, and a few
failing cases with the original and the perturbed text::

    - kind: invariance
      dataset: eval
      perturbations: [typos, names, append_url]
      samples: 100
      min_pass_rate: 0.9
"""

from __future__ import annotations

import itertools
import random
import string
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from modeltests.registry import CheckKind
from modeltests.result import CheckParams, CheckResult, threshold
from modeltests.context import CheckContext
from modeltests.perturb import LEXICONS

PerturbationName = Literal["typos", "punctuation", "case", "contractions", "whitespace", "names",
                           "locations", "numbers", "append_url", "append_handle", "neutral_word"]


class TextSource(CheckParams):
    """Where the sentences come from: a dataset (optionally one gold label) or inline texts."""

    dataset: str | None = Field(default=None, description="Name of a dataset under 'datasets:'.")
    texts: list[str] | None = Field(default=None, min_length=1, description="Inline sentences.")
    only_label: str | None = Field(default=None,
                                   description="Keep only dataset rows with this gold label.")
    samples: int = Field(default=100, ge=1, le=100_000,
                         description="Sentences sampled (seeded) from the source.")
    seed: int | None = Field(default=None, description="Defaults to the suite's defaults.seed.")
    min_pass_rate: float | None = threshold("Lowest share of cases that pass.", ge=0, le=1)

    @model_validator(mode="after")
    def _one_source(self) -> TextSource:
        if (self.dataset is None) == (self.texts is None):
            raise ValueError("set exactly one of 'dataset' or 'texts'")
        if self.only_label is not None and self.dataset is None:
            raise ValueError("'only_label' needs 'dataset'")
        return self


class InvarianceParams(TextSource):
    """INV: perturbations that must not change the predicted label."""

    kind: str = "invariance"
    perturbations: list[PerturbationName] = Field(min_length=1,
                                                  description="Built-in perturbations to apply.")
    max_confidence_drop: float | None = Field(
        default=None, ge=0, le=1, description="A case also fails when the probability of the "
        "original prediction drops by more than this.")


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


class BehaviorParams(CheckParams):
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
    seed: int | None = Field(default=None, description="Defaults to the suite's defaults.seed.")
    min_pass_rate: float | None = threshold("Lowest share of sentences that pass.", ge=0, le=1)

    @model_validator(mode="after")
    def _placeholders_known(self) -> BehaviorParams:
        from modeltests.text import close_matches

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


# -- sources and labels ---------------------------------------------------------------------------

def source_texts(context: CheckContext, params: TextSource) -> list[str]:
    """The sentences to test: inline texts, or a seeded sample of a dataset (in dataset order)."""
    if params.texts is not None:
        texts = list(params.texts)
    else:
        dataset = context.dataset(params.dataset or "")
        texts = dataset.texts
        if params.only_label is not None:
            _known_label(context, "only_label", params.only_label, sorted(set(dataset.labels)))
            texts = [t for t, y in zip(dataset.texts, dataset.labels) if y == params.only_label]
    if len(texts) <= params.samples:
        return texts
    keep = sorted(random.Random(context.seed).sample(range(len(texts)), params.samples))
    return [texts[i] for i in keep]


def _known_label(context: CheckContext, key: str, label: str, labels: Sequence[str]) -> None:
    if label not in labels:
        from modeltests.text import close_matches

        hint = close_matches(label, list(labels))
        raise context.error(key, f"unknown label {label!r} (labels: {', '.join(labels)})"
                            + (f"; did you mean {hint[0]!r}?" if hint else ""))


def _pass_result(context: CheckContext, passed: list[bool], failures: list[dict[str, Any]],
                 extra: dict[str, float] | None = None) -> CheckResult:
    from modeltests.stats import wilson_interval

    n = len(passed)
    ok = sum(passed)
    metrics = {"pass_rate": ok / n if n else 0.0, "cases": float(n), "failures": float(n - ok)}
    metrics.update(extra or {})
    intervals = {"pass_rate": wilson_interval(ok, n)} if n else {}
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals)
    result.thresholds = context.evaluate(metrics, intervals)
    result.examples = failures[: context.max_examples]
    result.details = {"errors": n - ok}
    if n == 0:
        result.warnings.append("no case applied: nothing was tested")
    return result


def _label_probability(predictions: Any, row: int, label: str) -> float | None:
    if predictions.probabilities is None:
        return None
    return float(predictions.probabilities[row][predictions.label_names.index(label)])


# -- INV ------------------------------------------------------------------------------------------

def run_invariance(context: CheckContext, params: InvarianceParams) -> CheckResult:
    """Apply each perturbation to each sentence; a case passes when the label stays."""
    from modeltests.perturb import perturb

    texts = source_texts(context, params)
    cases = [(i, name, changed) for i, text in enumerate(texts) for name in params.perturbations
             if (changed := perturb(text, name, context.seed)) is not None]
    before = context.predict(texts)
    after = context.predict([c[2] for c in cases])
    passed, failures, drops = [], [], []
    by_kind: dict[str, list[bool]] = {}
    for row, (i, name, changed) in enumerate(cases):
        label = before.labels[i]
        p0, p1 = _label_probability(before, i, label), _label_probability(after, row, label)
        drop = 0.0 if p0 is None or p1 is None else max(0.0, p0 - p1)
        drops.append(drop)
        ok = after.labels[row] == label and (params.max_confidence_drop is None
                                             or drop <= params.max_confidence_drop)
        passed.append(ok)
        by_kind.setdefault(name, []).append(ok)
        if not ok:
            failures.append({"original": texts[i], "perturbed": changed, "input": name,
                             "expected": label, "predicted": after.labels[row],
                             "confidence": p1, "confidence_drop": round(drop, 4)})
    extra = {f"pass_rate.{k}": sum(v) / len(v) for k, v in by_kind.items()}
    extra["worst_confidence_drop"] = max(drops, default=0.0)
    result = _pass_result(context, passed, failures, extra)
    result.details["per_perturbation"] = {k: {"cases": len(v), "passed": sum(v)}
                                          for k, v in by_kind.items()}
    return result


# -- DIR ------------------------------------------------------------------------------------------

def run_directional(context: CheckContext, params: DirectionalParams) -> CheckResult:
    """Add the text to each sentence; p(label) may move only in the expected direction."""
    expect = params.expect
    _known_label(context, "expect.label", expect.label, context.model().labels)
    texts = source_texts(context, params)
    changed = [f"{t.rstrip()} {params.append}" if params.append is not None
               else f"{params.prepend} {t.lstrip()}" for t in texts]
    before, after = context.predict(texts), context.predict(changed)
    if before.probabilities is None:
        from modeltests.errors import UnsupportedCapabilityError

        raise UnsupportedCapabilityError("directional needs class probabilities; the model "
                                         "returns labels only")
    passed, failures, deltas = [], [], []
    for i, text in enumerate(texts):
        p0 = _label_probability(before, i, expect.label) or 0.0
        p1 = _label_probability(after, i, expect.label) or 0.0
        delta = p1 - p0
        deltas.append(delta)
        ok = delta <= expect.tolerance if expect.direction == "not_increase" \
            else delta >= -expect.tolerance
        passed.append(ok)
        if not ok:
            failures.append({"original": text, "perturbed": changed[i],
                             "expected": f"p({expect.label}) {expect.direction.replace('_', ' ')}",
                             "predicted": after.labels[i], "confidence": p1,
                             "change": round(delta, 4)})
    extra = {"mean_change": sum(deltas) / len(deltas) if deltas else 0.0}
    return _pass_result(context, passed, failures, extra)


# -- MFT ------------------------------------------------------------------------------------------

def expand_template(template: str, lexicons: dict[str, Sequence[str]], max_cases: int,
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
        picked = sorted(random.Random(seed).sample(range(total), max_cases))
        combos = [_nth_product(words, n) for n in picked]
    return [template.format(**dict(zip(fields, combo))) for combo in combos]


def _nth_product(words: list[list[str]], n: int) -> tuple[str, ...]:
    combo = []
    for options in reversed(words):
        n, index = divmod(n, len(options))
        combo.append(options[index])
    return tuple(reversed(combo))


def run_behavior(context: CheckContext, params: BehaviorParams) -> CheckResult:
    """Expand the template and check every sentence gets ``expected``."""
    _known_label(context, "expected", params.expected, context.model().labels)
    sentences = expand_template(params.template, params.lexicons, params.max_cases, context.seed)
    predictions = context.predict(sentences)
    confidence = predictions.confidence()
    passed = [label == params.expected for label in predictions.labels]
    failures = [{"text": s, "expected": params.expected, "predicted": predictions.labels[i],
                 "confidence": confidence[i]} for i, s in enumerate(sentences) if not passed[i]]
    return _pass_result(context, passed, failures)


CHECK_KINDS = [
    CheckKind("invariance", InvarianceParams, run_invariance,
              "INV: perturbations must not change the prediction"),
    CheckKind("directional", DirectionalParams, run_directional,
              "DIR: added text moves p(label) only in the expected direction"),
    CheckKind("behavior", BehaviorParams, run_behavior,
              "MFT: template sentences must get the expected label"),
]
