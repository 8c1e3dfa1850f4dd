"""``robustness``: adversarial attacks through TextAttack, gated on success rate and accuracy.

TextAttack does the attacking (a recipe's ``build(model_wrapper)``, or an ``Attack`` composed of
word swaps, constraints and ``GreedyWordSwapWIR``) and
:mod:`modeltests.perturb.textattack` reads its result objects; this check samples the examples,
feeds TextAttack through the suite's model adapter, sets the budgets and turns the outcomes into
metrics, intervals and examples::

    - kind: robustness
      dataset: eval
      recipe: deepwordbug
      num_examples: 20
      query_budget: 500
      time_budget_s: 120
      max_attack_success_rate: 0.6

On a dataset of text pairs TextAttack attacks the two columns as one multi-column input, and
``attack_side`` (first, second or both; default second) decides which column's words it may
change: the other is frozen by TextAttack's ``InputColumnModification``.

PWWS and the ``wordnet`` swap read NLTK's WordNet; when NLTK has none, it is prepared once from
WordNet 3.0's dict files (``wordnet_dir``, ``$WNSEARCHDIR`` or Debian's ``/usr/share/wordnet``)
by :mod:`modeltests.perturb.wordnet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from modeltests.checks._sources import sample_indices
from modeltests.context import CheckContext
from modeltests.errors import MissingResourceError
from modeltests.data.inputs import ModelInput, Side, TextPair
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold
from modeltests.data.spec import RayOptions

if TYPE_CHECKING:
    from pathlib import Path

    from modeltests.perturb.textattack import (
        Attack,
        AttackExample,
        AttackOutcome,
        AttackRun,
        ModelWrapper,
    )

Recipe = Literal["deepwordbug", "pruthi", "pwws", "textfooler", "textbugger", "bae", "checklist"]
Transformation = Literal["neighboring_char_swap", "random_char_deletion", "random_char_insertion",
                         "random_char_substitution", "qwerty", "wordnet", "homoglyph"]
Constraint = Literal["repeat", "stopword"]
DEFAULT_CONSTRAINTS: tuple[Constraint, ...] = ("repeat", "stopword")


class RobustnessParams(SeededParams):
    """An adversarial attack on examples sampled from a labelled dataset."""

    kind: str = "robustness"
    dataset: str = Field(description="Name of a dataset under 'datasets:'.")
    recipe: Recipe | None = Field(
        default=None, description="A TextAttack recipe (default deepwordbug unless "
        "'transformation' composes an attack). pwws needs WordNet (prepared from "
        "/usr/share/wordnet: apt-get install wordnet-base); textfooler, textbugger, bae and "
        "checklist need resources TextAttack downloads.")
    transformation: list[Transformation] | None = Field(
        default=None, min_length=1, description="Compose an attack from these word swaps "
        "(instead of a recipe), searched by greedy word importance ranking. 'wordnet' swaps "
        "synonyms (needs WordNet); 'homoglyph' look-alike letters of other scripts.")
    wordnet_dir: str | None = Field(
        default=None, description="A folder of WordNet 3.0's dict files (data.noun, index.noun, "
        "...; relative to the suite file) to prepare for NLTK when NLTK has no WordNet. Default: "
        "$WNSEARCHDIR, else /usr/share/wordnet (Debian's wordnet-base).")
    missing_resource: Literal["fail", "skip"] = Field(
        default="fail", description="What a resource the attack needs and this machine lacks "
        "(WordNet, embeddings, a model to download) does: fail the check with how to provide "
        "it, or skip it with that reason.")
    constraints: list[Constraint] = Field(
        default_factory=lambda: list(DEFAULT_CONSTRAINTS),
        description="Constraints of a composed attack.")
    max_edit_distance: int | None = Field(
        default=None, ge=1, le=1000, description="Levenshtein limit of a composed attack.")
    search: Literal["greedy_wir"] = Field(default="greedy_wir",
                                          description="Search method of a composed attack.")
    num_examples: int = Field(default=20, ge=1, le=100_000,
                              description="Examples sampled (seeded) from the dataset.")
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
    attack_side: Literal["first", "second", "both"] | None = Field(
        default=None, description="For a dataset of text pairs: which side the attack may "
        "edit (first, second or both; default second, the hypothesis or the answer); the "
        "other side stays as it is. An error on a dataset of single texts.")
    min_examples_attacked: float | None = threshold(
        "Fewest examples actually attacked within the time budget (skipped ones, already "
        "misclassified, do not count).", ge=0)
    executor: Literal["local", "ray"] = Field(
        default="local", description="Who attacks the examples: 'local' (this process, one "
        "after the other) or 'ray' (actors of a Ray cluster, each with its own copy of the "
        "model and its own Attack; the same outcomes as 'local').")
    ray: RayOptions | None = Field(default=None, description="Options of executor: ray "
                                   "(address, workers, cpus_per_worker, runtime_env ...).")

    @model_validator(mode="after")
    def _one_attack(self) -> RobustnessParams:
        if self.recipe is not None and self.transformation is not None:
            raise ValueError("set either 'recipe' or 'transformation' (a composed attack), "
                             "not both")
        if self.ray is not None and self.executor != "ray":
            raise ValueError("'ray' options need 'executor: ray'")
        return self


def run_robustness(context: CheckContext, params: RobustnessParams) -> CheckResult:
    """Attack ``num_examples`` seeded examples one by one, within the query and time budgets."""
    import numpy as np

    from modeltests.data.datasets import check_labels_known
    from modeltests.stats.intervals import bootstrap_mean
    from modeltests.stats.proportions import wilson_interval
    from modeltests.perturb.textattack import attack_examples, attack_metrics, nltk_data_warning

    dataset = context.dataset(params.dataset)
    side = _attack_side(context, params, dataset.is_pairs)  # before anything loads
    try:
        setup = prepare_wordnet(context, params)  # before the model: a missing one costs nothing
        adapter = context.model()
        check_labels_known(dataset, adapter.labels, context.location("dataset"))
        # On Ray the actors build the attack: here, only what it needs is checked.
        attack = build_attack(context, params) if params.executor == "local" else None
        if attack is None:
            require_resources(context, params)
    except MissingResourceError as exc:
        if params.missing_resource == "skip":
            return CheckResult(skip_reason=str(exc))
        raise
    if dataset.is_pairs and attack is not None:
        from modeltests.perturb.textattack import restrict_to_side

        restrict_to_side(attack, dataset.text_columns, side)
    indices = sample_indices(len(dataset), params.num_examples, context.seed)
    examples = [(dataset.texts[i], adapter.labels.index(dataset.labels[i])) for i in indices]
    if attack is None:
        run = _attack_on_ray(context, params, examples)
    else:
        run = attack_examples(attack, context.progress(examples, "attacking", len(examples)),
                              context.seed, params.time_budget_s, dataset.text_columns)
    outcomes = run.outcomes
    metrics = attack_metrics(outcomes, run.seconds)
    attempted = int(metrics["succeeded"] + metrics["failed"])
    intervals = {"attack_success_rate": wilson_interval(int(metrics["succeeded"]), attempted)
                 if attempted else (0.0, 1.0)}
    if outcomes:
        intervals["accuracy_under_attack"] = wilson_interval(int(metrics["failed"]), len(outcomes))
        intervals["accuracy_before"] = wilson_interval(
            len(outcomes) - int(metrics["skipped"]), len(outcomes))
    shares = [o.perturbed_word_pct for o in outcomes if o.perturbed_word_pct is not None]
    perturbed = bootstrap_mean(np.asarray(shares, dtype=np.float64), context.seed)
    if perturbed is not None:
        intervals["avg_perturbed_word_pct"] = perturbed
    methods = {name: "exact" for name in metrics}  # counts of examples and queries
    methods.update({"attack_success_rate": "wilson", "accuracy_under_attack": "wilson",
                    "accuracy_before": "wilson", "avg_perturbed_word_pct": "bootstrap-percentile",
                    "seconds_per_example": "single measurement"})
    result = CheckResult(metrics=metrics, sample_size=len(outcomes), intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.examples = [describe_example(o.example, adapter.labels) for o in outcomes
                       if o.example is not None][: context.max_examples]
    result.details = {"attack": describe_attack(params, side if dataset.is_pairs else None),
                      "seed": context.seed, "executor": params.executor,
                      "indices": indices[:len(outcomes)], "errors": int(metrics["succeeded"]),
                      "stopped_by_time_budget": run.stopped_by_time_budget,
                      "outcomes": [describe_outcome(o) for o in outcomes]}
    if setup is not None:
        result.details["wordnet"] = setup
    note = nltk_data_warning()
    if note:
        result.warnings.append(note)
    if run.stopped_by_time_budget:
        result.warnings.append(f"time budget of {params.time_budget_s:g} s reached: attacked "
                               f"{len(outcomes)} of {len(indices)} examples")
    if attempted and attempted < 30:
        result.warnings.append(f"only {attempted} of {len(outcomes)} examples could be attacked "
                               f"(the others were misclassified already): the success rate is "
                               f"a rough estimate")
    return result


def _attack_side(context: CheckContext, params: RobustnessParams, pairs: bool) -> Side:
    """The side of a pair the attack edits; ``attack_side`` on single texts is an error."""
    if params.attack_side is not None and not pairs:
        raise context.error("attack_side", f"attack_side: {params.attack_side} applies to a "
                            f"dataset of text pairs (text_column: [first, second]); dataset "
                            f"{params.dataset!r} has single texts (remove attack_side)")
    if pairs and params.executor == "ray":
        raise context.error("executor", "executor: ray attacks single texts; a dataset of text "
                            "pairs is attacked with executor: local")
    return params.attack_side or "second"


def prepare_wordnet(context: CheckContext, params: RobustnessParams) -> dict[str, Any] | None:
    """NLTK's WordNet when the attack reads it (prepared in one step if needed): where NLTK
    loads it from, and the dict folder it was prepared from (None: the user's own)."""
    from modeltests.perturb.textattack import NEEDS_WORDNET, require_wordnet

    recipe = params.recipe
    if recipe not in NEEDS_WORDNET and "wordnet" not in (params.transformation or []):
        return None
    folder = context.resolve_path(params.wordnet_dir) if params.wordnet_dir else None
    key = "wordnet_dir" if params.wordnet_dir else ("recipe" if recipe else "transformation")
    try:
        setup = require_wordnet(f"recipe {recipe!r}" if recipe else "transformation 'wordnet'",
                                folder)
    except MissingResourceError as exc:
        raise MissingResourceError(f"{context.location(key)}: {exc}") from None
    return {"nltk_folder": setup.nltk_folder,
            "source": str(setup.source) if setup.source is not None else None}


def build_attack(context: CheckContext, params: RobustnessParams) -> Attack:
    """The TextAttack ``Attack``, reading the model through the suite's adapter."""
    from modeltests.perturb import textattack as support
    from modeltests.cluster.attacks import probabilities_of

    require_resources(context, params)
    adapter = context.model()
    wrapper = support.adapter_model_wrapper(
        lambda texts: probabilities_of(context.predict(texts)), adapter)
    return make_attack(params, _wordnet_folder(context, params), wrapper)


def require_resources(context: CheckContext, params: RobustnessParams) -> None:
    """A recipe's downloadable resources are on this machine (checked before loading TextAttack
    or the model), or the error naming them."""
    from modeltests.perturb import textattack as support

    recipe = params.recipe or ("deepwordbug" if params.transformation is None else None)
    if recipe is not None:
        missing = support.missing_resources(recipe)
        if missing:
            raise MissingResourceError(
                f"{context.location('recipe')}: recipe {recipe!r} cannot run here: it needs "
                + "; ".join(f"{r.name} ({r.how})" for r in missing))


def make_attack(params: RobustnessParams, wordnet_dir: Path | None,
                wrapper: ModelWrapper) -> Attack:
    """The check's ``Attack`` on ``wrapper``: what this process and every Ray actor build
    (module-level, so that ``functools.partial(make_attack, params, folder)`` pickles)."""
    from modeltests.perturb import textattack as support

    recipe = params.recipe or ("deepwordbug" if params.transformation is None else None)
    if recipe is not None:
        attack = support.build_recipe(recipe, wrapper, wordnet_dir)
    else:
        attack = support.build_composed(params.transformation or [], params.constraints, wrapper,
                                        params.max_edit_distance, wordnet_dir)
    support.apply_budgets(attack, params.batch_size, params.query_budget)
    return attack


def _wordnet_folder(context: CheckContext, params: RobustnessParams) -> Path | None:
    return context.resolve_path(params.wordnet_dir) if params.wordnet_dir else None


def _attack_on_ray(context: CheckContext, params: RobustnessParams,
                   pairs: list[tuple[ModelInput, int]]) -> AttackRun:
    """The examples attacked by Ray actors (:mod:`modeltests.cluster.attacks`), each building
    this check's attack on its own copy of the suite's model: the outcomes of a local run."""
    from functools import partial

    from modeltests.cluster.attacks import attack_on_ray

    factory = partial(make_attack, params, _wordnet_folder(context, params))
    location = context.location("ray" if params.ray is not None else "executor")
    run, facts = attack_on_ray(
        context.model_recipe(), factory, pairs, context.seed, params.ray or RayOptions(),
        location, params.time_budget_s,
        track=lambda done: context.progress(done, "attacking on Ray", len(pairs)))
    context.record_executor(facts)
    return run


def describe_example(example: AttackExample, labels: list[str]) -> dict[str, Any]:
    """``original`` / ``perturbed`` with changed words in ``[[ ]]``, labels before and after,
    and the probability of the true label on both texts (``p_before`` / ``p_after``)."""
    return {"original": example.original, "perturbed": example.perturbed,
            "expected": labels[example.expected], "before": labels[example.before],
            "predicted": labels[example.predicted], "confidence": example.confidence,
            "watched_label": labels[example.expected], "p_before": example.expected_before,
            "p_after": example.expected_after, "queries": example.queries}


def describe_outcome(outcome: AttackOutcome) -> dict[str, Any]:
    """The kind of one result and, when the attack succeeded, the perturbed text (and, for a
    pair of texts, both perturbed sides under ``perturbed_pair``)."""
    entry: dict[str, Any] = {"result": outcome.result, "queries": outcome.queries}
    if outcome.example is not None:
        entry["perturbed"] = outcome.example.perturbed_text
        if isinstance(outcome.example.perturbed_input, TextPair):
            entry["original_pair"] = list(outcome.example.original_input)
            entry["perturbed_pair"] = list(outcome.example.perturbed_input)
    return entry


def describe_attack(params: RobustnessParams, side: Side | None = None) -> dict[str, Any]:
    """The attack as the report shows it (with the side attacked, for text pairs)."""
    described: dict[str, Any]
    if params.transformation is not None:
        described = {"transformation": list(params.transformation),
                     "constraints": list(params.constraints), "search": params.search,
                     "max_edit_distance": params.max_edit_distance,
                     "query_budget": params.query_budget}
    else:
        described = {"recipe": params.recipe or "deepwordbug",
                     "query_budget": params.query_budget}
    if side is not None:
        described["attack_side"] = side
    return described


def prepare_robustness(context: CheckContext, params: RobustnessParams) -> None:
    """Setup: ``attack_side`` needs a dataset of text pairs, ``executor: ray`` single texts
    (an ERROR before anything loads); with ``executor: ray``, Ray is installed and the cluster
    answers (else an ERROR naming the extra or the address, not a verdict on the model)."""
    if params.attack_side is not None or params.executor == "ray":
        _attack_side(context, params, context.dataset(params.dataset).is_pairs)
    if params.executor != "ray":
        return
    from modeltests.cluster.predictions import connect

    options = params.ray or RayOptions()
    connect(options, context.location("ray", "address") if options.address else
            context.location("ray" if params.ray is not None else "executor"))


CHECK_KINDS = [CheckKind("robustness", RobustnessParams, run_robustness,
                         "adversarial attack (TextAttack): success rate, accuracy under attack",
                         prepare=prepare_robustness)]
