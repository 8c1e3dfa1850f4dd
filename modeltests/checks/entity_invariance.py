"""``entity_invariance``: swapping one entity for another of the same type keeps the tags.

For each sentence of a token dataset with a gold entity of a type listed in ``swaps``, one such
entity (seeded choice) is replaced by a name of the same type from the lexicon (a different
name; names may have several words). The sentence passes when the model's tags on the swapped
sentence keep its entities: those outside the swapped span are the same (compared as seqeval
chunks, so ``B-LOC`` -> ``I-LOC`` after ``O`` is no change), and the swapped name is tagged as
exactly one entity of the original type whenever the original name was (and is not, whenever
it was not) — CheckList's invariance test for NER. The pass rate has a Wilson interval over the tested sentences.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Sequence

from pydantic import Field

from modeltests.checks.entities import spans_text, tag, tagging_model, token_dataset
from modeltests.context import CheckContext
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold
from modeltests.data.tags import Span, entities, entity_types

if TYPE_CHECKING:
    from modeltests.data.datasets import TokenDataset


class EntityInvarianceParams(SeededParams):
    """Names or places swapped from a lexicon must keep their entity span and type."""

    kind: str = "entity_invariance"
    dataset: str = Field(description="Name of a token dataset under 'datasets:'.")
    swaps: dict[str, list[str]] = Field(
        min_length=1, description="Per entity type, the names swapped in, e.g. {PER: [Nadia "
        "Novak, Omar], LOC: [Lagos, Mexico City]}.")
    max_sentences: int = Field(default=200, ge=1, le=100_000,
                               description="Sentences tested at most (the first ones that "
                               "have an entity of a swapped type).")
    min_pass_rate: float | None = threshold("Lowest share of swapped sentences whose tags stay "
                                            "the same.", ge=0, le=1)


def run_entity_invariance(context: CheckContext, params: EntityInvarianceParams) -> CheckResult:
    from modeltests.stats.proportions import wilson_interval

    model = tagging_model(context, "dataset")
    dataset = token_dataset(context, params.dataset, model.labels)
    cases = _swapped(dataset, params, context.seed)
    if not cases:
        raise context.error("swaps", f"no sentence of {params.dataset!r} has a gold entity of "
                            f"type {', '.join(params.swaps)}")
    originals = tag(context, model, [dataset.words[i] for i, *_ in cases])
    swapped = tag(context, model, [words for _, _, words in cases])
    failures = []
    retagged = 0  # sentences whose raw tags outside the span changed (entities may not have)
    for n, (index, span, words) in enumerate(cases):
        width = len(words) - len(dataset.words[index]) + span[2] - span[1] + 1
        before, after = originals.tags[n], swapped.tags[n]
        retagged += (before[:span[1]] != after[:span[1]]
                     or before[span[2] + 1:] != after[span[1] + width:])
        if not _kept(originals.tags[n], swapped.tags[n], span, width):
            failures.append({"original": " ".join(dataset.words[index]),
                             "perturbed": " ".join(words),
                             "expected": spans_text(dataset.words[index], originals.tags[n]),
                             "predicted": spans_text(words, swapped.tags[n]),
                             "line": dataset.lines[index]})
    passed = len(cases) - len(failures)
    metrics = {"pass_rate": passed / len(cases), "tested": float(len(cases))}
    intervals = {"pass_rate": wilson_interval(passed, len(cases))}
    methods = {"pass_rate": "wilson", "tested": "exact"}
    result = CheckResult(metrics=metrics, sample_size=len(cases), intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.warn_unresolved(result.thresholds, len(cases))
    result.examples = failures[:context.max_examples]
    result.details = {"errors": len(failures), "tested": len(cases),
                      "raw_tags_changed_outside_span": retagged,
                      "swaps": {k: list(v) for k, v in params.swaps.items()}}
    return result


def prepare_entity_invariance(context: CheckContext, params: EntityInvarianceParams) -> None:
    """At setup: a token model, and swaps for its entity types, each with a name."""
    types = entity_types(tagging_model(context, "dataset").labels)
    unknown = [kind for kind in params.swaps if kind not in types]
    empty = [kind for kind, names in params.swaps.items() if not any(n.split() for n in names)]
    if unknown or empty:
        raise context.error("swaps", f"unknown entity type(s) {', '.join(map(repr, unknown))} "
                            f"(the model's types: {', '.join(types)})" if unknown else
                            f"no names to swap in for {', '.join(map(repr, empty))}")


def _swapped(dataset: TokenDataset, params: EntityInvarianceParams, seed: int
             ) -> list[tuple[int, Span, list[str]]]:
    """(sentence index, swapped gold span, swapped words) for the first ``max_sentences``
    sentences with a gold entity of a swapped type."""
    rng = random.Random(seed)
    cases = []
    for index, (words, tags) in enumerate(zip(dataset.words, dataset.tags)):
        spans = [s for s in entities(tags) if s[0] in params.swaps]
        if not spans:
            continue
        span = rng.choice(spans)
        original = " ".join(words[span[1]:span[2] + 1])
        names = [n for n in params.swaps[span[0]] if n.split() and n != original]
        if not names:
            continue
        name = rng.choice(names).split()
        cases.append((index, span, [*words[:span[1]], *name, *words[span[2] + 1:]]))
        if len(cases) >= params.max_sentences:
            break
    return cases


def _kept(before: Sequence[str], after: Sequence[str], span: Span, width: int) -> bool:
    """The entities outside the swapped span the same (shifted by the change in length), and
    the swapped name one entity of the span's type exactly when the original name was.
    Compared as entities (seqeval's chunks), not raw tags: ``B-LOC`` and ``I-LOC`` after
    ``O`` are the same entity to the metrics."""
    kind, start, end = span
    shift = width - (end - start + 1)
    outside_before = {(k, s if s < start else s + shift, e if e < start else e + shift)
                      for k, s, e in entities(before) if e < start or s > end}
    last = start + width - 1
    outside_after = {(k, s, e) for k, s, e in entities(after) if e < start or s > last}
    if outside_before != outside_after:
        return False
    was = (kind, start, end) in set(entities(before))
    now = (kind, start, last) in set(entities(after))
    return was == now


CHECK_KINDS = [CheckKind("entity_invariance", EntityInvarianceParams, run_entity_invariance,
                         "NER: entities swapped from a lexicon keep their span and type",
                         prepare=prepare_entity_invariance)]
