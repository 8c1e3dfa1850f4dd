"""Session state: suites, loaded models, datasets and predictions, each computed once per session.

One :class:`Runtime` serves a whole session, whether pytest runs it (kept in ``config.stash``)
or :func:`modeltests.run` does. Every check and every user test that asks for the same model
(same suite ``model:`` section) gets the same loaded adapter, and predictions of a model on a
dataset are computed once and shared.
"""

from __future__ import annotations

import atexit
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Sequence

from modeltests.adapters.base import AdapterParams, LoadContext, ModelAdapter, Predictions
from modeltests.context import LoadRecord
from modeltests.data.datasets import Dataset, load_dataset
from modeltests.errors import DatasetError, ModelLoadError, ModelTestsError, located
from modeltests.data.inputs import ModelInput
from modeltests.predictions.cache import PredictionCache
from modeltests.session.predictor import Predictor
from modeltests.support.progress import Progress, Silent, showing
from modeltests.support.redaction import Redactor
from modeltests.extend.registry import Registry
from modeltests.serving.server import Server
from modeltests.suite.loader import Suite, load_suite

if TYPE_CHECKING:
    from modeltests.cluster.predictions import ModelRecipe
    from modeltests.cluster.streaming import StreamedCounts

KeyPath = tuple[str, ...]


