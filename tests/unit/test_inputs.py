"""Text pairs as model inputs: the helpers every check uses, the HTTP bodies, cache digests."""

from __future__ import annotations

from modeltests.adapters.protocols import plain_body, v2_body
from modeltests.data.inputs import (
    TextPair,
    as_display,
    as_input,
    digest_text,
    length_key,
    map_side,
    map_side_or_none,
    sides,
)


def test_map_side_edits_only_the_chosen_side() -> None:
    pair = TextPair("a premise", "a hypothesis")
    assert map_side(pair, "first", str.upper) == TextPair("A PREMISE", "a hypothesis")
    assert map_side(pair, "second", str.upper) == TextPair("a premise", "A HYPOTHESIS")
    assert map_side(pair, "both", str.upper) == TextPair("A PREMISE", "A HYPOTHESIS")
    assert map_side("one text", "second", str.upper) == "ONE TEXT"


def test_map_side_or_none_is_none_only_when_no_edited_side_changed() -> None:
    pair = TextPair("keep", "edit me")
    only_edit = lambda text: text.upper() if "edit" in text else None  # noqa: E731
    assert map_side_or_none(pair, "first", only_edit) is None
    assert map_side_or_none(pair, "both", only_edit) == TextPair("keep", "EDIT ME")


def test_pairs_show_both_sides_and_come_back_from_tuples_and_lists() -> None:
    assert as_display(TextPair("p", "h")) == "p ⟂ h"
    assert sides(TextPair("p", "h")) == ("p", "h") and sides("t") == ("t",)
    assert as_input(("p", "h")) == TextPair("p", "h") and as_input(["p", "h"]) == ("p", "h")
    assert isinstance(as_input(("p", "h")), TextPair) and as_input("t") == "t"
    assert sorted([TextPair("aaa", "bb"), "abcd", TextPair("a", "b")], key=length_key) == \
        [TextPair("a", "b"), "abcd", TextPair("aaa", "bb")]


def test_digests_tell_where_one_side_ends() -> None:
    assert digest_text(TextPair("ab", "c")) != digest_text(TextPair("a", "bc"))
    assert digest_text("text") == "text"  # single texts keep the keys they had before pairs
    assert digest_text(TextPair("a", "b")) != digest_text("a b")


def test_http_bodies_carry_pairs() -> None:
    pairs = [TextPair("p1", "h1"), TextPair("p2", "h2")]
    assert plain_body(pairs, "texts") == {"texts": [["p1", "h1"], ["p2", "h2"]]}
    assert v2_body(pairs, "text", "text_pair") == {"inputs": [
        {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["p1", "p2"]},
        {"name": "text_pair", "shape": [2], "datatype": "BYTES", "data": ["h1", "h2"]}]}
    assert v2_body(["t"], "text")["inputs"] == [
        {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["t"]}]
