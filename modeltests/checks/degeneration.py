"""``degeneration``: generations that loop, repeat themselves, never stop, or drift in length.

Words are whitespace-separated pieces of the output, so the figures do not depend on a
tokenizer: an output *loops* when its last ``loop_min_repeats x p`` words are one unit of ``p``
words (``p`` up to ``loop_max_period``) repeated; ``distinct_n`` is, per output, its distinct
n-grams over its n-grams, averaged over outputs that have any; ``early_stop_rate`` the share of
outputs that ended before ``max_new_tokens`` (end-of-text, a stop string, the context).
``length_ratio`` is the mean output length (tokens when the adapter reports them, else words)
over that of a reference run, MLPerf's rule being a band of +-10% around it: the reference is a
model under ``models:`` generating on the same prompts, or lengths saved from an earlier run
(``details.lengths`` of this check in the JSON report, one number per prompt).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from modeltests.checks._generation import (PromptSource, generation_example, read_prompts,
                                           request_for)
from modeltests.context import CheckContext
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, threshold

if TYPE_CHECKING:
    from modeltests.adapters.generation import Generation


class DegenerationParams(PromptSource):
    """Repetition loops, distinct-n, stopping early and the output length against a reference."""

    kind: str = "degeneration"
    max_new_tokens: int = Field(default=64, ge=1, description="Most tokens generated per "
                                "prompt (long enough for loops to show).")
    distinct_n: int = Field(default=2, ge=1, le=8, description="The n of the distinct_n metric.")
    loop_max_period: int = Field(default=8, ge=1, le=64, description="Longest repeated unit, "
                                 "in words, that counts as a loop.")
    loop_min_repeats: int = Field(default=3, ge=2, le=50, description="How many times the unit "
                                  "must repeat at the end of the output to count as a loop.")
    reference_model: str | None = Field(
        default=None, description="A model under 'models:' whose mean output length on the "
        "same prompts is the reference of length_ratio.")
    reference_lengths: str | None = Field(
        default=None, description="A JSON file (relative to the suite) with the reference "
        "output lengths, one per prompt in order: a list, or an object with a 'lengths' list "
        "(this check's details.lengths in an earlier JSON report).")
    max_loop_rate: float | None = threshold("Highest share of outputs that end in a loop.",
                                            ge=0, le=1)
    min_distinct_n: float | None = threshold("Lowest mean distinct-n of the outputs.", ge=0,
                                             le=1)
    min_early_stop_rate: float | None = threshold(
        "Lowest share of outputs that stop before max_new_tokens.", ge=0, le=1)
    max_early_stop_rate: float | None = threshold(
        "Highest share of outputs that stop before max_new_tokens.", ge=0, le=1)
    min_length_ratio: float | None = threshold(
        "Lowest mean output length over the reference's (MLPerf: 0.9).", gt=0)
    max_length_ratio: float | None = threshold(
        "Highest mean output length over the reference's (MLPerf: 1.1).", gt=0)

    @model_validator(mode="after")
    def _one_reference(self) -> DegenerationParams:
        if self.reference_model is not None and self.reference_lengths is not None:
            raise ValueError("set either 'reference_model' or 'reference_lengths', not both")
        gated = self.min_length_ratio is not None or self.max_length_ratio is not None
        if gated and self.reference_model is None and self.reference_lengths is None:
            raise ValueError("min/max_length_ratio need a reference: 'reference_model' or "
                             "'reference_lengths'")
        return self


def loop_period(words: list[str], max_period: int, min_repeats: int) -> int | None:
    """The shortest unit of at most ``max_period`` words that ``words`` ends with
    ``min_repeats`` times in a row, or None."""
    for period in range(1, max_period + 1):
        span = period * min_repeats
        if span > len(words):
            break
        tail = words[-span:]
        if all(tail[i] == tail[i % period] for i in range(span)):
            return period
    return None


def distinct(words: list[str], n: int) -> float | None:
    """Distinct n-grams over n-grams of ``words`` (None when it has fewer than ``n`` words)."""
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def output_length(generation: Generation) -> int:
    """Generated tokens when the adapter reports them, else words."""
    return generation.new_tokens or len(generation.text.split())


def run_degeneration(context: CheckContext, params: DegenerationParams) -> CheckResult:
    import numpy as np

    from modeltests.stats.intervals import bootstrap_mean
    from modeltests.stats.proportions import wilson_interval

    prompts = read_prompts(context, params.dataset, params.prompts)
    request = request_for(context, params)
    generations = context.generate(prompts.texts, request)
    n = len(generations)
    words = [g.text.split() for g in generations]
    loops = [loop_period(w, params.loop_max_period, params.loop_min_repeats) for w in words]
    early = [g.finish_reason != "length" for g in generations]
    diversity = [d for d in (distinct(w, params.distinct_n) for w in words) if d is not None]
    lengths = [output_length(g) for g in generations]
    metrics: dict[str, float] = {
        "loop_rate": sum(p is not None for p in loops) / n, "early_stop_rate": sum(early) / n,
        "mean_length": sum(lengths) / n, "prompts": float(n)}
    intervals = {"loop_rate": wilson_interval(sum(p is not None for p in loops), n),
                 "early_stop_rate": wilson_interval(sum(early), n)}
    methods = {"loop_rate": "wilson", "early_stop_rate": "wilson", "prompts": "exact",
               "mean_length": "bootstrap-percentile", "distinct_n": "bootstrap-percentile"}
    found = bootstrap_mean(np.asarray(lengths, dtype=np.float64), context.seed)
    if found is not None:
        intervals["mean_length"] = found
    if diversity:
        metrics["distinct_n"] = sum(diversity) / len(diversity)
        found = bootstrap_mean(np.asarray(diversity, dtype=np.float64), context.seed)
        if found is not None:
            intervals["distinct_n"] = found
    reference = _reference_lengths(context, params, prompts.texts, request)
    if reference is not None:
        metrics["reference_mean_length"] = sum(reference) / n
        methods["reference_mean_length"] = "exact"
        methods["length_ratio"] = "bootstrap-percentile"
        if metrics["reference_mean_length"] > 0:
            metrics["length_ratio"] = metrics["mean_length"] / metrics["reference_mean_length"]
            ratio = _ratio_interval(lengths, reference, context.seed)
            if ratio is not None:
                intervals["length_ratio"] = ratio
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.warn_unresolved(result.thresholds, n)
    looping = [generation_example(prompts.texts[i], g, loop=f"ends with a {loops[i]}-word unit "
                                  f"repeated {params.loop_min_repeats}+ times")
               for i, g in enumerate(generations) if loops[i] is not None]
    result.examples = looping[: context.max_examples]
    if len(result.examples) < context.max_examples:
        result.examples += [generation_example(prompts.texts[i], g, problem="ran to "
                                               "max_new_tokens without stopping")
                            for i, g in enumerate(generations)
                            if not early[i] and loops[i] is None
                            ][: context.max_examples - len(result.examples)]
    result.details = {"lengths": lengths, "length_unit": "tokens" if any(
        g.token_ids for g in generations) else "words", "loops": len(looping),
        "distinct_n": params.distinct_n, "finish_reasons": _counts(generations)}
    return result


def _counts(generations: list[Generation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for g in generations:
        counts[g.finish_reason] = counts.get(g.finish_reason, 0) + 1
    return counts


def _reference_lengths(context: CheckContext, params: DegenerationParams, prompts: list[str],
                       request: Any) -> list[float] | None:
    """The reference run's length per prompt: a named model generating now, or a saved file."""
    if params.reference_model is not None:
        context.generator(params.reference_model, key="reference_model")
        return [float(output_length(g)) for g in context.generate(
            prompts, request, model=params.reference_model, description="reference lengths")]
    if params.reference_lengths is None:
        return None
    path = context.resolve_path(params.reference_lengths)
    try:
        loaded: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise context.error("reference_lengths", f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise context.error("reference_lengths", f"{path.name} is not JSON: {exc}") from None
    if isinstance(loaded, dict):
        loaded = loaded.get("lengths")
    if not isinstance(loaded, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in loaded):
        raise context.error("reference_lengths", f"{path.name} must hold a list of lengths "
                            "(numbers >= 0), or an object whose 'lengths' is one")
    if len(loaded) != len(prompts):
        raise context.error("reference_lengths", f"{path.name} holds {len(loaded)} lengths "
                            f"for {len(prompts)} prompts; save the lengths of a run on the "
                            "same prompts")
    return [float(v) for v in loaded]


def _ratio_interval(lengths: list[int], reference: list[float], seed: int
                    ) -> tuple[float, float] | None:
    """Percentile bootstrap of mean(lengths) / mean(reference), resampling prompts (paired)."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_rows

    new = np.asarray(lengths, dtype=np.float64)
    old = np.asarray(reference, dtype=np.float64)

    def ratio(weights: Any) -> dict[str, Any]:
        below = weights @ old
        return {"ratio": np.divide(weights @ new, below, out=np.full(len(weights), np.nan),
                                   where=below > 0)}

    return bootstrap_rows(len(lengths), ratio, seed).get("ratio")


def prepare_degeneration(context: CheckContext, params: DegenerationParams) -> None:
    """Setup: the prompts, max_new_tokens and the reference model (it must generate) are
    checked before the model runs."""
    read_prompts(context, params.dataset, params.prompts)
    request_for(context, params)
    if params.reference_model is not None:
        context.generator(params.reference_model, key="reference_model")


CHECK_KINDS = [CheckKind("degeneration", DegenerationParams, run_degeneration,
                         "repetition loops, distinct-n, early stops, output length against a "
                         "reference run", prepare=prepare_degeneration, task="generation")]
