"""The registry of check kinds and model adapters, filled through plugin hooks.

At configure time the plugin calls ``pytest_modeltests_register_checks(registry)`` and
``pytest_modeltests_register_adapters(registry)`` on every plugin; modeltests' own kinds are
registered by :mod:`modeltests.builtin` through exactly these hooks.
"""

from __future__ import annotations

import difflib
from typing import Callable, Iterable

from modeltests.adapters.base import AdapterKind, AdapterParams, Loader
from modeltests.checks.base import CheckKind, CheckParams, RunFunction


class Registry:
    """Check kinds and adapters by name. Names are unique; re-registering a name is an error."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckKind] = {}
        self._adapters: dict[str, AdapterKind] = {}

    # -- checks -------------------------------------------------------------------------------
    def add_check(self, kind: CheckKind) -> None:
        """Register a check kind (its ``name`` becomes a valid ``kind:`` in suites)."""
        if kind.name in self._checks:
            raise ValueError(f"check kind {kind.name!r} is already registered")
        self._checks[kind.name] = kind

    def check(
        self, name: str, params: type[CheckParams], description: str = "", needs_model: bool = True
    ) -> Callable[[RunFunction], RunFunction]:
        """Decorator form of :meth:`add_check`::

            @registry.check("label_balance", params=LabelBalanceParams)
            def run(context, params): ...
        """

        def decorate(run: RunFunction) -> RunFunction:
            doc = description or (run.__doc__ or "").strip().splitlines()[0:1]
            text = doc if isinstance(doc, str) else (doc[0] if doc else "")
            self.add_check(CheckKind(name, params, run, text, needs_model))
            return run

        return decorate

    def get_check(self, name: str) -> CheckKind | None:
        return self._checks.get(name)

    @property
    def check_names(self) -> list[str]:
        return sorted(self._checks)

    def checks(self) -> Iterable[CheckKind]:
        return [self._checks[name] for name in self.check_names]

    # -- adapters -----------------------------------------------------------------------------
    def add_adapter(self, kind: AdapterKind) -> None:
        """Register a model adapter (its ``name`` becomes a valid ``model.adapter``)."""
        if kind.name in self._adapters:
            raise ValueError(f"model adapter {kind.name!r} is already registered")
        self._adapters[kind.name] = kind

    def adapter(
        self, name: str, params: type[AdapterParams], description: str = ""
    ) -> Callable[[Loader], Loader]:
        """Decorator form of :meth:`add_adapter`."""

        def decorate(load: Loader) -> Loader:
            self.add_adapter(AdapterKind(name, params, load, description))
            return load

        return decorate

    def get_adapter(self, name: str) -> AdapterKind | None:
        return self._adapters.get(name)

    @property
    def adapter_names(self) -> list[str]:
        return sorted(self._adapters)

    def adapters(self) -> Iterable[AdapterKind]:
        return [self._adapters[name] for name in self.adapter_names]


def close_matches(word: str, choices: Iterable[str]) -> list[str]:
    """Choices that look like ``word`` (for "did you mean ...?")."""
    return difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
