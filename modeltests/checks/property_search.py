"""``property_search``: hypothesis searches for a small perturbation that flips the prediction.

For each seed sentence, hypothesis draws perturbations (character typos, inserted neutral
words) from :mod:`modeltests.strategies`, looks for one that changes the model's label, and
shrinks it to a minimal one (fewest edits). An example's ``edits`` counts in the unit of
``max_edits`` (one character edit, one inserted word); ``changed_chars`` is the Levenshtein
distance between the two texts. The search is seeded (``random=Random(seed)``,
no example database), so CI sees the same counterexamples every run::

    - kind: property_search
      texts: ["The service was excellent.", "I hated the ending."]
      edits: [typos, insertions]
      max_edits: 2
      budget: 100
      max_flip_rate: 0.5
"""

from __future__ import annotations

import random
from typing import Any, Callable, Literal

from pydantic import Field

from modeltests.checks._rates import rate_result
from modeltests.checks._sources import TextSource, edited_side, prepare_side, source_texts
from modeltests.context import CheckContext
from modeltests.data.inputs import ModelInput, Side, TextPair, as_display, map_side
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, threshold

Edit = Literal["typos", "insertions"]
EDITS: tuple[Edit, ...] = ("typos", "insertions")


class PropertySearchParams(TextSource):
    """Search for prediction-flipping perturbations of seed sentences."""

    kind: str = "property_search"
    samples: int = Field(default=10, ge=1, le=10_000, description="Seed sentences searched.")
    edits: list[Edit] = Field(
        default_factory=lambda: list(EDITS), min_length=1,
        description="Perturbations hypothesis may draw.")
    max_edits: int = Field(default=3, ge=1, le=20, description="Most edits in one perturbation "
                           "(a character edit or an inserted word counts as one).")
    budget: int = Field(default=100, ge=1, le=100_000,
                        description="Perturbations hypothesis tries per sentence.")
    max_flip_rate: float | None = threshold("Highest share of sentences with a flip found.",
                                            ge=0, le=1)


def run_property_search(context: CheckContext, params: PropertySearchParams) -> CheckResult:
    """Search each sentence; report the share flipped and each minimal counterexample."""
    texts = source_texts(context, params)
    side = edited_side(context, params, texts)
    cache: dict[ModelInput, str] = {}
    originals = context.predict(texts).labels
    found: list[dict[str, Any]] = []
    for i, text in context.progress(list(enumerate(texts)), "searching"):
        searched = _searched_side(text, side)
        flip = find_flip(_labeller(context, cache, text, side), searched, originals[i], params,
                         context.seed + i)
        if flip is not None:
            perturbed_side, edits = flip
            perturbed = map_side(text, side, lambda _: perturbed_side)
            found.append({"original": as_display(text), "perturbed": as_display(perturbed),
                          "expected": originals[i],
                          "predicted": _label(context, cache, perturbed), "edits": edits,
                          "changed_chars": _char_distance(searched, perturbed_side)})
    n = len(texts)
    metrics = {"flip_rate": len(found) / n if n else 0.0, "sentences": float(n),
               "flipped": float(len(found)), "model_queries": float(len(cache))}
    result = rate_result(context, metrics, "flip_rate", len(found), n, found)
    result.details = {"errors": len(found), "budget_per_sentence": params.budget,
                      "seed": context.seed}
    return result


def _labeller(context: CheckContext, cache: dict[ModelInput, str], text: ModelInput,
              side: Side) -> Callable[[str], str]:
    """The label of ``text`` with its searched side replaced by a candidate."""
    def label_of(candidate: str) -> str:
        return _label(context, cache, map_side(text, side, lambda _: candidate))
    return label_of


def _searched_side(text: ModelInput, side: Side) -> str:
    """The text hypothesis perturbs: the input itself, or one side of a pair."""
    if isinstance(text, TextPair):
        return text.first if side == "first" else text.second
    return text


def _label(context: CheckContext, cache: dict[ModelInput, str], text: ModelInput) -> str:
    if text not in cache:
        cache[text] = context.predict([text]).labels[0]
    return cache[text]


def find_flip(label_of: Callable[[str], str], text: str, original: str,
              params: PropertySearchParams, seed: int) -> tuple[str, int] | None:
    """The minimal perturbation of ``text`` whose label differs from ``original``, with its
    number of edits (the unit of ``max_edits``: a character edit or an inserted word), or None.
    """
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from modeltests.strategies import counted_perturbations

    strategy = counted_perturbations(text, kinds=tuple(params.edits), max_edits=params.max_edits)
    config = settings(max_examples=params.budget, database=None, deadline=None,
                      phases=[Phase.generate, Phase.shrink], derandomize=False,
                      suppress_health_check=list(HealthCheck))
    try:
        flip: tuple[str, int] = find(
            strategy, lambda found: found[0] != text and label_of(found[0]) != original,
            settings=config, random=random.Random(seed))
    except NoSuchExample:
        return None
    return flip


def _char_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters (small strings only): how much of the text changed,
    which an inserted word counts once per letter."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def prepare_property_search(context: CheckContext, params: PropertySearchParams) -> None:
    """Setup: ``side`` needs text pairs, and the search edits one text (first or second)."""
    prepare_side(context, params)
    if params.side == "both":
        raise context.error("side", "property_search edits one text: set side to first or "
                            "second for a dataset of text pairs")


CHECK_KINDS = [CheckKind("property_search", PropertySearchParams, run_property_search,
                         "hypothesis searches minimal perturbations that flip the prediction",
                         prepare=prepare_property_search)]
