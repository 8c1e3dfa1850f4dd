"""Hypothesis strategies for text models, for suites and for a user's own ``@given`` tests.

>>> from hypothesis import given
>>> from modeltests.strategies import texts
>>> @given(texts())
... def test_answers_anything(text): ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def texts(max_size: int = 200) -> SearchStrategy[str]:
    """Unicode texts of every kind (control characters, emoji, any script), plus word-like ones."""
    from hypothesis import strategies as st

    words = st.lists(st.sampled_from(_WORDS), min_size=0, max_size=30).map(" ".join)
    raw = st.text(st.characters(codec="utf-8"), max_size=max_size)
    return st.one_of(words, raw)


_WORDS = ["good", "bad", "not", "the", "movie", "was", "great", "terrible", "service", "I",
          "loved", "hated", "it", "very", "never", "again", "!", "?", "...", "and", "but"]


def typos(sentence: str, max_edits: int = 3) -> SearchStrategy[str]:
    """Perturbations of ``sentence`` by 1..``max_edits`` character edits (swap, delete, insert,
    substitute). Edits are drawn as ``(kind, position, letter)``, so hypothesis shrinks a
    failing one towards fewer edits near the start of the sentence::

        @given(typos("The service was excellent."))
        def test_typos_keep_label(modeltests, text):
            assert modeltests.predict("suites/sentiment.yaml", [text]).labels == ["positive"]
    """
    return _counted_typos(sentence, max_edits).map(_text)


def insertions(sentence: str, max_words: int = 2,
               words: Sequence[str] | None = None) -> SearchStrategy[str]:
    """``sentence`` with 1..``max_words`` neutral words ("really", "today" ...) inserted."""
    return _counted_insertions(sentence, max_words, words).map(_text)


def perturbations(sentence: str, kinds: Sequence[str] = ("typos", "insertions"),
                  max_edits: int = 3) -> SearchStrategy[str]:
    """Any of the ``kinds`` of perturbation of ``sentence``: "typos", "insertions", or a
    built-in perturbation name from :data:`modeltests.perturb.checklist.PERTURBATIONS` (seeded)."""
    return counted_perturbations(sentence, kinds, max_edits).map(_text)


def counted_perturbations(sentence: str, kinds: Sequence[str] = ("typos", "insertions"),
                          max_edits: int = 3) -> SearchStrategy[tuple[str, int]]:
    """:func:`perturbations` with the number of edits each applied, in the unit ``max_edits``
    counts: one character edit, one inserted word, or one built-in perturbation."""
    from hypothesis import strategies as st

    from modeltests.perturb.checklist import PERTURBATIONS

    options: list[SearchStrategy[tuple[str, int]]] = []
    for kind in kinds:
        if kind == "typos":
            options.append(_counted_typos(sentence, max_edits))
        elif kind == "insertions":
            options.append(_counted_insertions(sentence, max_edits))
        elif kind in PERTURBATIONS:
            options.append(st.integers(0, 2**16).map(_seeded(sentence, kind)).map(
                lambda text: (text, 1)))
        else:
            raise ValueError(f"unknown perturbation {kind!r} (allowed: typos, insertions, "
                             f"{', '.join(PERTURBATIONS)})")
    return st.one_of(options)


def _text(pair: tuple[str, int]) -> str:
    return pair[0]


def _counted_typos(sentence: str, max_edits: int) -> SearchStrategy[tuple[str, int]]:
    from hypothesis import strategies as st

    from modeltests.perturb.checklist import EDIT_KINDS, apply_char_edits

    edit = st.tuples(st.sampled_from(EDIT_KINDS), st.integers(0, max(0, len(sentence) - 1)),
                     st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    return st.lists(edit, min_size=1, max_size=max_edits).map(
        lambda edits: (apply_char_edits(sentence, edits), len(edits)))


def _counted_insertions(sentence: str, max_words: int, words: Sequence[str] | None = None
                        ) -> SearchStrategy[tuple[str, int]]:
    from hypothesis import strategies as st

    from modeltests.perturb.checklist import NEUTRAL_WORDS, insert_words

    pool = list(words) if words is not None else list(NEUTRAL_WORDS)
    insertion = st.tuples(st.integers(0, len(sentence.split(" "))), st.sampled_from(pool))
    return st.lists(insertion, min_size=1, max_size=max_words).map(
        lambda chosen: (insert_words(sentence, chosen), len(chosen)))


def _seeded(sentence: str, kind: str) -> Callable[[int], str]:
    """``seed -> PERTURBATIONS[kind]`` applied to ``sentence`` with that seed (unchanged when the
    perturbation does not apply)."""
    from modeltests.perturb.checklist import perturb

    return lambda seed: perturb(sentence, kind, seed) or sentence
