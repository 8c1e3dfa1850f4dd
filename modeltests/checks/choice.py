"""``choice``: multiple choice by log-likelihood, as lm-evaluation-harness scores it.

Each choice is scored as the continuation ``delimiter + choice`` of the prompt
(:meth:`TextGenerator.score`). ``accuracy`` counts rows whose right choice has the highest
summed log-probability (lm-eval's ``acc``); ``accuracy_norm`` divides each choice's
log-probability by its length in characters first (lm-eval's ``acc_norm``), which stops long
choices losing for their length. Both gate on Wilson intervals. The softmax of the choices'
log-probabilities is the model's confidence: its expected calibration error (equal-width bins,
percentile bootstrap over rows) comes from :mod:`modeltests.stats.calibration`. The report's
examples are the wrong rows the model was surest of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from modeltests.context import CheckContext
from modeltests.errors import SuiteError
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, CheckParams, threshold

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from modeltests.data.datasets import PromptDataset


class ChoiceParams(CheckParams):
    """Multiple-choice accuracy of a generator by log-likelihood, and its calibration."""

    kind: str = "choice"
    dataset: str = Field(description="Name of a dataset under 'datasets:' with prompt_column, "
                         "choices_column and answer_column (the right choice, or its index).")
    delimiter: str = Field(default=" ", description="Put between the prompt and each choice "
                           "(lm-eval's target_delimiter).")
    bins: int = Field(default=10, ge=2, le=1000, description="Equal-width bins of the ECE.")
    min_accuracy: float | None = threshold("Lowest share of rows whose right choice is the "
                                           "most likely (lm-eval acc).", ge=0, le=1)
    min_accuracy_norm: float | None = threshold("Lowest accuracy with log-likelihoods divided "
                                                "by the choice's length in characters "
                                                "(lm-eval acc_norm).", ge=0, le=1)
    max_ece: float | None = threshold("Highest expected calibration error of the softmax over "
                                      "the choices.", ge=0, le=1)


def run_choice(context: CheckContext, params: ChoiceParams) -> CheckResult:
    """Score every (prompt, choice) pair once, then the accuracies and calibration."""
    import numpy as np

    from modeltests.stats.calibration import calibration_rows, calibration_statistics
    from modeltests.stats.intervals import bootstrap_rows
    from modeltests.stats.proportions import wilson_interval

    dataset = _choice_dataset(context, params)
    pairs = [(prompt, params.delimiter + option)
             for prompt, options in zip(dataset.prompts, dataset.choices) for option in options]
    flat = [s.logprob for s in context.score(pairs, description="scoring choices")]
    width = max(len(options) for options in dataset.choices)
    logprob = np.full((len(dataset), width), -np.inf)
    lengths = np.ones((len(dataset), width))
    at = 0
    for row, options in enumerate(dataset.choices):
        logprob[row, :len(options)] = flat[at:at + len(options)]
        lengths[row, :len(options)] = [max(1, len(o)) for o in options]
        at += len(options)
    truth = np.array([c if c is not None else -1 for c in dataset.correct], dtype=np.int64)
    picked = logprob.argmax(axis=1)
    picked_norm = (logprob / lengths).argmax(axis=1)
    right, right_norm = int((picked == truth).sum()), int((picked_norm == truth).sum())
    n = len(dataset)
    shifted = np.exp(logprob - logprob.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    rows = calibration_rows(probabilities, truth)
    # The plain equal-width ECE (torchmetrics' definition): biased upward on small n, so a
    # max_ece gate on it errs towards failing, never towards a wrong pass.
    ece = bootstrap_rows(n, lambda w: {"ece": calibration_statistics(
        w, rows, params.bins, "width")["ece_width"]}, context.seed)
    point = calibration_statistics(np.ones((1, n)), rows, params.bins, "width")
    metrics = {"accuracy": right / n, "accuracy_norm": right_norm / n,
               "ece": float(point["ece_width"][0]), "nll": float(point["nll"][0]),
               "mean_confidence": float(rows.confidence.mean())}
    intervals = {"accuracy": wilson_interval(right, n),
                 "accuracy_norm": wilson_interval(right_norm, n), **ece}
    methods = {"accuracy": "wilson", "accuracy_norm": "wilson", "ece": "bootstrap-percentile"}
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.warn_unresolved(result.thresholds, n)
    result.examples = _surest_errors(dataset, picked, probabilities, context.max_examples)
    result.details["definitions"] = {
        "continuation": f"prompt + {params.delimiter!r} + choice, scored as lm-eval's "
                        "loglikelihood (the prompt's trailing spaces move onto the choice)",
        "accuracy": "argmax of the summed log-probability of each choice (lm-eval acc)",
        "accuracy_norm": "argmax of log-probability / characters of the choice (lm-eval "
                         "acc_norm)",
        "ece": f"softmax over the choices' log-probabilities; {params.bins} equal-width bins",
    }
    return result


def _choice_dataset(context: CheckContext, params: ChoiceParams) -> PromptDataset:
    from modeltests.data.datasets import PromptDataset

    dataset = context.dataset(params.dataset)
    if not isinstance(dataset, PromptDataset) or not any(dataset.choices) \
            or any(c is None for c in dataset.correct):
        raise SuiteError(f"{context.location('dataset')}: checks[{context.identity.index}]."
                         f"dataset: choice needs every row's choices and right answer; set "
                         f"prompt_column, choices_column and answer_column on dataset "
                         f"{params.dataset!r}")
    return dataset


def _surest_errors(dataset: PromptDataset, picked: NDArray[np.int64],
                   probabilities: NDArray[np.float64], count: int) -> list[dict[str, Any]]:
    wrong = [i for i in range(len(dataset)) if picked[i] != dataset.correct[i]]
    wrong.sort(key=lambda i: -float(probabilities[i].max()))
    return [{"text": dataset.texts[i], "expected": dataset.choices[i][dataset.correct[i] or 0],
             "predicted": dataset.choices[i][int(picked[i])],
             "confidence": float(probabilities[i].max())} for i in wrong[:count]]


CHECK_KINDS = [CheckKind("choice", ChoiceParams, run_choice,
                         "multiple choice by log-likelihood: acc, acc_norm, calibration",
                         task="generation")]
