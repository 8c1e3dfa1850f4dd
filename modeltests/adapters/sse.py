"""Server-sent events (the WHATWG HTML standard, section "Server-sent events"), parsed
incrementally from the bytes of a streamed answer.

The stream is UTF-8 text split into lines by CRLF, LF or CR. A blank line dispatches the event
built so far; a line starting with ``:`` is a comment; any other line is ``field: value`` (one
space after the colon is dropped; a line without a colon is a field with an empty value).
``data`` lines append their value and a newline to the event's data (the last newline is
removed at dispatch); ``event`` names the event, ``id`` sets the last event id, ``retry`` is
ignored here; other fields are ignored, as the standard says, and counted so that a stream of
nothing but malformed lines can be reported as such. An event with no data is not dispatched;
an event not ended by a blank line when the stream closes is discarded by the standard, but
:meth:`EventParser.close` returns it (``transformers serve`` ends a stream with an error event
that no blank line follows: its message is worth reading).

A line may grow only to ``max_line_bytes``: a server that streams without ever ending a line
cannot fill the memory.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from modeltests.errors import ModelOutputError


@dataclass(frozen=True)
class Event:
    """One dispatched event: its ``data`` (lines joined by newlines), type and last id."""

    data: str
    event: str = "message"
    id: str = ""


class EventParser:
    """Feed it the stream's bytes as they come; it returns the events each piece completes."""

    def __init__(self, max_line_bytes: int = 1_000_000) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text after the last line break
        self._data: list[str] = []
        self._event = ""
        self._last_id = ""
        self._max_line = max_line_bytes
        self.ignored_lines: list[str] = []
        """Lines whose field the standard ignores (a few kept for messages)."""
        self.ignored = 0

    def feed(self, chunk: bytes) -> list[Event]:
        """The events completed by ``chunk``."""
        text = self._pending + self._decoder.decode(chunk)
        events: list[Event] = []
        start = 0
        while True:
            cut = _line_break(text, start)
            if cut is None:
                break
            end, after = cut
            if end == len(text) - 1 and text[end] == "\r":  # CR at the end: CRLF may follow
                break
            event = self._line(text[start:end])
            if event is not None:
                events.append(event)
            start = after
        self._pending = text[start:]
        if len(self._pending) > self._max_line:
            raise ModelOutputError(f"the event stream sent a line longer than "
                                   f"{self._max_line:,} characters without ending it")
        return events

    def close(self) -> Event | None:
        """At the end of the stream: the event left unfinished (no blank line after it), if
        any."""
        pending, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        if pending:  # one line, perhaps ended by a CR that waited for an LF
            event = self._line(pending.rstrip("\r"))
            if event is not None:
                return event
        return self._dispatch()

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field != "retry":
            self.ignored += 1
            if len(self.ignored_lines) < 3:
                self.ignored_lines.append(line[:80])
        return None

    def _dispatch(self) -> Event | None:
        data, name = self._data, self._event or "message"
        self._data, self._event = [], ""
        if not data:
            return None
        return Event("\n".join(data), name, self._last_id)


def _line_break(text: str, start: int) -> tuple[int, int] | None:
    """Where the next line of ``text`` from ``start`` ends, and where the line after starts."""
    lf = text.find("\n", start)
    cr = text.find("\r", start, lf if lf >= 0 else len(text))
    if cr >= 0:
        return cr, cr + 2 if text.startswith("\n", cr + 1) else cr + 1
    if lf >= 0:
        return lf, lf + 1
    return None
