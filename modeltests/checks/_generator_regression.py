"""``regression`` on a text generator: do the candidate and the baseline answer alike?

Both models answer the prompts of ``dataset`` greedily (``max_new_tokens``); the answers are
compared after stripping outer whitespace:

======================  =============================================  ===================
metric                  meaning                                        interval
======================  =============================================  ===================
agreement               prompts both models answer identically         Wilson
accuracy_baseline       exact match of the baseline's answers (only    Wilson
                        when every prompt has an expected answer)
accuracy_candidate      the same for the candidate                     Wilson
accuracy_drop           baseline - candidate exact match               Newcombe (paired)
negative_flip_rate      prompts the baseline answered right and the    Wilson
                        candidate does not
======================  =============================================  ===================

The use it was built for: the same weights served (the ``openai`` adapter) against the model
in-process, where greedy decoding should give the same text (agreement 1.0). A model that
answers the same prompt differently from run to run under greedy decoding is itself worth
knowing. Keys about labels (``baseline_predictions``, ``max_probability_diff``, slices) are
refused with a located error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from modeltests.result import CheckResult

if TYPE_CHECKING:
    from modeltests.context import CheckContext


class RegressionParams(Protocol):
    """What this module reads of ``regression``'s parameters (declared in
    :mod:`modeltests.checks.regression`, which imports this module)."""

    @property
    def dataset(self) -> str: ...
    @property
    def baseline(self) -> str | None: ...
    @property
    def max_new_tokens(self) -> int: ...
    @property
    def stop(self) -> list[str]: ...

REFUSED = {"baseline_predictions": "saved predictions are labels of a classifier",
           "max_probability_diff": "a generator's answers are texts, not class probabilities",
           "slices": "slices of a generator's prompts are not supported yet"}


def refuse_inapplicable(context: CheckContext, params: RegressionParams) -> None:
    """A located error for each key that has no meaning for a text generator."""
    for key, why in REFUSED.items():
        value = getattr(params, key)
        if value not in (None, []):
            raise context.error(key, f"does not apply to a text generator: {why}; compare "
                                "answers with 'baseline' (a model under 'models:') and "
                                "min_agreement / max_accuracy_drop / max_negative_flip_rate")


def compare_answers(context: CheckContext, params: RegressionParams) -> CheckResult:
    """The table above for the suite's model (candidate) against ``models.<baseline>`` (the
    keys it cannot use were refused at setup: :func:`refuse_inapplicable`)."""
    from modeltests.adapters.generation import GenerationRequest
    from modeltests.checks._generation import read_prompts
    from modeltests.stats.proportions import wilson_interval

    prompts = read_prompts(context, params.dataset, None)
    request = GenerationRequest(max_new_tokens=params.max_new_tokens, stop=tuple(params.stop))
    context.generator(params.baseline, key="baseline")
    candidate = [g.text.strip() for g in context.generate(
        prompts.texts, request, description="answering (candidate)")]
    baseline = [g.text.strip() for g in context.generate(
        prompts.texts, request, model=params.baseline, description="answering (baseline)")]
    n = len(prompts.texts)
    same = sum(a == b for a, b in zip(baseline, candidate))
    result = CheckResult(metrics={"agreement": same / n}, sample_size=n,
                         intervals={"agreement": wilson_interval(same, n)},
                         interval_methods={"agreement": "wilson"},
                         details={"baseline": f"models.{params.baseline}", "prompts": n,
                                  "dataset": params.dataset, "identical": same,
                                  "match": "identical after stripping outer whitespace",
                                  "max_new_tokens": params.max_new_tokens, "decoding": "greedy"})
    expected = prompts.answers
    right: tuple[list[bool], list[bool]] | None = None
    if expected and all(answer is not None for answer in expected):
        right = _accuracy(result, [str(a).strip() for a in expected], baseline, candidate)
    result.thresholds = context.evaluate(result.metrics, result.intervals,
                                         methods=result.interval_methods)
    result.warn_unresolved(result.thresholds, n)
    result.examples = _changed(prompts.texts, baseline, candidate, expected, right,
                               context.max_examples)
    return result


def _accuracy(result: CheckResult, expected: list[str], baseline: list[str],
              candidate: list[str]) -> tuple[list[bool], list[bool]]:
    """Exact-match accuracy of both, the paired drop and the negative flips."""
    from modeltests.stats.paired import compare_paired
    from modeltests.stats.proportions import wilson_interval

    n = len(expected)
    paired = compare_paired(expected, baseline, candidate)
    base_right = [a == e for a, e in zip(baseline, expected)]
    new_right = [a == e for a, e in zip(candidate, expected)]
    flips = sum(b and not c for b, c in zip(base_right, new_right))
    result.metrics.update(accuracy_baseline=paired.accuracy_reference,
                          accuracy_candidate=paired.accuracy_candidate,
                          accuracy_drop=paired.accuracy_drop, negative_flip_rate=flips / n)
    result.intervals.update(accuracy_baseline=wilson_interval(sum(base_right), n),
                            accuracy_candidate=wilson_interval(sum(new_right), n),
                            accuracy_drop=paired.drop_interval,
                            negative_flip_rate=wilson_interval(flips, n))
    result.interval_methods.update(accuracy_baseline="wilson", accuracy_candidate="wilson",
                                   accuracy_drop="newcombe", negative_flip_rate="wilson")
    result.details["mcnemar"] = paired.mcnemar
    return base_right, new_right


def _changed(prompts: list[str], baseline: list[str], candidate: list[str],
             expected: list[str | None], right: tuple[list[bool], list[bool]] | None,
             count: int) -> list[dict[str, Any]]:
    """The prompts answered differently, those the candidate broke first."""
    rows = [i for i in range(len(prompts)) if baseline[i] != candidate[i]]
    if right is not None:
        rows.sort(key=lambda i: (not (right[0][i] and not right[1][i]), i))
    return [{"text": prompts[i], "baseline": baseline[i], "predicted": candidate[i],
             **({"expected": expected[i]} if expected and expected[i] is not None else {})}
            for i in rows[:count]]
