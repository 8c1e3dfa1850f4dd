"""Hugging Face token classifiers (``task: token-classification``): one BIO tag per word.

Words are tokenized as already split (``is_split_into_words``); each word takes the tag of its
first sub-token (the usual alignment of ``word_ids()``). Words past ``max_length`` tokens, or
that tokenize to nothing (e.g. a lone control character), are tagged ``O`` with no
probabilities (a NaN row); the trailing ones are counted in
:attr:`~modeltests.data.tags.TagPredictions.truncated`, which ``availability`` reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from modeltests.adapters.base import Batching, LoadContext, ModelAdapter, Predictions
from modeltests.adapters.torch_utils import loaded_model_facts
from modeltests.adapters.transformers import (
    TransformersParams,
    _check_against_model,
    load_pretrained,
)
from modeltests.errors import ModelLoadError, ModelPredictError
from modeltests.data.inputs import ModelInput
from modeltests.data.tags import TagPredictions


class TokenTransformersModel(ModelAdapter):
    """A loaded ``AutoModelForTokenClassification``: :meth:`predict_tags` tags words."""

    def __init__(self, model: Any, tokenizer: Any, params: TransformersParams,
                 source: Path | str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.params = params
        self.source = source
        self.device = str(next(model.parameters()).device)
        own = getattr(model.config, "id2label", None) or {}
        self.labels = list(params.labels) if params.labels else [str(own[i]) for i in sorted(own)]
        self.tagged = 0  # calls of predict_tags (latency tells a cold first call by it)

    def predict_tags(self, words: Sequence[Sequence[str]]) -> TagPredictions:
        """One tag per word, from the first sub-token of each word, in ``batch_size`` sentences
        per forward call."""
        self.tagged += 1
        tags: list[list[str]] = []
        probabilities: list[Any] = []
        truncated: list[int] = []
        size = self.params.batch_size
        for start in range(0, len(words), size):
            for row in self._tag_batch([list(w) for w in words[start:start + size]]):
                tags.append(row[0])
                probabilities.append(row[1])
                truncated.append(row[2])
            self.batch_done(min(size, len(words) - start))
        return TagPredictions(tags, list(self.labels), probabilities, truncated)

    def _tag_batch(self, batch: list[list[str]]) -> list[tuple[list[str], Any, int]]:
        import numpy as np

        from modeltests.adapters.torch_utils import probabilities_from_logits

        rows: list[tuple[list[str], Any, int]] = [([], np.zeros((0, len(self.labels))), 0)
                                                  for _ in batch]
        filled = [i for i, sentence in enumerate(batch) if sentence]
        if not filled:  # an empty sentence has no tags; the tokenizer refuses an empty list
            return rows
        encoded = self.tokenizer([batch[i] for i in filled], is_split_into_words=True,
                                 truncation=True, max_length=self.params.max_length,
                                 padding=True, return_tensors="pt")
        logits = self.forward({k: v.to(self.device) for k, v in encoded.items()})
        for position, index in enumerate(filled):
            probs = probabilities_from_logits(logits[position])
            rows[index] = self._align(batch[index], encoded.word_ids(position), probs)
        return rows

    def _align(self, sentence: list[str], word_ids: list[int | None], probs: Any
               ) -> tuple[list[str], Any, int]:
        import numpy as np

        first: dict[int, int] = {}
        for token, word in enumerate(word_ids):
            if word is not None and word not in first:
                first[word] = token
        table = np.full((len(sentence), len(self.labels)), np.nan)
        tags = []
        for word in range(len(sentence)):
            if word in first:
                table[word] = probs[first[word]]
                tags.append(self.labels[int(probs[first[word]].argmax())])
            else:
                tags.append("O")
        seen = max(first, default=-1)
        return tags, table, len(sentence) - 1 - seen

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        raise ModelPredictError(
            "this is a token-classification model (model.task): it tags words and has no label "
            "per text; use kind 'entities' on a token dataset (availability, invariance of kind "
            "'entity_invariance', quantization, pruning and latency also accept it)")

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        batch = self.tokenizer(single_texts(texts), padding=True, truncation=True,
                               max_length=self.params.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward(self, batch: Any) -> Any:
        import torch

        with torch.inference_mode():
            return self.model(**batch).logits

    def batching(self) -> Batching:
        return Batching(self.params.batch_size, sorted_by_length=False)

    def source_files(self) -> list[Path]:
        return [self.source] if isinstance(self.source, Path) else []

    def torch_module(self) -> Any:
        return self.model

    def with_module(self, module: Any) -> TokenTransformersModel:
        clone = TokenTransformersModel(module, self.tokenizer, self.params, self.source)
        clone.labels = list(self.labels)
        return clone

    def describe(self) -> dict[str, Any]:
        return {"adapter": "transformers", "task": "token-classification",
                **loaded_model_facts(self.model, self.source, self.device)}

    def close(self) -> None:
        self.model = None


def single_texts(texts: Sequence[ModelInput]) -> list[str]:
    """``texts`` as plain strings: a token classifier tags one text, never a pair."""
    if any(not isinstance(t, str) for t in texts):
        raise ModelPredictError("a token-classification model takes single texts, not pairs")
    return [str(t) for t in texts]


def load_token_transformers(params: TransformersParams, context: LoadContext
                            ) -> TokenTransformersModel:
    """Load a token classifier (see :func:`~modeltests.adapters.transformers.load_pretrained`);
    aligning tags to words needs a fast tokenizer."""
    tokenizer, model, source = load_pretrained(params, context, "AutoModelForTokenClassification")
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(context.problem(
            "path", f"{source} has a slow (Python) tokenizer; aligning tags to words needs a "
            "fast tokenizer's word_ids() (tokenizer.json)"))
    params = _check_against_model(params, model, context)
    return TokenTransformersModel(model, tokenizer, params, source)
