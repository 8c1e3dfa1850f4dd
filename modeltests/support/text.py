"""Small text helpers shared by messages and reports: did-you-mean, clipping, shown paths, numbers.

One place for each, so that a path or a number reads the same in a collection error, a failure
message, the JSON and the HTML.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Iterable


def close_matches(word: str, choices: Iterable[str]) -> list[str]:
    """Choices that look like ``word`` (for "did you mean ...?")."""
    return difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)


def unknown_name_message(prefix: str, name: str, allowed: list[str]) -> str:
    """``prefix; did you mean 'x'? (allowed: a, b, c)`` for a name that is not among ``allowed``."""
    hint = close_matches(name, allowed)
    text = prefix + (f"; did you mean {hint[0]!r}?" if hint else "")
    if allowed:
        text += f" (allowed: {', '.join(allowed)})"
    return text


def clip(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_change(before: str, after: str, limit: int = 80) -> tuple[str, str]:
    """Two versions of a text, each on one line and clipped around where they differ (not from
    the start): the whole changed span, with as much of the same text on either side as
    ``limit`` leaves room for (at least 20 characters)."""
    before, after = before.replace("\n", " "), after.replace("\n", " ")
    if len(before) <= limit and len(after) <= limit:
        return before, after
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(before), len(after)) - prefix
           and before[-1 - suffix] == after[-1 - suffix]):
        suffix += 1
    span = max(len(before), len(after)) - prefix - suffix
    room = max(limit - span, 20) // 2
    start = max(0, prefix - room)

    def cut(text: str) -> str:
        end = min(len(text), len(text) - suffix + room)
        return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")

    return cut(before), cut(after)


def shown_path(path: Path, rootdir: Path | None) -> str:
    """``path`` relative to ``rootdir`` when it lies below it, else as given."""
    if rootdir is not None:
        try:
            return str(path.resolve().relative_to(rootdir.resolve()))
        except ValueError:
            pass
    return str(path)


def format_number(value: float) -> str:
    """A metric for people: integers plain, 3 decimals, 1 decimal past 100, tiny values in e-notation."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 10:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) >= 0.001 or value == 0 else f"{value:.2e}"


# Characters that change how the text around them reads, or that cannot be encoded: a
# right-to-left override (U+202E) shows "gnp.exe" as "exe.png" in a browser, and a lone
# surrogate from a YAML "\ud800" escape cannot be written as UTF-8 at all.
_BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})


def _needs_escape(code: int) -> bool:
    return (0xD800 <= code <= 0xDFFF or code in _BIDI_CONTROLS
            or (code < 0x20 and code not in (0x09, 0x0A)) or 0x7F <= code <= 0x9F)


def visible(text: str) -> str:
    """``text`` with lone surrogates, bidirectional controls and control characters (but tab
    and newline) written as ``\\uXXXX`` escapes: inert in a browser or a terminal, encodable as
    UTF-8, and still showing that the character was there."""
    if all(not _needs_escape(ord(c)) for c in text):
        return text
    return "".join(f"\\u{ord(c):04x}" if _needs_escape(ord(c)) else c for c in text)


def visible_strings(value: object) -> object:
    """:func:`visible` applied to every string (keys included) in nested dicts and lists."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible_strings(k): visible_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_strings(v) for v in value]
    return value


def valid_pattern(value: str | None) -> str | None:
    """``value`` if it compiles as a Python regular expression (or is None); else
    ``ValueError`` with the reason, for a pydantic validator to report at the key."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value
