"""``entities``: entity-level precision, recall and F1 of a token classifier (NER).

The scores are seqeval's default ones (:mod:`modeltests.data.tags`): an entity counts as found
when its type and its first and last word match a gold entity exactly; precision, recall and F1
are micro averages over all entities, and the same per entity type. Each has a 95% interval
from a seeded percentile bootstrap over sentences (:mod:`modeltests.stats.entities`).

Why a kind of its own rather than ``accuracy`` on a token dataset: the thresholds differ
(entities, not labels per row; per-type limits keyed by entity type), and a suite that puts
``min_accuracy`` on a token dataset gets an error naming this kind instead of a number that
means something else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from pydantic import Field

from modeltests.context import CheckContext
from modeltests.errors import DatasetError
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold
from modeltests.data.tags import (
    TagPredictions,
    entities,
    entity_report,
    entity_types,
    is_tagger,
    sentence_counts,
)

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.data.datasets import TokenDataset


class EntitiesParams(SeededParams):
    """Entity-level scores of a token-classification model on a token dataset."""

    kind: str = "entities"
    dataset: str = Field(description="Name of a token dataset under 'datasets:' (tokens_column "
                         "and tags_column, or format: conll).")
    min_entity_f1: float | None = threshold("Lowest micro F1 over all entities.", ge=0, le=1)
    min_entity_precision: float | None = threshold("Lowest micro entity precision.", ge=0, le=1)
    min_entity_recall: float | None = threshold("Lowest micro entity recall.", ge=0, le=1)
    min_entity_f1_per_type: dict[str, float] = Field(
        default_factory=dict, description="Lowest F1 per entity type, e.g. {PER: 0.8, LOC: 0.7} "
        "(metric entity_f1.<TYPE>).")


def run_entities(context: CheckContext, params: EntitiesParams) -> CheckResult:
    """Tag the dataset's sentences, score the spans, gate on the thresholds."""
    import numpy as np

    model = tagging_model(context, "dataset")
    dataset = token_dataset(context, params.dataset, model.labels)
    types = entity_types(model.labels)
    predictions = tag(context, model, dataset.words)
    counts = sentence_counts(dataset.tags, predictions.tags, types)
    report = entity_report(counts, types)
    metrics, intervals, methods = entity_metrics(report, counts, types, context.seed)
    result = CheckResult(metrics=metrics, sample_size=len(dataset), intervals=intervals,
                         interval_methods=methods)
    limits = [(f"entity_f1.{kind}", ">=", float(limit))
              for kind, limit in params.min_entity_f1_per_type.items()]
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    result.thresholds += context.evaluate(metrics, intervals, limits=limits, methods=methods)
    wrong = [i for i in range(len(dataset))
             if set(entities(dataset.tags[i])) != set(entities(predictions.tags[i]))]
    result.examples = [span_example(dataset, predictions.tags[i], i)
                       for i in wrong[:context.max_examples]]
    result.warn_unresolved(result.thresholds, len(dataset))
    unused = [label for label in model.labels if label not in dataset.tag_set()]
    result.details = {"errors": len(wrong), "sentences": len(dataset),
                      "gold_entities": report["support"],
                      "predicted_entities": report["predicted"], "per_type": report["per_type"],
                      "labels_not_in_dataset": unused, "scheme": "IOB2 (seqeval default "
                      "chunking)", "interval_method": methods.get("entity_f1", ""),
                      "invalid_predicted_sequences": int(np.sum(
                          [bool(_breaks_bio(t)) for t in predictions.tags]))}
    if not result.thresholds:  # otherwise the summary shows the thresholds
        result.headline = _headline(report)
    return result


def prepare_entities(context: CheckContext, params: EntitiesParams) -> None:
    """At setup, before the model runs: a token model, and per-type thresholds on its types."""
    types = entity_types(tagging_model(context, "dataset").labels)
    unknown = [t for t in params.min_entity_f1_per_type if t not in types]
    if unknown:
        raise context.error("min_entity_f1_per_type", f"unknown entity type(s) "
                            f"{', '.join(map(repr, unknown))} (the model's types: "
                            f"{', '.join(types)})")


