"""Running an attack on labelled texts within a time budget, and reading each of TextAttack's
result objects once into an :class:`AttackOutcome`; :func:`attack_metrics` gives TextAttack's own
metric definitions over those outcomes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

from modeltests.perturb.textattack.offline import isolated
from modeltests.perturb.textattack.types import Attack, AttackResult
from modeltests.data.inputs import ModelInput, Side, TextPair, as_input


# -- running an attack and reading its results --------------------------------------------------

@dataclass(frozen=True)
class AttackExample:
    """A successful attack as a report shows it: changed words marked ``[[ ]]`` in ``original``
    and ``perturbed``; labels as indices into the model's labels."""

    original: str
    perturbed: str
    perturbed_text: str
    """The perturbed text itself, unmarked."""
    expected: int
    before: int
    predicted: int
    confidence: float
    """The model's probability of ``predicted`` on the perturbed text."""
    queries: int
    expected_before: float | None = None
    expected_after: float | None = None
    """The probability of the true label (``expected``) on the original and perturbed text."""
    original_input: ModelInput = ""
    perturbed_input: ModelInput = ""
    """The original and perturbed input themselves: a text, or a pair of texts."""


@dataclass(frozen=True)
class AttackOutcome:
    """One attacked example, read once from TextAttack's result object.

    ``result`` names the result class ("successful", "failed", "skipped", "maximized");
    ``status`` is how ``textattack.metrics`` counts it: every result neither skipped (the model
    was wrong already) nor failed counts as succeeded.
    """

    result: str
    status: Literal["succeeded", "failed", "skipped"]
    queries: int
    perturbed_word_pct: float | None = None
    """Percentage of the original words changed, for succeeded attacks."""
    example: AttackExample | None = None
    """For successful results (``SuccessfulAttackResult``) only."""


@dataclass(frozen=True)
class AttackRun:
    """The outcomes of attacking labelled texts in order, and how long the attacks took."""

    outcomes: list[AttackOutcome]
    seconds: float
    stopped_by_time_budget: bool


def seed_everything(seed: int) -> None:
    """Seed what TextAttack draws from (python ``random``, numpy, torch), as ``Attacker`` does."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def example_seed(seed: int, position: int) -> int:
    """The seed of the ``position``-th example of a run seeded ``seed``: a function of the two
    alone, so an example's attack is the same whichever examples came before it, whichever
    process attacks it (see :func:`attack_one`)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, position]).generate_state(1)[0])


def restrict_to_side(attack: Attack, columns: Sequence[str], side: Side) -> None:
    """Let ``attack`` edit only ``side`` of a text pair whose columns are ``columns``: a
    TextAttack ``InputColumnModification`` freezes the other column's words. Constraints of
    that kind a recipe brings (textfooler's freezes a column named ``premise``) are replaced,
    so ``side`` alone decides."""
    from textattack.constraints.pre_transformation import InputColumnModification

    kept = [c for c in attack.pre_transformation_constraints
            if not isinstance(c, InputColumnModification)]
    frozen = {column for column, name in zip(columns, ("first", "second"))
              if side not in (name, "both")}
    if frozen:
        kept.append(InputColumnModification(list(columns), frozen))
    attack.pre_transformation_constraints = kept


def attack_input(example: ModelInput, columns: Sequence[str]) -> str | dict[str, str]:
    """What ``Attack.attack`` takes: a text, or an ``OrderedDict`` of a pair's two columns
    (TextAttack's multi-column input; the column names label each side in its output)."""
    from collections import OrderedDict

    if isinstance(example, TextPair):
        return OrderedDict(zip(columns, example))
    return example


def attack_one(attack: Attack, text: ModelInput, label: int, seed: int, position: int,
               columns: Sequence[str] = ("first", "second")) -> AttackOutcome:
    """Attack one labelled input as the ``position``-th example of a run seeded ``seed`` (a
    pair of texts as two columns named ``columns``).

    Everything the attack draws from is seeded for this example alone and TextAttack's caches
    (model answers, transformations, constraints) are emptied first: the outcome depends on the
    attack, the model, the input and ``(seed, position)`` only, never on which examples the
    same ``Attack`` object saw before. That is what lets Ray workers attack examples in any
    order and split with the same results as one process attacking them in turn."""
    seed_everything(example_seed(seed, position))
    attack.clear_cache()
    with isolated():
        return read_result(attack.attack(attack_input(text, columns), label))