@dataclass
class Runtime:
    """Caches shared by every check of a session."""

    registry: Registry
    rootdir: Path
    suspend_capture: Callable[[], ContextManager[Any]] | None = None
    undecided: str = "fail"
    """What a threshold the sample cannot decide means: ``fail`` (the default: it fails, as a
    release gate must not pass on a coin flip) or ``gate`` (each check's ``gate`` decides:
    ``estimate`` by the measured value; ``--modeltests-undecided=gate``)."""
    redactor: Redactor = field(default_factory=Redactor)
    """Secrets the adapters read from the environment; every report masks them."""
    progress: Progress = field(default_factory=Silent)
    """Where long work shows its progress; the front end chooses (pytest's terminal, stderr)."""
    prediction_cache: PredictionCache | None = None
    """Whole-dataset predictions kept across runs (None: never read nor written)."""
    save_predictions: Path | None = None
    """Where whole-dataset predictions are saved as Parquet (``--modeltests-save-predictions``),
    for a later run's ``regression`` ``baseline_predictions:``; None saves nothing."""
    _suites: dict[Path, Suite] = field(default_factory=dict)
    _models: dict[str, LoadRecord] = field(default_factory=dict)
    _datasets: dict[tuple[str, str], Dataset] = field(default_factory=dict)
    _loaded: list[tuple[AdapterParams, LoadRecord]] = field(default_factory=list)
    _servers: dict[Path, Server] = field(default_factory=dict)
    _server_errors: dict[Path, ModelLoadError] = field(default_factory=dict)
    predictor: Predictor = field(init=False)
    """The session's predictions (:mod:`modeltests.session.predictor`)."""

    def __post_init__(self) -> None:
        self.predictor = Predictor(self, self._capture_suspended, self.progress,
                                   self.prediction_cache, self.save_predictions)

    # -- suites ---------------------------------------------------------------------------------
    def load_suite(self, path: Path) -> Suite:
        """The suite at ``path``, read and validated once per session (problems kept on it)."""
        key = path.resolve()
        if key not in self._suites:
            self._suites[key] = load_suite(key, self.registry, self.rootdir)
        return self._suites[key]

    def suite(self, path: Path) -> Suite:
        """The valid suite at ``path``, or a :class:`SuiteError` listing its problems."""
        return self.load_suite(path).require_valid()

    def loaded_datasets(self) -> list[tuple[Suite, Dataset]]:
        """Every dataset this session read, with the suite that declared it."""
        by_path = {str(suite.path): suite for suite in self._suites.values()}
        return [(by_path[path], dataset) for (path, _), dataset in self._datasets.items()
                if path in by_path]

    def suites(self) -> list[Suite]:
        """Every suite this session read, in the order it read them."""
        return list(self._suites.values())

    # -- models ---------------------------------------------------------------------------------
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
                server = self.server(suite)
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
            with self._capture_suspended():
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

    # -- servers --------------------------------------------------------------------------------
    def server(self, suite: Suite) -> Server:
        """The running server of ``suite``'s ``serve:`` section, started on first use (once per
        session: a server that failed to start is not tried again)."""
        assert suite.serve is not None
        key = suite.path
        if key in self._server_errors:
            raise self._server_errors[key]
        if key not in self._servers:
            urls = [str(getattr(p, "url", "")) for p in (suite.model, *suite.models.values())
                    if p is not None]
            server = Server.from_spec(suite.serve, suite.base_dir, suite.location("serve"), urls)
            self._servers[key] = server
            atexit.register(server.stop)  # modeltests.run() without close(), a crash
            try:
                with self._capture_suspended():
                    server.start()
            except ModelLoadError as exc:
                self._server_errors[key] = exc
                raise
        return self._servers[key]

    def servers(self) -> list[tuple[Suite, Server]]:
        """Every server this session started, with its suite."""
        by_path = {suite.path: suite for suite in self._suites.values()}
        return [(by_path[path], server) for path, server in self._servers.items()
                if path in by_path]

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

    def _capture_suspended(self) -> ContextManager[Any]:
        return self.suspend_capture() if self.suspend_capture is not None else nullcontext()

    # -- datasets -------------------------------------------------------------------------------
    def dataset(self, suite: Suite, name: str) -> Dataset:
        """The dataset ``name`` of ``suite``, read once per session (never one marked ``stream:
        true``: see :meth:`streamed_counts`)."""
        key = (str(suite.path), name)
        if key not in self._datasets:
            spec = suite.datasets[name]
            if spec.stream:
                raise DatasetError(
                    f"{suite.location('datasets', name, 'stream')}: datasets.{name}: "
                    "stream: true keeps the dataset out of this process (only counts come "
                    "back), and something asked for its rows; drop stream: true to load it")
            self._datasets[key] = load_dataset(
                name, spec, suite.base_dir, suite.location("datasets", name),
                locate=lambda field: suite.location("datasets", name, field))
        return self._datasets[key]

    # -- predictions (modeltests.session.predictor) --------------------------------------------------
    def model_recipe(self, suite: Suite, model: str | None = None) -> ModelRecipe:
        """What a Ray actor needs to load the suite's model (see :meth:`Predictor.model_recipe`)."""
        return self.predictor.model_recipe(suite, model)

    def streamed_counts(self, suite: Suite, dataset_name: str, model: str | None = None
                        ) -> StreamedCounts:
        """Counts of a ``stream: true`` dataset (see :meth:`Predictor.streamed_counts`)."""
        return self.predictor.streamed_counts(suite, dataset_name, model)

    def predictions(self, suite: Suite, dataset_name: str, model: str | None = None) -> Predictions:
        """Predictions of the suite's model on a whole dataset, computed once per session (see
        :meth:`Predictor.predictions`)."""
        return self.predictor.predictions(suite, dataset_name, model)

    def run_derived(self, suite: Suite, adapter: ModelAdapter, texts: Sequence[ModelInput],
                    recipe: dict[str, Any], check: str) -> Predictions:
        """Predictions of a copy of the suite's model derived by ``recipe`` (see
        :meth:`Predictor.run_derived`)."""
        return self.predictor.run_derived(suite, adapter, texts, recipe, check)

    def predict_reusing(self, suite: Suite, texts: Sequence[ModelInput], model: str | None = None,
                        description: str = "") -> Predictions:
        """Predictions on ``texts``, reusing rows already answered (see
        :meth:`Predictor.predict_reusing`)."""
        return self.predictor.predict_reusing(suite, texts, model, description)

    def run_model(self, adapter: ModelAdapter, texts: Sequence[ModelInput], location: str = "",
                  description: str = "") -> Predictions:
        """Run ``adapter`` on ``texts`` now, validated (see :meth:`Predictor.run_model`)."""
        return self.predictor.run_model(adapter, texts, location, description)

    def prediction_sources(self) -> list[dict[str, Any]]:
        """Where each whole-dataset prediction came from (``run.predictions`` in the JSON)."""
        return self.predictor.prediction_sources()

    def model_was_used(self, adapter: ModelAdapter) -> bool:
        """Whether ``adapter`` has answered in this session."""
        return self.predictor.model_was_used(adapter)

    def streamed_files(self) -> list[dict[str, Any]]:
        """Each ``stream: true`` file this session counted, as ``run.datasets`` lists a loaded
        one (path, sha256, rows): the run's fingerprint covers it."""
        return list(self.predictor.streamed_files)

    @property
    def executor_facts(self) -> list[dict[str, Any]]:
        """Datasets predicted by another executor (the JSON report's ``run.executors``)."""
        return self.predictor.executor_facts

    @property
    def saved_files(self) -> list[Path]:
        """Files written by ``--modeltests-save-predictions``."""
        return self.predictor.saved_files

    def start_check(self) -> None:
        """A check (or a test using the fixture) begins: every loaded model resets its per-check
        state (:meth:`ModelAdapter.start_check`)."""
        for record in self._models.values():
            if record.adapter is not None:
                record.adapter.start_check()

    def close(self) -> None:
        """Release every loaded model and stop every server (end of session); a server is
        stopped even when a model's close() raised."""
        try:
            for record in self._models.values():
                if record.adapter is not None:
                    record.adapter.close()
        finally:
            for server in self._servers.values():
                server.stop()


def _rss_bytes() -> int | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return None
    return int(psutil.Process().memory_info().rss)
