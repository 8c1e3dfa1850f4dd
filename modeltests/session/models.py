"""The models of a session: each suite ``model:`` (and named ``models:``) section loaded once,
with how the load went (:class:`~modeltests.context.LoadRecord`); built-in models built first."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

from modeltests.adapters.base import AdapterParams, LoadContext, ModelAdapter
from modeltests.context import LoadRecord
from modeltests.errors import ModelLoadError, ModelTestsError, located
from modeltests.extend.registry import Registry
from modeltests.session.servers import ServerPool
from modeltests.suite.loader import Suite
from modeltests.support.progress import Progress, showing
from modeltests.support.redaction import Redactor

KeyPath = tuple[str, ...]


@dataclass
class ModelStore:
    """Every model of a session, loaded on first use and shared by all checks and tests that
    name the same ``model:`` section (same suite directory, same parameters)."""

    registry: Registry
    rootdir: Path
    redactor: Redactor
    servers: ServerPool
    capture: Callable[[], ContextManager[Any]]
    """Suspends pytest's output capture while a model loads (libraries print)."""
    progress: Progress
    """Where a built-in model's build shows its progress bar (the session's bars)."""
    _models: dict[str, LoadRecord] = field(default_factory=dict)
    _loaded: list[tuple[AdapterParams, LoadRecord]] = field(default_factory=list)

    def model_key(self, suite: Suite, params: AdapterParams) -> str:
        return f"{suite.base_dir}::{params.model_dump_json()}"

    def model_params(self, suite: Suite, name: str | None = None) -> tuple[AdapterParams, KeyPath]:
        """The ``model:`` section (or ``models: {name: ...}``) and its key path in the file."""
        if name is None:
            if suite.model is None:
                raise ModelLoadError(f"{suite.location()}: the suite has no valid 'model:'")
            return suite.model, ("model",)
        return suite.models[name], ("models", name)

    def model(self, suite: Suite, name: str | None = None) -> ModelAdapter:
        """The loaded model of ``suite`` (or its named extra model); loads it on first use."""
        record = self.load_record(suite, name)
        if record.error is not None:
            raise record.error
        assert record.adapter is not None
        return record.adapter

    def load_record(self, suite: Suite, name: str | None = None) -> LoadRecord:
        params, key_path = self.model_params(suite, name)
        key = self.model_key(suite, params)
        if key not in self._models:
            self._models[key] = self._load(suite, params, key_path)
        return self._models[key]

    def loaded_models(self) -> list[tuple[AdapterParams, LoadRecord]]:
        """Every model this session loaded (or failed to load), with its ``model:`` section."""
        return list(self._loaded)

    def _load(self, suite: Suite, params: AdapterParams, key_path: KeyPath) -> LoadRecord:
        kind = self.registry.get_adapter(params.adapter)
        location = suite.location(*key_path)
        if kind is None:  # validated at collection; guards adapters unregistered since
            return self._remember(params, LoadRecord(
                error=ModelLoadError(f"{location}: unknown adapter {params.adapter!r}")))
        builds: list[float] = []
        server = None
        if type(params).served and suite.serve is not None:
            try:
                server = self.servers.server(suite)
            except ModelLoadError as exc:
                return self._remember(params, LoadRecord(error=exc))
        context = LoadContext(base_dir=suite.base_dir, rootdir=self.rootdir, location=location,
                              builtin_model=lambda name: self._build(name, location, builds),
                              key_path=key_path, locate_key=lambda path: suite.location(*path),
                              redactor=self.redactor,
                              placeholders=server.values if server is not None else {})
        rss_before = _rss_bytes()
        started = time.perf_counter()
        try:
            with self.capture():
                adapter = kind.load(params, context)
        except ModelTestsError as exc:
            return self._remember(params, LoadRecord(error=located(exc, location)))
        except Exception as exc:  # any library error: the user needs the reason, once
            message = f"{location}: model failed to load: {type(exc).__name__}: {exc}"
            return self._remember(params, LoadRecord(error=ModelLoadError(message)))
        seconds = time.perf_counter() - started - sum(builds)
        if params.labels is not None:
            adapter.labels = list(params.labels)
        delta = None if rss_before is None else max(0, (_rss_bytes() or 0) - rss_before)
        facts = server.facts if server is not None else None
        return self._remember(params, LoadRecord(
            adapter=adapter, seconds=seconds, rss_delta_bytes=delta, build_seconds=sum(builds),
            server=facts.to_json() if facts is not None else None,
            server_start_seconds=facts.cold_start_s if facts is not None else None))

    def _remember(self, params: AdapterParams, record: LoadRecord) -> LoadRecord:
        self._loaded.append((params, record))
        return record

    def _build(self, name: str, location: str, builds: list[float]) -> Path:
        """The directory of built-in model ``name``; its build time is kept apart from loading."""
        build = self.registry.builtin_model(name)
        if build is None:
            known = ", ".join(f"builtin:{n}" for n in self.registry.builtin_model_names)
            raise ModelLoadError(f"{location}: unknown built-in model 'builtin:{name}' "
                                 f"(allowed: {known or 'none registered'})")
        started = time.perf_counter()
        try:
            with showing(self.progress):  # a build's bar draws where the session's bars do
                return build()
        finally:
            builds.append(time.perf_counter() - started)

    def notes(self) -> list[str]:
        """The notes of every loaded model (:meth:`ModelAdapter.notes`)."""
        return [note for record in self._models.values() if record.adapter is not None
                for note in record.adapter.notes()]

    def start_check(self) -> None:
        """A check (or a test using the fixture) begins: every loaded model resets its per-check
        state (:meth:`ModelAdapter.start_check`)."""
        for record in self._models.values():
            if record.adapter is not None:
                record.adapter.start_check()

    def close(self) -> None:
        """Release every loaded model."""
        for record in self._models.values():
            if record.adapter is not None:
                record.adapter.close()


def _rss_bytes() -> int | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return None
    return int(psutil.Process().memory_info().rss)
