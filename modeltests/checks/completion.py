"""``completion``: does the generator answer the prompts right? Exact match after a declared
normalisation, prefix, contains or regex, overall and per slice.

Greedy by default: one generation per prompt, ``match_rate`` with its Wilson interval. With
``samples: n`` the model samples ``n`` generations per prompt (``temperature``, seeds
``seed + j`` for draw ``j``): ``match_rate`` is the share of all samples that match (pass@1),
``pass_at_k`` the unbiased estimator of Chen et al. (2021) averaged over prompts, both with a
percentile bootstrap over prompts (the samples of one prompt are not independent: the bootstrap
keeps them together).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import Field, model_validator

from modeltests.checks._generation import (GenerationParams, generation_example, read_prompts,
                                           request_for)
from modeltests.context import CheckContext
from modeltests.data.datasets import SliceSpec, slice_indices
from modeltests.errors import DatasetError
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, ThresholdResult, threshold

if TYPE_CHECKING:
    from modeltests.adapters.generation import Generation

Normalisation = Literal["strip", "lower", "collapse_whitespace", "strip_punctuation"]
MatchRule = Literal["exact", "prefix", "contains", "regex"]

_SPACES = re.compile(r"\s+")


def normalise(text: str, steps: list[Normalisation]) -> str:
    """``text`` after each step in order: ``strip`` (outer whitespace), ``lower`` (lower case),
    ``collapse_whitespace`` (every whitespace run to one space), ``strip_punctuation`` (every
    Unicode punctuation character removed)."""
    for step in steps:
        if step == "strip":
            text = text.strip()
        elif step == "lower":
            text = text.lower()
        elif step == "collapse_whitespace":
            text = _SPACES.sub(" ", text)
        else:
            text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    return text


class CompletionSlice(SliceSpec):
    """A slice of the prompts' dataset, with the thresholds that apply to it."""

    min_match_rate: float | None = threshold("Lowest match rate on the slice.", ge=0, le=1)
    min_pass_at_k: float | None = threshold("Lowest pass@k on the slice (with samples).",
                                            ge=0, le=1)
    min_samples: int = Field(default=1, ge=0, description="Fail when the slice has fewer "
                             "prompts.")


class AnswerParams(GenerationParams):
    """Prompts with expected answers, and how an output matches its answer."""

    dataset: str = Field(description="Name of a dataset under 'datasets:': its text column "
                         "holds the prompts, its label column the expected answers (for "
                         "match: regex, a regular expression per row).")
    match: MatchRule = Field(
        default="exact", description="How an output matches its expected answer, both "
        "normalised: 'exact' (equal), 'prefix' (the output starts with the answer), "
        "'contains' (the answer occurs in the output), 'regex' (the answer is a Python regular "
        "expression searched in the normalised output).")
    normalize: list[Normalisation] = Field(
        default_factory=lambda: list[Normalisation](["strip"]), description="Steps applied in order to the output "
        "and the expected answer before comparing: strip, lower, collapse_whitespace, "
        "strip_punctuation (an expected regex is not normalised).")


class CompletionParams(AnswerParams):
    """Answers to prompts compared with expected answers."""

    kind: str = "completion"
    samples: int | None = Field(
        default=None, ge=1, le=1000, description="Sample this many generations per prompt "
        "(with temperature and seeds) instead of one greedy generation; enables pass_at_k.")
    k: int | None = Field(default=None, ge=1, description="The k of pass@k (default: samples; "
                          "at most samples).")
    temperature: float = Field(default=0.8, gt=0, le=5, description="Sampling temperature "
                               "(used only with samples).")
    min_match_rate: float | None = threshold(
        "Lowest share of generations that match (greedy: of prompts; with samples: of all "
        "samples, i.e. pass@1).", ge=0, le=1)
    min_pass_at_k: float | None = threshold("Lowest pass@k (needs samples).", ge=0, le=1)
    slices: list[CompletionSlice] = Field(default_factory=list, description="Subsets of the "
                                          "dataset gated separately.")

    @model_validator(mode="after")
    def _k_needs_samples(self) -> CompletionParams:
        if self.k is not None and self.samples is None:
            raise ValueError("'k' needs 'samples' (pass@k draws several generations per prompt)")
        if self.k is not None and self.samples is not None and self.k > self.samples:
            raise ValueError(f"'k' ({self.k}) cannot exceed 'samples' ({self.samples})")
        if self.min_pass_at_k is not None and self.samples is None:
            raise ValueError("'min_pass_at_k' needs 'samples'")
        return self


def run_completion(context: CheckContext, params: CompletionParams) -> CheckResult:
    """Generate, compare each output with its answer, gate overall and per slice."""
    prompts = read_prompts(context, params.dataset, None)
    assert prompts.dataset is not None
    answers = prompts.require_answers(context)
    matches = answer_matcher(context, params, answers)
    draws = _draws(context, params, prompts.texts)
    matched = [[matches(i, g.text) for g in row] for i, row in enumerate(draws)]
    k = params.k or params.samples or 1
    scores = _PromptScores(matched, k, params.samples is not None)
    result = CheckResult(sample_size=len(prompts.texts))
    everything = list(range(len(matched)))
    metrics, intervals, methods = scores.figures(everything, context.seed)
    result.metrics, result.intervals, result.interval_methods = metrics, intervals, methods
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.warn_unresolved(result.thresholds, len(matched))
    failing = [i for i, row in enumerate(matched) if not any(row)]
    result.examples = [generation_example(prompts.texts[i], draws[i][0], expected=answers[i],
                                          compared=normalise(draws[i][0].text, params.normalize))
                       for i in failing[: context.max_examples]]
    result.details = {"match": params.match, "normalize": list(params.normalize),
                      "failures": len(failing), "slices": [],
                      "decoding": "greedy" if params.samples is None else
                      f"{params.samples} samples per prompt at temperature {params.temperature}"}
    for index, spec in enumerate(params.slices):
        rows = slice_indices(prompts.dataset, spec, context.location("slices", index))
        _gate_slice(context, spec, rows, scores, result)
    return result


