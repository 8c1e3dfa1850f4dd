"""Token classification (NER): what a tagging model answers, BIO tags, and entity spans.

A token-classification model tags words, not texts. Its adapter answers
:meth:`TaggingModel.predict_tags` besides the usual :class:`~modeltests.adapters.base.ModelAdapter`
methods; the ``entities`` check and the token branches of ``availability``, ``quantization``
and ``pruning`` call it. A user's own tagger::

    # conftest.py
    from modeltests import ModelAdapter
    from modeltests.data.tags import TagPredictions

    class Capitalised(ModelAdapter):
        labels = ["O", "B-PER", "I-PER"]

        def predict_tags(self, words):
            tags = [["B-PER" if w[:1].isupper() else "O" for w in row] for row in words]
            return TagPredictions(tags=tags, label_names=self.labels)

Rules an answer must follow (checked by :func:`validate_tags`): one row per input sentence,
one tag per input word (a word the model could not see, e.g. past its ``max_length``, is
tagged ``O`` and counted in ``truncated``), every tag one of ``label_names``.

An adapter may count its ``predict_tags`` calls in an attribute ``tagged``: the token checks
call it directly, and ``latency`` reads the count to tell whether its first call is a cold one.

Entity spans follow seqeval's default (conlleval) chunking, :func:`entities`: an ``I-X`` that
follows ``O`` or another type starts a new entity, as seqeval does without ``mode="strict"``.
Gold tags of a dataset must be strict IOB2 (:func:`bio_problems`); predicted tags may break
it, which ``availability`` reports and the metrics score as seqeval does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

from typing_extensions import TypeIs

from modeltests.errors import ModelOutputError

if TYPE_CHECKING:
    import numpy as np

Span = tuple[str, int, int]
"""An entity: ``(type, first word, last word)``, word indices inclusive (seqeval's form)."""


@dataclass
class TagPredictions:
    """One tag per word per sentence, in input order.

    ``probabilities`` (optional) holds per sentence an array ``(words, len(label_names))``;
    ``truncated`` per sentence the number of trailing words the model did not see (tagged
    ``O``), all zeros when unknown.
    """

    tags: list[list[str]]
    label_names: list[str]
    probabilities: list[np.ndarray] | None = None
    truncated: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tags)

    def subset(self, indices: Sequence[int]) -> TagPredictions:
        """The sentences at ``indices``, in that order."""
        probs = None if self.probabilities is None else [self.probabilities[i] for i in indices]
        cut = [self.truncated[i] for i in indices] if self.truncated else []
        return TagPredictions([self.tags[i] for i in indices], self.label_names, probs, cut)


@runtime_checkable
class TaggingModel(Protocol):
    """A model that tags words: ``predict_tags(sentences of words) -> TagPredictions``."""

    labels: list[str]

    def predict_tags(self, words: Sequence[Sequence[str]]) -> TagPredictions: ...


def is_tagger(adapter: object) -> TypeIs[TaggingModel]:
    """Whether ``adapter`` is a token-classification model (answers ``predict_tags``)."""
    return callable(getattr(adapter, "predict_tags", None))


def validate_tags(predictions: object, words: Sequence[Sequence[str]],
                  labels: Sequence[str]) -> TagPredictions:
    """``predictions`` if it answers ``words`` by the rules above, else ModelOutputError naming
    the first sentence that breaks them."""
    if not isinstance(predictions, TagPredictions):
        raise ModelOutputError(f"predict_tags returned {type(predictions).__name__}, not "
                               "TagPredictions")
    if len(predictions.tags) != len(words):
        raise ModelOutputError(f"predict_tags answered {len(predictions.tags)} sentences for "
                               f"{len(words)}")
    known = set(labels)
    for row, (tags, sentence) in enumerate(zip(predictions.tags, words)):
        if len(tags) != len(sentence):
            raise ModelOutputError(f"sentence {row}: {len(tags)} tags for {len(sentence)} words")
        unknown = sorted({t for t in tags if t not in known})
        if unknown:
            raise ModelOutputError(f"sentence {row}: tag(s) {', '.join(map(repr, unknown))} are "
                                   f"not labels of the model ({', '.join(labels)})")
    return predictions


def split_tag(tag: str) -> tuple[str, str]:
    """``("B", "PER")`` for ``B-PER``; ``("O", "")`` for ``O``; a tag without a type keeps
    ``_`` as its type (seqeval's convention)."""
    if tag == "O":
        return "O", ""
    return tag[:1], tag[1:].split("-", maxsplit=1)[-1] or "_"


