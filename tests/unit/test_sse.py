"""The server-sent events parser against the standard's own examples and every line ending,
fed whole and one byte at a time."""

from __future__ import annotations

import pytest

from modeltests.adapters.sse import Event, EventParser
from modeltests.errors import ModelOutputError


def events(stream: bytes, *, bytewise: bool = False) -> list[Event]:
    parser = EventParser()
    pieces = [stream[i:i + 1] for i in range(len(stream))] if bytewise else [stream]
    found = [event for piece in pieces for event in parser.feed(piece)]
    last = parser.close()  # a CR at the very end waits for a possible LF until the stream ends
    return found if last is None else [*found, last]


@pytest.mark.parametrize("bytewise", [False, True])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_and_any_split(newline: bytes, bytewise: bool) -> None:
    stream = newline.join([b": a comment", b"data: first", b"data:second", b"", b"event: add",
                           b"id: 7", b"data:  two spaces", b"", b"data", b"", b""])
    assert events(stream, bytewise=bytewise) == [
        Event("first\nsecond"), Event(" two spaces", "add", "7"), Event("", id="7")]


def test_the_standards_examples() -> None:
    # "data:test" and "data: test" are the same; a lone "data" line is an empty data line; the
    # last event, not ended by a blank line, comes from close() (the standard discards it).
    assert events(b"data\n\ndata\ndata\n\ndata:\n") == [Event(""), Event("\n"), Event("")]
    assert events(b"data:test\n\ndata: test\n\n") == [Event("test"), Event("test")]


def test_unknown_fields_are_ignored_and_counted() -> None:
    parser = EventParser()
    assert parser.feed(b"hello world\n<html>\n\n") == []
    assert (parser.ignored, parser.ignored_lines) == (2, ["hello world", "<html>"])


def test_an_unfinished_event_is_kept_for_close() -> None:
    parser = EventParser()
    assert parser.feed(b'data: {"error": "boom"}') == []
    assert parser.close() == Event('{"error": "boom"}')
    assert parser.close() is None


def test_utf8_split_across_chunks() -> None:
    text = "data: café ☕\n\n".encode()
    assert events(text, bytewise=True) == [Event("café ☕")]


def test_a_line_that_never_ends_is_refused() -> None:
    parser = EventParser(max_line_bytes=10)
    with pytest.raises(ModelOutputError, match="a line longer than 10 characters"):
        parser.feed(b"data: " + b"x" * 20)
