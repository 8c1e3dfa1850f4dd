"""``robustness``: adversarial attacks through TextAttack, gated on success rate and accuracy.

TextAttack does the attacking (a recipe's ``build(model_wrapper)``, or an ``Attack`` composed of
character-level transformations, constraints and ``GreedyWordSwapWIR``); this check samples the
examples, feeds TextAttack through the suite's model adapter, enforces the budgets and turns
TextAttack's result objects into metrics::

    - kind: robustness
      dataset: eval
      recipe: deepwordbug
      num_examples: 20
      query_budget: 500
      time_budget_s: 120
      max_attack_success_rate: 0.6
"""

from __future__ import annotations

import random
import time
from typing import Any, Literal

from pydantic import Field, model_validator

from modeltests.registry import CheckKind
from modeltests.result import CheckParams, CheckResult, threshold
from modeltests.context import CheckContext

Recipe = Literal["deepwordbug", "pruthi", "pwws", "textfooler", "textbugger", "bae", "checklist"]
Transformation = Literal["neighboring_char_swap", "random_char_deletion", "random_char_insertion",
                         "random_char_substitution", "qwerty", "wordnet"]
Constraint = Literal["repeat", "stopword"]


class RobustnessParams(CheckParams):
    """An adversarial attack on examples sampled from a labelled dataset."""

    kind: str = "robustness"
    dataset: str = Field(description="Name of a dataset under 'datasets:'.")
    recipe: Recipe | None = Field(
        default=None, description="A TextAttack recipe (default deepwordbug unless "
        "'transformation' composes an attack). pwws needs NLTK WordNet; textfooler, textbugger, "
        "bae and checklist need resources TextAttack downloads.")
    transformation: list[Transformation] | None = Field(
        default=None, min_length=1, description="Compose an attack from these word swaps "
        "(instead of a recipe), searched by greedy word importance ranking.")
    constraints: list[Constraint] = Field(
        default_factory=lambda: ["repeat", "stopword"],
        description="Constraints of a composed attack.")
    max_edit_distance: int | None = Field(
        default=None, ge=1, le=1000, description="Levenshtein limit of a composed attack.")
    search: Literal["greedy_wir"] = Field(default="greedy_wir",
                                          description="Search method of a composed attack.")
    num_examples: int = Field(default=20, ge=1, le=100_000,
                              description="Examples sampled (seeded) from the dataset.")
    seed: int | None = Field(default=None, description="Defaults to the suite's defaults.seed.")
    query_budget: int | None = Field(default=None, ge=1, le=10_000_000,
                                     description="Most model queries per example.")
    time_budget_s: float | None = Field(
        default=None, gt=0, le=86_400, description="Stop starting new examples after this many "
        "seconds; the metrics then cover the examples attacked.")
    batch_size: int = Field(default=32, ge=1, le=4096,
                            description="Texts per model call made by TextAttack.")
    max_attack_success_rate: float | None = threshold(
        "Highest share of attacked (correctly classified) examples an attack may flip.", ge=0, le=1)
    min_accuracy_under_attack: float | None = threshold(
        "Lowest share of examples still classified correctly after the attack.", ge=0, le=1)
    min_accuracy_before: float | None = threshold("Lowest accuracy on the sampled examples.",
                                                  ge=0, le=1)
    max_avg_perturbed_word_pct: float | None = threshold(
        "Highest average percentage of words changed by successful attacks.", ge=0, le=100)
    min_examples_attacked: float | None = threshold(
        "Fewest examples that must be attacked within the time budget.", ge=0)

    @model_validator(mode="after")
    def _one_attack(self) -> RobustnessParams:
        if self.recipe is not None and self.transformation is not None:
            raise ValueError("set either 'recipe' or 'transformation' (a composed attack), "
                             "not both")
        return self


