"""``{python}``, ``{port}`` and ``{port:NAME}`` in a suite's ``serve:`` command and in the URLs
of the models it serves: found at load time (to validate them) and filled once the server's ports
are chosen. Kept below the adapters and the server so that both can expand them."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{(python|port(?::([A-Za-z_][A-Za-z0-9_]*))?)\}")


def expand(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{python}``, ``{port}``, ``{port:NAME}`` replaced from ``values``
    (keys ``python``, ``port``, ``port:NAME``); unknown placeholders stay as they are."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def placeholders_in(*texts: str) -> set[str]:
    """The placeholder names (``python``, ``port``, ``port:NAME``) used in ``texts``."""
    return {m.group(1) for text in texts for m in PLACEHOLDER.finditer(text)}
