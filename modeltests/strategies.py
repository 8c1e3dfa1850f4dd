"""Hypothesis strategies for text models, for suites and for a user's own ``@given`` tests.

>>> from hypothesis import given
>>> from modeltests.strategies import texts
>>> @given(texts())
... def test_answers_anything(text): ...
"""

from __future__ import annotations

from typing import Any


def texts(max_size: int = 200) -> Any:
    """Unicode texts of every kind (control characters, emoji, any script), plus word-like ones."""
    from hypothesis import strategies as st

    words = st.lists(st.sampled_from(_WORDS), min_size=0, max_size=30).map(" ".join)
    raw = st.text(st.characters(codec="utf-8"), max_size=max_size)
    return st.one_of(words, raw)


_WORDS = ["good", "bad", "not", "the", "movie", "was", "great", "terrible", "service", "I",
          "loved", "hated", "it", "very", "never", "again", "!", "?", "...", "and", "but"]