def run_robustness(context: CheckContext, params: RobustnessParams) -> CheckResult:
    """Attack ``num_examples`` seeded examples one by one, within the query and time budgets."""
    from modeltests.stats import wilson_interval

    dataset = context.dataset(params.dataset)
    adapter = context.model()
    _check_labels(context, params, dataset.labels, adapter.labels)
    indices = sample_indices(len(dataset), params.num_examples, context.seed)
    attack = build_attack(context, params)
    outcomes, seconds, stopped = _attack_all(attack, params, context.seed,
                                             [(dataset.texts[i], adapter.labels.index(
                                                 dataset.labels[i])) for i in indices])
    metrics = attack_metrics(outcomes, seconds)
    attempted = int(metrics["succeeded"] + metrics["failed"])
    intervals = {"attack_success_rate": wilson_interval(int(metrics["succeeded"]), attempted)
                 if attempted else (0.0, 1.0)}
    if outcomes:
        intervals["accuracy_under_attack"] = wilson_interval(int(metrics["failed"]), len(outcomes))
    result = CheckResult(metrics=metrics, sample_size=len(outcomes), intervals=intervals)
    result.thresholds = context.evaluate(metrics, intervals)
    result.examples = _examples(outcomes, adapter.labels, context.max_examples)
    result.details = {"attack": describe_attack(params), "seed": context.seed,
                      "indices": indices[:len(outcomes)], "errors": int(metrics["succeeded"]),
                      "stopped_by_time_budget": stopped,
                      "outcomes": [_outcome(r) for r in outcomes]}
    if stopped:
        result.warnings.append(f"time budget of {params.time_budget_s:g} s reached: attacked "
                               f"{len(outcomes)} of {len(indices)} examples")
    if attempted and attempted < 30:
        result.warnings.append(f"only {attempted} of {len(outcomes)} examples could be attacked "
                               f"(the others were misclassified already): the success rate is "
                               f"a rough estimate")
    return result


def sample_indices(size: int, wanted: int, seed: int) -> list[int]:
    """``wanted`` row indices of a dataset of ``size`` rows, seeded, in dataset order."""
    if wanted >= size:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), wanted))


def _check_labels(context: CheckContext, params: RobustnessParams, labels: list[str],
                  model_labels: list[str]) -> None:
    unknown = sorted(set(labels) - set(model_labels))
    if unknown:
        from modeltests.errors import DatasetError

        raise DatasetError(f"{context.location('dataset')}: dataset {params.dataset!r} has "
                           f"label(s) {unknown[:5]} the model does not predict (model labels: "
                           f"{', '.join(model_labels)})")


def build_attack(context: CheckContext, params: RobustnessParams) -> Any:
    """The TextAttack ``Attack``, reading the model through the suite's adapter."""
    from modeltests import textattack_support as support

    recipe = params.recipe or ("deepwordbug" if params.transformation is None else None)
    if recipe is not None:
        missing = support.missing_resources(recipe)  # before loading TextAttack or the model
        if missing:
            from modeltests.errors import MissingResourceError

            raise MissingResourceError(
                f"{context.location('recipe')}: recipe {recipe!r} cannot run here: it needs "
                + "; ".join(f"{r.name} ({r.how})" for r in missing))
    adapter = context.model()
    wrapper = support.adapter_model_wrapper(lambda texts: _probabilities(context, texts), adapter)
    if recipe is not None:
        attack = support.build_recipe(recipe, wrapper)
    else:
        attack = support.build_composed(params.transformation or [], params.constraints, wrapper,
                                        params.max_edit_distance)
    attack.goal_function.batch_size = params.batch_size
    if params.query_budget is not None:
        attack.goal_function.query_budget = params.query_budget
    return attack


def _probabilities(context: CheckContext, texts: list[str]) -> Any:
    import numpy as np

    predictions = context.predict(texts)
    if predictions.probabilities is not None:
        return predictions.probabilities
    names = predictions.label_names
    one_hot = np.zeros((len(texts), len(names)))
    one_hot[np.arange(len(texts)), [names.index(label) for label in predictions.labels]] = 1.0
    return one_hot


