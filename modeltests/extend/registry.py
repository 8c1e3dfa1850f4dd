"""The registry of check kinds and model adapters, filled through plugin hooks.

At configure time the plugin calls ``pytest_modeltests_register_checks(registry)`` and
``pytest_modeltests_register_adapters(registry)`` on every plugin; modeltests' own kinds are
registered by :mod:`modeltests.extend.builtin` through exactly these hooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Iterable, Literal, Protocol, TypeVar

from modeltests.adapters.base import AdapterKind, Loader, P
from modeltests.context import CheckContext
from modeltests.result import CheckParams, CheckResult

C = TypeVar("C", bound=CheckParams)

RunFunction = Callable[[CheckContext, C], CheckResult]
"""``run(context, params) -> CheckResult``: what a check kind does."""

ModelTask = Literal["classification", "generation", "any"]
"""Which models a check kind checks (see :class:`CheckKind`)."""

InputKind = Literal["text", "image", "any"]
"""Which inputs a check kind gives a model (see :class:`CheckKind`)."""

BuiltinModel = Callable[[], Path]
"""Builds (once, cached) or finds a built-in model and returns its directory."""


@dataclass(frozen=True)
class CheckKind(Generic[C]):
    """A kind of check: ``kind:`` name, parameter model, and the function that runs it.

    ``needs_model`` is False for checks that load the model themselves (or none).
    ``prepare``, when given, runs in the check's setup: a :class:`~modeltests.errors.SuiteError`
    it raises (a missing file the parameters name, say) is an ERROR in the input, not a verdict.
    ``task`` says which models the kind checks: ``classification`` (sequence, pair and token
    classifiers: labels out), ``generation`` (text generators,
    :class:`~modeltests.adapters.generation.TextGenerator`) or ``any`` (the kind dispatches on
    the model itself); a model of the other task is a located ERROR at setup, before it runs.
    ``streams``, when given, says the kind reads a streamed dataset (``stream: true``) from its
    counts (``CheckContext.streamed_counts``): it returns why these parameters cannot (they
    need rows), or None; without it, a streamed dataset is an error at setup.
    ``inputs`` says which models' inputs the kind can give: ``text`` (the default: it reads,
    edits or writes texts), ``image`` (it edits pixels) or ``any`` (it only passes a dataset's
    rows through the prediction path: accuracy, calibration...); an image classifier given a
    text kind, or a text model an image kind, is a located ERROR at setup.
    """

    name: str
    params: type[C]
    run: RunFunction[C]
    description: str = ""
    needs_model: bool = True
    prepare: Callable[[CheckContext, C], None] | None = None
    streams: Callable[[C], str | None] | None = None
    task: ModelTask = "classification"
    inputs: InputKind = "text"


class Registry:
    """Check kinds and adapters by name. Names are unique; re-registering a name is an error."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckKind[Any]] = {}
        self._adapters: dict[str, AdapterKind[Any]] = {}
        self._builtin_models: dict[str, BuiltinModel] = {}

    # -- checks -------------------------------------------------------------------------------
    def add_check(self, kind: CheckKind[Any]) -> None:
        """Register a check kind (its ``name`` becomes a valid ``kind:`` in suites)."""
        if kind.name in self._checks:
            raise ValueError(f"check kind {kind.name!r} is already registered")
        self._checks[kind.name] = kind

    def check(
        self, name: str, params: type[C], description: str = "", needs_model: bool = True
    ) -> Callable[[RunFunction[C]], RunFunction[C]]:
        """Decorator form of :meth:`add_check`::

            @registry.check("label_balance", params=LabelBalanceParams)
            def run(context, params): ...
        """

        def decorate(run: RunFunction[C]) -> RunFunction[C]:
            doc = description or (run.__doc__ or "").strip().splitlines()[0:1]
            text = doc if isinstance(doc, str) else (doc[0] if doc else "")
            self.add_check(CheckKind(name, params, run, text, needs_model))
            return run

        return decorate

    def get_check(self, name: str) -> CheckKind[Any] | None:
        return self._checks.get(name)

    @property
    def check_names(self) -> list[str]:
        return sorted(self._checks)

    def checks(self) -> Iterable[CheckKind[Any]]:
        return [self._checks[name] for name in self.check_names]

    # -- adapters -----------------------------------------------------------------------------
    def add_adapter(self, kind: AdapterKind[Any]) -> None:
        """Register a model adapter (its ``name`` becomes a valid ``model.adapter``)."""
        if kind.name in self._adapters:
            raise ValueError(f"model adapter {kind.name!r} is already registered")
        self._adapters[kind.name] = kind

    def adapter(
        self, name: str, params: type[P], description: str = ""
    ) -> Callable[[Loader[P]], Loader[P]]:
        """Decorator form of :meth:`add_adapter`."""

        def decorate(load: Loader[P]) -> Loader[P]:
            self.add_adapter(AdapterKind(name, params, load, description))
            return load

        return decorate

    def get_adapter(self, name: str) -> AdapterKind[Any] | None:
        return self._adapters.get(name)

    @property
    def adapter_names(self) -> list[str]:
        return sorted(self._adapters)

    def adapters(self) -> Iterable[AdapterKind[Any]]:
        return [self._adapters[name] for name in self.adapter_names]


    # -- built-in models ----------------------------------------------------------------------
    def add_builtin_model(self, name: str, build: BuiltinModel) -> None:
        """Make ``path: builtin:<name>`` load the directory ``build()`` returns (built once)."""
        if name in self._builtin_models:
            raise ValueError(f"built-in model {name!r} is already registered")
        self._builtin_models[name] = build

    def builtin_model(self, name: str) -> BuiltinModel | None:
        return self._builtin_models.get(name)

    @property
    def builtin_model_names(self) -> list[str]:
        return sorted(self._builtin_models)


class RegistrationHooks(Protocol):
    """The two registration hooks, as pytest's ``config.hook`` or a pluggy manager offers them."""

    @property
    def pytest_modeltests_register_adapters(self) -> Any: ...

    @property
    def pytest_modeltests_register_checks(self) -> Any: ...


def registry_from_hooks(hook: RegistrationHooks) -> Registry:
    """A registry filled by every plugin that implements the registration hooks."""
    registry = Registry()
    hook.pytest_modeltests_register_adapters.call_historic(kwargs={"registry": registry})
    hook.pytest_modeltests_register_checks.call_historic(kwargs={"registry": registry})
    return registry
