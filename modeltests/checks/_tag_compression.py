"""``quantization`` and ``pruning`` on a token-classification model.

Both models tag the same sentences of a token dataset; the figures:

=====================  ==========================================  ==============================
metric                 meaning                                     interval
=====================  ==========================================  ==============================
entity_f1_reference    the reference's entity F1 (seqeval micro)   bootstrap over sentences
entity_f1_compressed   the compressed copy's entity F1             bootstrap over sentences
entity_f1_drop         reference - compressed F1                   paired bootstrap (sentences)
tag_agreement          words tagged alike by both, over all words  Wilson
sentence_agreement     sentences tagged alike word for word        Wilson
size_*                 serialized sizes and their ratio            exact
=====================  ==========================================  ==============================

Thresholds: ``max_entity_f1_drop`` and ``min_tag_agreement`` (and the size ratio); the
classification ones (``max_accuracy_drop``, ``min_agreement``, ``max_mean_kl``,
``min_speedup``, ...) do not apply to tags and are refused with a located error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltests.checks._compression import CompressionParams, _add_sizes
from modeltests.checks.entities import span_example, spans_text, tag, token_dataset
from modeltests.result import CheckResult
from modeltests.data.tags import entity_report, entity_types, sentence_counts

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.context import CheckContext

APPLIES = {"entity_f1_drop", "tag_agreement", "size_ratio"}


def compare_tags(context: CheckContext, params: CompressionParams, candidate: ModelAdapter,
                 details: dict[str, Any]) -> CheckResult:
    """The table above for ``candidate`` against the suite's model on ``params.dataset``."""
    from modeltests.stats.proportions import wilson_interval
    from modeltests.stats.entities import METHOD, PAIRED_METHOD, entity_intervals, paired_f1_drop

    _refuse_label_thresholds(context, params)
    reference = context.model()
    dataset = token_dataset(context, params.dataset, reference.labels)
    types = entity_types(reference.labels)
    before = tag(context, reference, dataset.words)
    after = tag(context, candidate, dataset.words)
    counts = [sentence_counts(dataset.tags, p.tags, types) for p in (before, after)]
    reports = [entity_report(c, types) for c in counts]
    words = sum(len(w) for w in dataset.words)
    same_words = sum(a == b for r, c in zip(before.tags, after.tags) for a, b in zip(r, c))
    same_rows = sum(r == c for r, c in zip(before.tags, after.tags))
    result = CheckResult(sample_size=len(dataset), details={**details, "words": words})
    result.metrics = {"entity_f1_reference": reports[0]["f1"],
                      "entity_f1_compressed": reports[1]["f1"],
                      "entity_f1_drop": reports[0]["f1"] - reports[1]["f1"],
                      "tag_agreement": same_words / words if words else 1.0,
                      "sentence_agreement": same_rows / len(dataset)}
    for name, c in (("entity_f1_reference", counts[0]), ("entity_f1_compressed", counts[1])):
        interval = entity_intervals(c, types, context.seed).get("entity_f1")
        if interval is not None:
            result.intervals[name] = interval
        result.interval_methods[name] = METHOD
    drop = paired_f1_drop(counts[0], counts[1], types, context.seed).get("entity_f1_drop")
    if drop is not None:
        result.intervals["entity_f1_drop"] = drop
    result.interval_methods["entity_f1_drop"] = PAIRED_METHOD
    result.intervals["tag_agreement"] = wilson_interval(same_words, words)
    result.intervals["sentence_agreement"] = wilson_interval(same_rows, len(dataset))
    result.interval_methods.update(tag_agreement="wilson", sentence_agreement="wilson")
    _add_sizes(result, reference, candidate)
    result.thresholds = context.evaluate(result.metrics, result.intervals,
                                         methods=result.interval_methods)
    result.warn_unresolved(result.thresholds, len(dataset))
    changed = [i for i in range(len(dataset)) if before.tags[i] != after.tags[i]]
    result.examples = [{**span_example(dataset, before.tags[i], i),
                        "expected": spans_text(dataset.words[i], dataset.tags[i]),
                        "reference": spans_text(dataset.words[i], before.tags[i]),
                        "predicted": spans_text(dataset.words[i], after.tags[i])}
                       for i in changed[:context.max_examples]]
    result.details.update(changed=len(changed), errors=len(changed),
                          per_type={"reference": reports[0]["per_type"],
                                    "compressed": reports[1]["per_type"]})
    return result


def _refuse_label_thresholds(context: CheckContext, params: CompressionParams) -> None:
    for metric, _, _ in params.threshold_limits():
        if metric not in APPLIES:
            key = next(k for k in (f"min_{metric}", f"max_{metric}")
                       if k in type(params).model_fields)
            raise context.error(key, "does not apply to a token-classification model (it "
                                "measures labels per text); use max_entity_f1_drop, "
                                "min_tag_agreement or max_size_ratio")
    if params.slices:
        raise context.error("slices", "slices of a token dataset are not supported")