def seed_everything(seed: int) -> None:
    """Seed what TextAttack draws from (python ``random``, numpy, torch), as ``Attacker`` does."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _attack_all(attack: Any, params: RobustnessParams, seed: int,
                examples: list[tuple[str, int]]) -> tuple[list[Any], float, bool]:
    from modeltests.textattack_support import isolated

    seed_everything(seed)
    results: list[Any] = []
    started = time.perf_counter()
    stopped = False
    with isolated():
        for text, label in examples:
            if params.time_budget_s is not None and \
                    time.perf_counter() - started >= params.time_budget_s:
                stopped = True
                break
            results.append(attack.attack(text, label))
    return results, time.perf_counter() - started, stopped


def attack_metrics(results: list[Any], seconds: float) -> dict[str, float]:
    """Metrics of TextAttack result objects, as fractions (TextAttack reports percentages).

    ``attack_success_rate`` = succeeded / (succeeded + failed), ``accuracy_under_attack`` =
    failed / attacked, ``avg_perturbed_word_pct`` over successful attacks, ``avg_queries``
    over examples not skipped: the same definitions as ``textattack.metrics``.
    """
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult

    total = len(results)
    skipped = sum(isinstance(r, SkippedAttackResult) for r in results)
    failed = sum(isinstance(r, FailedAttackResult) for r in results)
    succeeded = total - skipped - failed
    changed = [perturbed_word_pct(r) for r in results
               if not isinstance(r, (SkippedAttackResult, FailedAttackResult))]
    queries = [r.num_queries for r in results if not isinstance(r, SkippedAttackResult)]
    return {
        "attack_success_rate": succeeded / (succeeded + failed) if succeeded + failed else 0.0,
        "accuracy_before": (total - skipped) / total if total else 0.0,
        "accuracy_under_attack": failed / total if total else 0.0,
        "avg_perturbed_word_pct": sum(changed) / len(changed) if changed else 0.0,
        "avg_queries": sum(queries) / len(queries) if queries else 0.0,
        "succeeded": float(succeeded), "failed": float(failed), "skipped": float(skipped),
        "examples_attacked": float(total),
        "seconds_per_example": seconds / total if total else 0.0,
    }


def perturbed_word_pct(result: Any) -> float:
    """Percentage of the original words a successful attack changed."""
    original = result.original_result.attacked_text
    words = len(original.words)
    changed = len(original.all_words_diff(result.perturbed_result.attacked_text))
    return changed * 100.0 / words if words else 0.0


def _examples(results: list[Any], labels: list[str], limit: int) -> list[dict[str, Any]]:
    from textattack.attack_results import SuccessfulAttackResult

    examples = []
    for result in results:
        if len(examples) >= limit:
            break
        if isinstance(result, SuccessfulAttackResult):
            examples.append(describe_result(result, labels))
    return examples


def _outcome(result: Any) -> dict[str, Any]:
    """The kind of one result and, when the attack succeeded, the perturbed text."""
    kind = type(result).__name__.replace("AttackResult", "").lower()
    entry: dict[str, Any] = {"result": kind, "queries": int(result.num_queries)}
    if kind == "successful":
        entry["perturbed"] = result.perturbed_result.attacked_text.text
    return entry


def describe_result(result: Any, labels: list[str]) -> dict[str, Any]:
    """``original`` / ``perturbed`` with changed words in ``[[ ]]``, labels before and after."""
    original, perturbed = result.diff_color(color_method="file")
    after = result.perturbed_result
    return {"original": original, "perturbed": perturbed,
            "expected": labels[result.original_result.ground_truth_output],
            "before": labels[result.original_result.output],
            "predicted": labels[after.output],
            "confidence": float(after.raw_output.max()),
            "queries": int(result.num_queries)}


def describe_attack(params: RobustnessParams) -> dict[str, Any]:
    """The attack as the report shows it."""
    if params.transformation is not None:
        return {"transformation": list(params.transformation),
                "constraints": list(params.constraints), "search": params.search,
                "max_edit_distance": params.max_edit_distance,
                "query_budget": params.query_budget}
    return {"recipe": params.recipe or "deepwordbug", "query_budget": params.query_budget}


CHECK_KINDS = [CheckKind("robustness", RobustnessParams, run_robustness,
                         "adversarial attack (TextAttack): success rate, accuracy under attack")]