def attack_examples(attack: Attack, examples: Iterable[tuple[ModelInput, int]], seed: int,
                    time_budget_s: float | None = None,
                    columns: Sequence[str] = ("first", "second")) -> AttackRun:
    """Attack ``(input, label index)`` pairs one by one (each seeded on its own: see
    :func:`attack_one`), with TextAttack's side effects undone; no new example starts once
    ``time_budget_s`` has passed. A pair of texts is attacked as two columns named
    ``columns``."""
    outcomes: list[AttackOutcome] = []
    started = time.perf_counter()
    stopped = False
    for position, (text, label) in enumerate(examples):
        if time_budget_s is not None and time.perf_counter() - started >= time_budget_s:
            stopped = True
            break
        outcomes.append(attack_one(attack, text, label, seed, position, columns))
    seconds = time.perf_counter() - started
    return AttackRun(outcomes, seconds, stopped)


    seconds = time.perf_counter() - started
    return AttackRun(outcomes, seconds, stopped)


def read_result(result: AttackResult) -> AttackOutcome:
    """What one of TextAttack's result objects says: status, queries, and what changed."""
    from textattack.attack_results import (
        FailedAttackResult,
        SkippedAttackResult,
        SuccessfulAttackResult,
    )

    name = type(result).__name__.replace("AttackResult", "").lower()
    queries = int(result.num_queries)
    if isinstance(result, SkippedAttackResult):
        return AttackOutcome(name, "skipped", queries)
    if isinstance(result, FailedAttackResult):
        return AttackOutcome(name, "failed", queries)
    example = _example(result) if isinstance(result, SuccessfulAttackResult) else None
    return AttackOutcome(name, "succeeded", queries, perturbed_word_pct(result), example)


def perturbed_word_pct(result: AttackResult) -> float:
    """Percentage of the original words a successful attack changed."""
    original = result.original_result.attacked_text
    words = len(original.words)
    changed = len(original.all_words_diff(result.perturbed_result.attacked_text))
    return changed * 100.0 / words if words else 0.0


def _example(result: AttackResult) -> AttackExample:
    original, perturbed = result.diff_color(color_method="file")
    before, after = result.original_result, result.perturbed_result
    expected = before.ground_truth_output
    return AttackExample(original=original, perturbed=perturbed,
                         perturbed_text=after.attacked_text.text,
                         expected=expected, before=before.output, predicted=after.output,
                         confidence=float(after.raw_output.max()),
                         queries=int(result.num_queries),
                         expected_before=float(before.raw_output[expected]),
                         expected_after=float(after.raw_output[expected]),
                         original_input=as_input(before.attacked_text.tokenizer_input),
                         perturbed_input=as_input(after.attacked_text.tokenizer_input))


def attack_metrics(outcomes: Sequence[AttackOutcome], seconds: float) -> dict[str, float]:
    """Metrics of attack outcomes, as fractions (TextAttack reports percentages).

    ``attack_success_rate`` = succeeded / (succeeded + failed), ``accuracy_under_attack`` =
    failed / attacked, ``avg_perturbed_word_pct`` over successful attacks, ``avg_queries``
    over examples not skipped: the same definitions as ``textattack.metrics``.
    ``examples_attacked`` counts the examples actually attacked (succeeded + failed: a skipped
    one was misclassified already and never attacked); ``examples`` counts all of them.
    """
    total = len(outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    succeeded = total - skipped - failed
    changed = [o.perturbed_word_pct for o in outcomes if o.perturbed_word_pct is not None]
    queries = [o.queries for o in outcomes if o.status != "skipped"]
    return {
        "attack_success_rate": succeeded / (succeeded + failed) if succeeded + failed else 0.0,
        "accuracy_before": (total - skipped) / total if total else 0.0,
        "accuracy_under_attack": failed / total if total else 0.0,
        "avg_perturbed_word_pct": sum(changed) / len(changed) if changed else 0.0,
        "avg_queries": sum(queries) / len(queries) if queries else 0.0,
        "succeeded": float(succeeded), "failed": float(failed), "skipped": float(skipped),
        "examples_attacked": float(succeeded + failed),
        "examples": float(total),
        "seconds_per_example": seconds / total if total else 0.0,
    }
