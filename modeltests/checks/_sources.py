"""Where the sentence-level checks get their sentences, and the one seeded sample they all take.

:class:`TextSource` is the parameter block of ``invariance``, ``directional`` and
``property_search``: a dataset (optionally one gold label) or inline texts, ``samples``, ``seed``.
:func:`source_texts` reads it through the :class:`CheckContext`; :func:`sample_indices` is the
seeded sample behind it (and behind ``robustness`` and template expansion), kept in source order.
"""

from __future__ import annotations

import random
from typing import Literal, Sequence

from pydantic import Field, model_validator

from modeltests.context import CheckContext
from modeltests.data.inputs import ModelInput, Side, any_pairs
from modeltests.result import SeededParams, threshold


class TextSource(SeededParams):
    """Where the sentences come from: a dataset (optionally one gold label) or inline texts."""

    dataset: str | None = Field(default=None, description="Name of a dataset under 'datasets:'.")
    texts: list[str] | None = Field(default=None, min_length=1, description="Inline sentences.")
    only_label: str | None = Field(default=None,
                                   description="Keep only dataset rows with this gold label.")
    samples: int = Field(default=100, ge=1, le=100_000,
                         description="Sentences sampled (seeded) from the source.")
    min_pass_rate: float | None = threshold("Lowest share of cases that pass.", ge=0, le=1)
    side: Literal["first", "second", "both"] | None = Field(
        default=None, description="For a dataset of text pairs: which side the edits apply to "
        "(first, second or both; default second, e.g. the hypothesis or the answer). An error "
        "on a dataset of single texts.")

    @model_validator(mode="after")
    def _one_source(self) -> TextSource:
        if (self.dataset is None) == (self.texts is None):
            raise ValueError("set exactly one of 'dataset' or 'texts'")
        if self.only_label is not None and self.dataset is None:
            raise ValueError("'only_label' needs 'dataset'")
        return self


def sample_indices(size: int, wanted: int, seed: int) -> list[int]:
    """``wanted`` of ``range(size)``, a seeded sample in ascending order (all when fewer)."""
    if wanted >= size:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), wanted))


def source_texts(context: CheckContext, params: TextSource) -> list[ModelInput]:
    """The sentences to test: inline texts, or a seeded sample of a dataset (in dataset order)."""
    texts: list[ModelInput]
    if params.texts is not None:
        texts = list(params.texts)
    else:
        dataset = context.dataset(params.dataset or "")
        texts = dataset.texts
        if params.only_label is not None:
            check_known_label(context, "only_label", params.only_label,
                              sorted(set(dataset.labels)))
            texts = [t for t, y in zip(dataset.texts, dataset.labels) if y == params.only_label]
    return [texts[i] for i in sample_indices(len(texts), params.samples, context.seed)]


def prepare_side(context: CheckContext, params: TextSource) -> None:
    """Setup of the sentence-level kinds: ``side`` needs a dataset of text pairs (an ERROR in
    the suite, before any model runs)."""
    if params.side is None:
        return
    pairs = params.dataset is not None and context.dataset(params.dataset).is_pairs
    if not pairs:
        raise context.error("side", f"side: {params.side} applies to a dataset of text pairs "
                            "(text_column: [first, second]); these are single texts (remove "
                            "side, or name two text columns)")


def edited_side(context: CheckContext, params: TextSource, texts: Sequence[ModelInput]) -> Side:
    """Which side of a pair the check edits: ``side`` (default ``second``). Setting ``side``
    for single texts is a located error: the suite expects pairs it does not have."""
    if params.side is not None and texts and not any_pairs(texts):
        raise context.error("side", f"side: {params.side} applies to a dataset of text pairs "
                            "(text_column: [first, second]); these are single texts (remove "
                            "side, or name two text columns)")
    return params.side or "second"


def check_known_label(context: CheckContext, key: str, label: str, labels: Sequence[str]) -> None:
    """Raise a located error at ``key`` when ``label`` is not among ``labels``."""
    if label not in labels:
        from modeltests.support.text import close_matches

        hint = close_matches(label, labels)
        raise context.error(key, f"unknown label {label!r} (labels: {', '.join(labels)})"
                            + (f"; did you mean {hint[0]!r}?" if hint else ""))
