"""A ``torch.nn.Module`` token classifier (``adapter: torch``, ``task: token-classification``).

``collate(sentences)`` gets a list of sentences, each a list of words, and returns
``(batch, word_ids)``: the module's input (a tensor or a dict of tensors) and, per sentence,
the word index of each token position (None for special tokens and padding), as a fast
tokenizer's ``word_ids()`` gives it. The module returns logits (or probabilities, with
``outputs: probabilities``) of shape ``(sentences, positions, labels)``; each word takes the
tag of its first position, and a word without one (cut by the collate's truncation) is
tagged ``O``.
"""

from __future__ import annotations

from typing import Any, Sequence

from modeltests.adapters.base import LoadContext, ModelAdapter, Predictions
from modeltests.adapters.token_transformers import single_texts
from modeltests.adapters.torch_module import TorchModel, TorchParams, factory_module, load_torch
from modeltests.errors import ModelOutputError, ModelPredictError
from modeltests.data.inputs import ModelInput
from modeltests.data.tags import TagPredictions


class TokenTorchModel(TorchModel):
    """:meth:`predict_tags` through the user's collate and module."""

    def predict_tags(self, words: Sequence[Sequence[str]]) -> TagPredictions:
        import numpy as np
        import torch

        self.tagged = getattr(self, "tagged", 0) + 1  # latency tells a cold call by it
        tags: list[list[str]] = []
        tables: list[Any] = []
        truncated: list[int] = []
        size = self.params.batch_size
        for start in range(0, len(words), size):
            chunk = [list(w) for w in words[start:start + size]]
            batch, word_ids = self.collate(chunk)
            output = self.forward(_to(batch, self.device))
            if self.params.outputs == "logits":
                output = torch.softmax(output.float(), dim=-1)
            probs = output.detach().double().cpu().numpy()
            if probs.ndim != 3 or probs.shape[-1] != len(self.labels):
                raise ModelOutputError(f"the module returned shape {tuple(probs.shape)}; a token "
                                       f"classifier returns (sentences, positions, "
                                       f"{len(self.labels)})")
            for row, sentence in enumerate(chunk):
                first: dict[int, int] = {}
                for position, word in enumerate(word_ids[row]):
                    if word is not None:
                        first.setdefault(int(word), position)
                table = np.full((len(sentence), len(self.labels)), np.nan)
                for word, position in first.items():
                    if word < len(sentence):
                        table[word] = probs[row, position]
                tags.append([self.labels[int(table[w].argmax())] if w in first else "O"
                             for w in range(len(sentence))])
                tables.append(table)
                truncated.append(len(sentence) - 1 - max(first, default=-1))
            self.batch_done(len(chunk))
        return TagPredictions(tags, list(self.labels), tables, truncated)

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        raise ModelPredictError("this is a token-classification model (model.task): it tags "
                                "words and has no label per text")

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        batch, _ = self.collate([t.split() for t in single_texts(texts)])
        return _to(batch, self.device)

    def with_module(self, module: Any) -> TokenTorchModel:
        return TokenTorchModel(module, self.collate, self.params, self.device)


def _to(batch: Any, device: str) -> Any:
    if isinstance(batch, dict):
        return {k: v.to(device) for k, v in batch.items()}
    return batch.to(device)


def load(params: TorchParams, context: LoadContext) -> ModelAdapter:
    """The registered loader of ``adapter: torch``: a token classifier for
    ``task: token-classification``, else :func:`load_torch`."""
    if params.task == "image-classification":
        from modeltests.adapters.image_torch import load_image_torch

        return load_image_torch(params, context)
    if params.task != "token-classification":
        return load_torch(params, context)
    module, collate, device = factory_module(params, context)
    return TokenTorchModel(module, collate, params, device)
