"""``quantization`` and ``pruning`` on a text generator.

Both models score the documents of ``dataset`` token by token
(:meth:`CheckContext.token_logprobs`, whole next-token distributions), and, with ``prompts``,
answer the prompts greedily (:meth:`CheckContext.generate`). The figures:

=====================  ==========================================  ==============================
metric                 meaning                                     interval
=====================  ==========================================  ==============================
mean_kl                KL(reference || compressed) of the next-    bootstrap over documents
                       token distributions, nats per token
agreement              tokens whose most likely next token is the  bootstrap over documents
                       same for both models
perplexity_reference   corpus token perplexity of the reference    bootstrap over documents
perplexity_compressed  the same for the compressed model           bootstrap over documents
perplexity_ratio       compressed / reference perplexity           paired bootstrap (documents)
accuracy_reference     exact match of the reference's answers      Wilson
accuracy_compressed    exact match of the compressed answers       Wilson
accuracy_drop          reference - compressed exact match          Newcombe (paired), McNemar
relative_accuracy      compressed / reference exact match          paired bootstrap
speedup                reference / compressed seconds to generate  none (a timing)
size_*                 serialized sizes and their ratio            exact
=====================  ==========================================  ==============================

Thresholds: ``max_mean_kl``, ``min_agreement``, ``max_perplexity_ratio``,
``max_accuracy_drop`` / ``min_relative_accuracy`` (with ``prompts``), ``min_speedup`` and
``max_size_ratio``; those about labels per text (``min_batch_agreement``, slices) or tags are
refused with a located error. Tokens of a document are not independent, hence the bootstrap
over documents (:mod:`modeltests.stats.tokens`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from modeltests.checks._compression import CompressionParams, _add_sizes
from modeltests.result import CheckResult

if TYPE_CHECKING:
    from modeltests.adapters.generation import TextGenerator
    from modeltests.context import CheckContext
    from modeltests.stats.tokens import DocumentTotals

REFUSED = {"batch_agreement": "it measures labels per text",
           "entity_f1_drop": "it measures entities of a token classifier",
           "tag_agreement": "it measures tags of a token classifier"}
NEEDS_PROMPTS = ("accuracy_drop", "relative_accuracy")
CHUNK = 8
"""Documents scored per call: a next-token distribution is vocabulary-sized per token, so both
models' distributions are reduced to totals one chunk at a time."""
SPEED_ROUNDS_PROMPTS = 8


def compare_generators(context: CheckContext, params: CompressionParams,
                       candidate: TextGenerator, details: dict[str, Any]) -> CheckResult:
    """The table above for ``candidate`` against the suite's model."""
    from modeltests.stats.tokens import METHOD, METHOD_TEXT, compare_tokens

    reference = context.generator()
    documents = _texts(context, params.dataset, "dataset")
    totals = _score_documents(context, documents, candidate)
    try:
        compared = compare_tokens(totals, context.seed)
    except ValueError as exc:
        raise context.error("dataset", f"{exc} (dataset {params.dataset!r})") from None
    result = CheckResult(metrics=dict(compared.metrics), sample_size=compared.documents,
                         intervals=dict(compared.intervals),
                         details={**details, "documents": compared.documents,
                                  "tokens": compared.tokens, "interval_method": METHOD_TEXT})
    for name in compared.metrics:
        result.interval_methods[name] = METHOD
    result.examples = _worst_documents(documents, totals, context.max_examples)
    if params.prompts is not None:
        _task_accuracy(context, params, params.prompts, candidate, result)
    _add_sizes(result, reference, candidate)
    if params.speed_examples:
        _speedup(context, params, documents, reference, candidate, result)
    result.thresholds = context.evaluate(result.metrics, result.intervals,
                                         methods=result.interval_methods)
    result.warn_unresolved(result.thresholds, compared.documents)
    return result


def refuse_inapplicable(context: CheckContext, params: CompressionParams) -> None:
    """A located error for a threshold about labels or tags, slices, or an accuracy threshold
    without ``prompts``."""
    for metric, _, _ in params.threshold_limits():
        key = next(k for k in (f"min_{metric}", f"max_{metric}") if k in type(params).model_fields)
        if metric in REFUSED:
            raise context.error(key, f"does not apply to a text generator ({REFUSED[metric]}); "
                                "use max_mean_kl, min_agreement, max_perplexity_ratio, "
                                "max_accuracy_drop (with prompts), min_speedup or max_size_ratio")
        if metric in NEEDS_PROMPTS and params.prompts is None:
            raise context.error(key, "needs 'prompts' (a dataset of prompts with expected "
                                "answers) for a text generator: the accuracy is the exact "
                                "match of greedy answers")
    if params.slices:
        raise context.error("slices", "slices are not supported for a text generator")


def _texts(context: CheckContext, name: str, key: str) -> list[str]:
    dataset = context.dataset(name)
    if not len(dataset):
        raise context.error(key, f"dataset {name!r} has no rows to compare on")
    if dataset.is_pairs:
        raise context.error(key, f"dataset {name!r} has two text columns; a text generator "
                            "reads one text per row")
    return [str(text) for text in dataset.texts]


def _score_documents(context: CheckContext, documents: list[str], candidate: TextGenerator
                     ) -> list[DocumentTotals]:
    """Both models' totals per document, scored a chunk of documents at a time."""
    from modeltests.errors import ModelOutputError
    from modeltests.stats.tokens import document_totals

    totals = []
    for start in range(0, len(documents), CHUNK):
        chunk = documents[start:start + CHUNK]
        before = context.token_logprobs(chunk, description="scoring documents (reference)")
        after = context.token_logprobs(chunk, adapter=candidate,
                                       description="scoring documents (compressed)")
        for row, (ref, new) in enumerate(zip(before, after)):
            if ref.token_ids != new.token_ids:
                raise ModelOutputError(f"{context.location('dataset')}: document "
                                       f"{start + row}: the two models tokenized it "
                                       "differently; KL and agreement need the same tokenizer")
            try:
                totals.append(document_totals(ref.token_ids, ref.logprobs, new.logprobs))
            except ValueError as exc:
                raise ModelOutputError(f"{context.location('dataset')}: document "
                                       f"{start + row}: {exc}") from None
    return totals