def _breaks_bio(tags: Sequence[str]) -> bool:
    from modeltests.data.tags import bio_problems

    return bool(bio_problems(tags))


def _headline(report: dict[str, Any]) -> str:
    per_type = ", ".join(f"{kind} {values['f1']:.3f}" for kind, values in
                         report["per_type"].items())
    return (f"entity_f1={report['f1']:.3f} (P {report['precision']:.3f}, R "
            f"{report['recall']:.3f}; {per_type})")


def entity_metrics(report: dict[str, Any], counts: Any, types: Sequence[str], seed: int
                   ) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, str]]:
    """Metrics named ``entity_f1``, ``entity_precision``, ``entity_recall`` and per type
    ``entity_f1.<TYPE>`` (and precision / recall), with bootstrap intervals; counts exact."""
    from modeltests.stats.entities import METHOD, entity_intervals

    metrics = {"entity_f1": report["f1"], "entity_precision": report["precision"],
               "entity_recall": report["recall"]}
    for kind, values in report["per_type"].items():
        for figure in ("f1", "precision", "recall"):
            metrics[f"entity_{figure}.{kind}"] = values[figure]
    metrics.update(sentences=float(len(counts)), gold_entities=float(report["support"]),
                   predicted_entities=float(report["predicted"]))
    intervals = entity_intervals(counts, types, seed)
    methods = {name: METHOD for name in metrics}
    methods.update(sentences="exact", gold_entities="exact", predicted_entities="exact")
    return metrics, intervals, methods


def tagging_model(context: CheckContext, key: str, name: str | None = None) -> ModelAdapter:
    """The suite's model (or ``models.<name>``), which must tag words."""
    model = context.model(name)
    if not is_tagger(model):
        raise context.error(key, f"{context.identity.kind} on a token dataset needs a "
                            "token-classification model (model.task: token-classification); "
                            f"{type(model).__name__} predicts one label per text")
    return model


def token_dataset(context: CheckContext, name: str, model_labels: Sequence[str]
                  ) -> TokenDataset:
    """The token dataset ``name``, its tags checked against the model's labels."""
    from modeltests.data.datasets import TokenDataset

    dataset = context.dataset(name)
    if not isinstance(dataset, TokenDataset):
        raise context.error("dataset", f"{name!r} is not a token dataset (set tokens_column and "
                            "tags_column, or format: conll, under datasets)")
    problem = dataset.tag_set_problem(model_labels, context.location("dataset"))
    if problem is not None:
        raise DatasetError(problem)
    return dataset


def tag(context: CheckContext, model: ModelAdapter, words: Sequence[Sequence[str]]
        ) -> TagPredictions:
    """``model`` tags ``words`` through the check's context (validated, located errors)."""
    return context.run_tagger(model, words)


def spans_text(words: Sequence[str], tags: Sequence[str]) -> str:
    """``Anna Schmidt/PER; Paris/LOC`` (``none`` without entities)."""
    found = [f"{' '.join(words[s:e + 1])}/{kind}" for kind, s, e in entities(tags)]
    return "; ".join(found) if found else "none"


def span_example(dataset: TokenDataset, predicted: Sequence[str], index: int
                 ) -> dict[str, Any]:
    """A sentence with its gold and predicted spans, and where it is in the file."""
    words = dataset.words[index]
    return {"text": " ".join(words), "expected": spans_text(words, dataset.tags[index]),
            "predicted": spans_text(words, predicted), "line": dataset.lines[index]}


CHECK_KINDS = [CheckKind("entities", EntitiesParams, run_entities,
                         "entity-level precision / recall / F1 (seqeval), per entity type",
                         prepare=prepare_entities)]