def bio_problems(tags: Sequence[str]) -> list[str]:
    """Why ``tags`` is not strict IOB2, one message per bad tag (empty when valid): each tag is
    ``O``, ``B-TYPE`` or ``I-TYPE``, and ``I-TYPE`` continues a ``B-TYPE`` / ``I-TYPE`` of the
    same type (IOB1's ``I-`` after ``O`` is refused: it is ambiguous between the schemes)."""
    problems = []
    previous = "O"
    for position, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        if tag != "O" and (prefix not in ("B", "I") or len(tag) < 3 or tag[1] != "-"):
            problems.append(f"tag {tag!r} at word {position} is not O, B-TYPE or I-TYPE")
        elif prefix == "I":
            before, before_kind = split_tag(previous)
            if before == "O" or before_kind != kind:
                problems.append(f"tag {tag!r} at word {position} follows {previous!r} (an I- tag "
                                f"must continue B-{kind} or I-{kind})")
        previous = tag
    return problems


def entity_types(labels: Sequence[str]) -> list[str]:
    """The entity types named by BIO labels, sorted (``B-PER``, ``I-PER`` -> ``PER``)."""
    return sorted({split_tag(label)[1] for label in labels if label != "O"})


def entities(tags: Sequence[str]) -> list[Span]:
    """The entity spans of one sentence's tags, as seqeval's default ``get_entities`` finds
    them (conlleval's chunk rules, also for IOBES prefixes)."""
    chunks: list[Span] = []
    previous, previous_kind, begin = "O", "", 0
    for index, tag in enumerate([*tags, "O"]):
        prefix, kind = split_tag(tag)
        if _ends(previous, prefix, previous_kind, kind):
            chunks.append((previous_kind, begin, index - 1))
        if _starts(previous, prefix, previous_kind, kind):
            begin = index
        previous, previous_kind = prefix, kind
    return chunks


def _ends(previous: str, tag: str, previous_kind: str, kind: str) -> bool:
    if previous in ("E", "S"):
        return True
    if previous in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return previous not in ("O", ".") and previous_kind != kind


def _starts(previous: str, tag: str, previous_kind: str, kind: str) -> bool:
    if tag in ("B", "S"):
        return True
    if previous in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and previous_kind != kind


def sentence_counts(truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                    types: Sequence[str]) -> np.ndarray:
    """Per sentence and entity type: ``[correct, predicted, gold]`` entity counts, shape
    ``(sentences, len(types), 3)``; types outside ``types`` are not counted."""
    import numpy as np

    column = {kind: i for i, kind in enumerate(types)}
    counts = np.zeros((len(truth), len(types), 3), dtype=np.int64)
    for row, (gold_tags, predicted_tags) in enumerate(zip(truth, predicted)):
        gold, guess = set(entities(gold_tags)), set(entities(predicted_tags))
        for which, spans in enumerate((gold & guess, guess, gold)):
            for kind, _, _ in spans:
                if kind in column:
                    counts[row, column[kind], which] += 1
    return counts


def scores(correct: Any, predicted: Any, gold: Any) -> tuple[Any, Any, Any]:
    """Precision, recall and F1 from entity counts (numbers or arrays), seqeval's way: 0 where
    a denominator is 0."""
    import numpy as np

    c, p, g = (np.asarray(x, dtype=np.float64) for x in (correct, predicted, gold))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(p > 0, c / np.where(p > 0, p, 1), 0.0)
        recall = np.where(g > 0, c / np.where(g > 0, g, 1), 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    return precision, recall, f1


def entity_report(counts: np.ndarray, types: Sequence[str]) -> dict[str, Any]:
    """Micro precision / recall / F1 over all entities and the same per type, with counts."""
    totals = counts.sum(axis=0)
    precision, recall, f1 = scores(totals[:, 0].sum(), totals[:, 1].sum(), totals[:, 2].sum())
    per_p, per_r, per_f = scores(totals[:, 0], totals[:, 1], totals[:, 2])
    per_type = {kind: {"precision": float(per_p[i]), "recall": float(per_r[i]),
                       "f1": float(per_f[i]), "correct": int(totals[i, 0]),
                       "predicted": int(totals[i, 1]), "support": int(totals[i, 2])}
                for i, kind in enumerate(types)}
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "correct": int(totals[:, 0].sum()), "predicted": int(totals[:, 1].sum()),
            "support": int(totals[:, 2].sum()), "per_type": per_type}
