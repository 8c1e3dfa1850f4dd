"""``perplexity``: how well a language model predicts a file of documents.

Each document is scored from the model's start token (:meth:`TextGenerator.rolling_logprob`:
windows of the model's context, each predicting ``stride`` new tokens; lm-eval's
``loglikelihood_rolling`` when ``stride`` is unset). Over the whole file, with ``LL`` the summed
log-probability (natural log):

- ``perplexity`` (per token) = exp(-LL / tokens): depends on the tokenizer;
- ``word_perplexity`` = exp(-LL / words), words as lm-eval counts them (``re.split(r"\\s+")``);
- ``byte_perplexity`` = exp(-LL / UTF-8 bytes) and ``bits_per_byte`` = -LL / bytes / ln 2:
  comparable across tokenizers.

These are lm-eval's ``wikitext`` metrics (weighted by words and bytes, not averaged per
document). Tokens within a document are not independent, so the 95% intervals come from a
percentile bootstrap over documents (:func:`~modeltests.stats.intervals.bootstrap_rows`). The
report's examples are the documents the model found hardest (highest bits per byte).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import Field

from modeltests.context import CheckContext
from modeltests.errors import SuiteError
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from modeltests.data.datasets import PromptDataset

METRICS = ("perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte")


class PerplexityParams(SeededParams):
    """Perplexity and bits per byte of a generator over a dataset of documents."""

    kind: str = "perplexity"
    dataset: str = Field(description="Name of a dataset under 'datasets:' with "
                         "document_column (each row a document) or prompt_column (each prompt "
                         "scored as a document).")
    stride: int | None = Field(
        default=None, ge=1, description="New tokens each window predicts when a document is "
        "longer than the model's context (each window is the context long). Unset: the whole "
        "context (disjoint windows, as lm-eval); smaller: every token predicted with more "
        "context, at more forward passes.")
    max_perplexity: float | None = threshold("Highest token perplexity (depends on the "
                                             "tokenizer).", ge=1)
    max_word_perplexity: float | None = threshold("Highest word perplexity.", ge=1)
    max_byte_perplexity: float | None = threshold("Highest byte perplexity.", ge=1)
    max_bits_per_byte: float | None = threshold("Highest bits per UTF-8 byte "
                                                "(tokenizer-independent).", ge=0)


def word_count(text: str) -> int:
    """Words as lm-eval's ``wikitext`` counts them: pieces of ``re.split(r"\\s+", text)``."""
    return len(re.split(r"\s+", text))


def run_perplexity(context: CheckContext, params: PerplexityParams) -> CheckResult:
    """Score every document, then the file's perplexities and their bootstrap intervals."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_rows

    dataset = _documents(context, params)
    scores = context.rolling_logprob(dataset.prompts, stride=params.stride,
                                     description="scoring documents")
    logprob = np.array([s.logprob for s in scores], dtype=np.float64)
    units = {"perplexity": np.array([s.tokens for s in scores], dtype=np.float64),
             "word_perplexity": np.array([word_count(t) for t in dataset.prompts], dtype=np.float64),
             "byte_perplexity": np.array([len(t.encode("utf-8")) for t in dataset.prompts],
                                         dtype=np.float64)}

    def statistics(weights: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        total = weights @ logprob
        out = {name: np.exp(-total / (weights @ count)) for name, count in units.items()}
        out["bits_per_byte"] = -total / (weights @ units["byte_perplexity"]) / math.log(2)
        return out

    whole = {name: float(value[0]) for name, value in statistics(np.ones((1, len(logprob))))
             .items()}
    intervals = bootstrap_rows(len(logprob), statistics, context.seed)
    methods = {name: "bootstrap-percentile" for name in intervals}
    result = CheckResult(metrics=dict(whole), sample_size=len(logprob), intervals=intervals,
                         interval_methods=methods)
    result.metrics.update({"documents": float(len(logprob)), "tokens": float(units[
        "perplexity"].sum()), "windows": float(sum(s.windows for s in scores))})
    result.thresholds = context.evaluate(whole, intervals, methods=methods)
    result.warn_unresolved(result.thresholds, len(logprob))
    result.examples = _hardest(dataset, logprob, units["byte_perplexity"], context.max_examples)
    result.details["definitions"] = {
        "perplexity": "exp(-sum log p / tokens), tokens of the model's tokenizer, each document "
                      "scored from the start token (bos, else eos)",
        "word_perplexity": "exp(-sum log p / words), words = re.split(r'\\s+', document)",
        "byte_perplexity": "exp(-sum log p / UTF-8 bytes)",
        "bits_per_byte": "-sum log p / UTF-8 bytes / ln 2",
        "windows": f"documents longer than the context in windows of the context predicting "
                   f"{params.stride or 'context-many'} new tokens each (lm-eval: disjoint)",
        "intervals": "95% percentile bootstrap over documents, 1,000 seeded resamples",
    }
    return result


def _documents(context: CheckContext, params: PerplexityParams) -> PromptDataset:
    from modeltests.data.datasets import PromptDataset

    dataset = context.dataset(params.dataset)
    if not isinstance(dataset, PromptDataset):
        raise SuiteError(f"{context.location('dataset')}: checks[{context.identity.index}]."
                         f"dataset: perplexity scores documents; dataset {params.dataset!r} "
                         "is a labelled dataset: set document_column (or prompt_column) on it")
    return dataset


def _hardest(dataset: PromptDataset, logprob: NDArray[np.float64], size: NDArray[np.float64],
             count: int) -> list[dict[str, Any]]:
    """The documents with the most bits per byte: what the model predicts worst."""
    bits = -logprob / size / math.log(2)
    order = sorted(range(len(bits)), key=lambda i: -float(bits[i]))
    return [{"text": dataset.prompts[i][:300], "bits_per_byte": float(bits[i]),
             "logprob": float(logprob[i])} for i in order[:count]]


CHECK_KINDS = [CheckKind("perplexity", PerplexityParams, run_perplexity,
                         "token and word perplexity, bits per byte over documents (bootstrap)",
                         task="generation")]