def _worst_documents(documents: list[str], totals: list[DocumentTotals], count: int
                     ) -> list[dict[str, Any]]:
    """The documents whose tokens moved most (KL per token), largest first."""
    import math

    rows = [i for i, t in enumerate(totals) if t.tokens]
    rows.sort(key=lambda i: (-totals[i].kl / totals[i].tokens, i))
    return [{"text": documents[i][:300], "tokens": totals[i].tokens,
             "mean_kl": totals[i].kl / totals[i].tokens,
             "agreement": totals[i].agree / totals[i].tokens,
             "perplexity_reference": math.exp(totals[i].nll_reference / totals[i].tokens),
             "perplexity_compressed": math.exp(totals[i].nll_candidate / totals[i].tokens)}
            for i in rows[:count]]


def _task_accuracy(context: CheckContext, params: CompressionParams, name: str,
                   candidate: TextGenerator, result: CheckResult) -> None:
    """Greedy answers of both models to the prompts, exact match (stripped), paired."""
    from modeltests.adapters.generation import GenerationRequest
    from modeltests.stats.intervals import bootstrap_paired_ratio
    from modeltests.stats.paired import compare_paired
    from modeltests.stats.proportions import wilson_interval
    import numpy as np

    dataset = context.dataset(name)
    prompts = _texts(context, name, "prompts")
    expected = [label.strip() for label in dataset.labels]
    request = GenerationRequest(max_new_tokens=params.max_new_tokens)
    before = [g.text.strip() for g in context.generate(prompts, request,
                                                       description="answering (reference)")]
    after = [g.text.strip() for g in context.generate(prompts, request, adapter=candidate,
                                                      description="answering (compressed)")]
    paired = compare_paired(expected, before, after)
    ref_right = np.asarray([a == b for a, b in zip(before, expected)])
    new_right = np.asarray([a == b for a, b in zip(after, expected)])
    result.metrics.update(accuracy_reference=paired.accuracy_reference,
                          accuracy_compressed=paired.accuracy_candidate,
                          accuracy_drop=paired.accuracy_drop)
    result.intervals.update(
        accuracy_reference=wilson_interval(int(ref_right.sum()), len(prompts)),
        accuracy_compressed=wilson_interval(int(new_right.sum()), len(prompts)),
        accuracy_drop=paired.drop_interval)
    result.interval_methods.update(accuracy_reference="wilson", accuracy_compressed="wilson",
                                   accuracy_drop="newcombe")
    if paired.relative_accuracy is not None:
        result.metrics["relative_accuracy"] = paired.relative_accuracy
        interval = bootstrap_paired_ratio(ref_right, new_right, context.seed)
        if interval is not None:
            result.intervals["relative_accuracy"] = interval
        result.interval_methods["relative_accuracy"] = "bootstrap-paired"
    changed = [i for i in range(len(prompts)) if before[i] != after[i]]
    rank = {"broke": 0, "changed": 1, "fixed": 2}

    def kind(i: int) -> str:
        return "broke" if ref_right[i] else "fixed" if new_right[i] else "changed"

    changed.sort(key=lambda i: (rank[kind(i)], i))
    result.details["answers"] = {"prompts": len(prompts), "dataset": name,
                                 "match": "exact, after stripping whitespace",
                                 "max_new_tokens": params.max_new_tokens,
                                 "changed": len(changed), "mcnemar": paired.mcnemar}
    result.examples = [{"text": prompts[i], "expected": expected[i], "change": kind(i),
                        "reference": before[i], "predicted": after[i]}
                       for i in changed[:context.max_examples]] + result.examples


def _speedup(context: CheckContext, params: CompressionParams, documents: Sequence[str],
             reference: TextGenerator, candidate: TextGenerator, result: CheckResult) -> None:
    """Both models generate ``max_new_tokens`` greedily from the same prompts (the first words
    of the documents), ``speed_rounds`` rounds alternating which goes first; ``speedup`` =
    median reference seconds / median compressed seconds."""
    import statistics

    from modeltests.adapters.generation import GenerationRequest
    from modeltests.measure.timing import current_torch_threads

    prompts = [" ".join(d.split()[:8]) for d in documents[:min(params.speed_examples,
                                                               SPEED_ROUNDS_PROMPTS)]]
    request = GenerationRequest(max_new_tokens=params.max_new_tokens)
    models = (reference, candidate)
    for model in models:  # warm-up: first calls allocate and pick kernels
        context.generate(prompts[:1], request, adapter=model, description="warming up")
    seconds: list[list[float]] = [[], []]
    for round_index in range(params.speed_rounds):
        for which in ((0, 1) if round_index % 2 == 0 else (1, 0)):
            started = time.perf_counter()
            context.generate(prompts, request, adapter=models[which], description="timing")
            seconds[which].append(time.perf_counter() - started)
    ref_s, new_s = statistics.median(seconds[0]), statistics.median(seconds[1])
    result.metrics["speedup"] = ref_s / new_s if new_s > 0 else float("inf")
    result.details["speed"] = {"mode": "generate", "prompts": len(prompts),
                               "max_new_tokens": params.max_new_tokens,
                               "rounds": params.speed_rounds, "reference_seconds": seconds[0],
                               "compressed_seconds": seconds[1],
                               "torch_threads": current_torch_threads()}
