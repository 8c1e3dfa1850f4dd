"""Values that must never reach a report: secrets read from the environment, masked as ``***``.

One :class:`Redactor` serves a session (it lives on the :class:`~modeltests.session.runtime.Runtime`).
Adapters register every value they expand from the environment when they load
(``context.redactor.add(value)``); everything that leaves modeltests — a check's message, its
examples, details and warnings, pytest's own report of an item (terminal, JUnit XML, xdist), the
JSON and HTML documents — is passed through :meth:`Redactor.mask` on its way out. A secret
echoed back by a server is therefore masked wherever it surfaces, without each output knowing
about secrets.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not masked: masking every "1" or "no" would garble every message, and a
value that short is not a secret worth the name."""

T = TypeVar("T")


class Redactor:
    """The secrets of a session, and :meth:`mask` to hide them in any text or JSON value."""

    def __init__(self) -> None:
        self._forms: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._forms)

    def add(self, secret: str) -> None:
        """Mask ``secret`` from now on, as written and as ``repr``, JSON and bytes show it."""
        if len(secret) < MIN_LENGTH:
            return
        forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1],
                 repr(secret.encode("utf-8"))[2:-1]}
        self._forms.update(form for form in forms if len(form) >= MIN_LENGTH)

    def found_in(self, text: str) -> bool:
        """Whether ``text`` holds a registered secret."""
        return any(form in text for form in self._forms)

    def mask(self, value: T) -> T:
        """``value`` with every secret replaced by ``***``: strings, and the strings inside
        dicts (keys too), lists and tuples; anything else is returned as it is."""
        if not self._forms:
            return value
        return self._mask(value)  # type: ignore[no-any-return]

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._mask_text(value)
        if isinstance(value, dict):
            return {self._mask(k): self._mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._mask(v) for v in value)
        return value

    def _mask_text(self, text: str) -> str:
        # Longest first: a secret that contains another is masked whole.
        for form in sorted(self._forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, MASK)
        return text