def _draws(context: CheckContext, params: CompletionParams, prompts: list[str]
           ) -> list[list[Generation]]:
    """One greedy generation per prompt, or ``samples`` seeded samples per prompt."""
    if params.samples is None:
        return [[g] for g in context.generate(prompts, request_for(context, params))]
    rows: list[list[Generation]] = [[] for _ in prompts]
    for draw in range(params.samples):
        request = request_for(context, params, params.temperature, context.seed + draw)
        for row, generation in zip(rows, context.generate(
                prompts, request, description=f"sample {draw + 1}/{params.samples}")):
            row.append(generation)
    return rows


def answer_matcher(context: CheckContext, params: AnswerParams, answers: list[str]
                   ) -> Callable[[int, str], bool]:
    """``matches(row, output)``: whether ``output`` matches the expected answer of ``row``
    under ``params.match`` and ``params.normalize`` (an expected regex that does not compile
    is a located error)."""
    patterns = _patterns(context, params, answers) if params.match == "regex" else None

    def matches(row: int, output: str) -> bool:
        return _matches(params, output, answers[row], patterns[row] if patterns else None)

    return matches


def _patterns(context: CheckContext, params: AnswerParams, answers: list[str]
              ) -> list[re.Pattern[str]]:
    """Each row's expected regular expression, compiled; a row that does not compile is a
    located error naming it."""
    compiled = []
    for row, answer in enumerate(answers):
        try:
            compiled.append(re.compile(answer))
        except re.error as exc:
            raise DatasetError(f"{context.location('match')}: datasets.{params.dataset}: row "
                               f"{row + 1}: expected answer {answer!r} is not a regular "
                               f"expression ({exc}); match: regex reads each answer as one"
                               ) from None
    return compiled


def _matches(params: AnswerParams, output: str, answer: str,
             pattern: re.Pattern[str] | None) -> bool:
    got = normalise(output, params.normalize)
    if pattern is not None:
        return pattern.search(got) is not None
    expected = normalise(answer, params.normalize)
    if params.match == "exact":
        return got == expected
    if params.match == "prefix":
        return got.startswith(expected)
    return expected in got


class _PromptScores:
    """Per prompt: the share of its generations that match, and its pass@k estimate."""

    def __init__(self, matched: list[list[bool]], k: int, sampled: bool) -> None:
        from modeltests.stats.proportions import pass_at_k

        self.matched = matched
        self.sampled = sampled
        self.rate = [sum(row) / len(row) for row in matched]
        self.pass_k = [pass_at_k(len(row), sum(row), k) for row in matched] if sampled else []

    def figures(self, rows: list[int], seed: int
                ) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, str]]:
        """Metrics, intervals and methods over ``rows``: Wilson for a greedy match rate, a
        bootstrap over prompts for sampled figures."""
        from modeltests.stats.intervals import bootstrap_mean
        from modeltests.stats.proportions import wilson_interval

        import numpy as np

        n = len(rows)
        metrics: dict[str, float] = {"prompts": float(n)}
        intervals: dict[str, tuple[float, float]] = {}
        methods = {"prompts": "exact"}
        if not n:
            return metrics, intervals, methods
        series = {"match_rate": [self.rate[i] for i in rows]}
        if self.sampled:
            series["pass_at_k"] = [self.pass_k[i] for i in rows]
        for name, values in series.items():
            metrics[name] = sum(values) / n
            if not self.sampled:
                intervals[name] = wilson_interval(round(sum(values)), n)
                methods[name] = "wilson"
                continue
            methods[name] = "bootstrap-percentile"
            found = bootstrap_mean(np.asarray(values, dtype=np.float64), seed)
            if found is not None:
                intervals[name] = found
        return metrics, intervals, methods


def _gate_slice(context: CheckContext, spec: CompletionSlice, rows: list[int],
                scores: _PromptScores, result: CheckResult) -> None:
    metrics, intervals, methods = scores.figures(rows, context.seed)
    thresholds: list[ThresholdResult] = context.evaluate(metrics, intervals, scope=spec.name,
                                                         params=spec, methods=methods)
    thresholds += context.evaluate(metrics, scope=spec.name, methods={"prompts": "exact"},
                                   limits=[("prompts", ">=", float(spec.min_samples))])
    for name, value in metrics.items():
        if name != "prompts":
            result.metrics[f"slice.{spec.name}.{name}"] = value
            if name in intervals:
                result.intervals[f"slice.{spec.name}.{name}"] = intervals[name]
    entry: dict[str, Any] = {"name": spec.name, "n": len(rows), **metrics,
                             "thresholds": [t.to_json() for t in thresholds]}
    result.warn_unresolved(thresholds, len(rows))
    result.thresholds.extend(thresholds)
    result.details["slices"].append(entry)


def prepare_completion(context: CheckContext, params: CompletionParams) -> None:
    """Setup: the prompts, the expected regexes and max_new_tokens are checked before the model
    generates (an ERROR in the input, not a verdict)."""
    prompts = read_prompts(context, params.dataset, None)
    answers = prompts.require_answers(context)
    if params.match == "regex":
        _patterns(context, params, answers)
    request_for(context, params)


CHECK_KINDS = [CheckKind("completion", CompletionParams, run_completion,
                         "generated answers: exact / prefix / contains / regex match, per slice; "
                         "pass@k with samples", prepare=prepare_completion, task="generation")]
