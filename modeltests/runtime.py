"""Session state: suites, loaded models, datasets and predictions, each computed once per session.

One :class:`Runtime` serves a whole session, whether pytest runs it (kept in ``config.stash``)
or :func:`modeltests.run` does. Every check and every user test that asks for the same model
(same suite ``model:`` section) gets the same loaded adapter, and predictions of a model on a
dataset are computed once and shared.
"""

from __future__ import annotations

import atexit
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Sequence

from modeltests.adapters.base import AdapterParams, LoadContext, ModelAdapter, Predictions
from modeltests.context import LoadRecord
from modeltests.data import Dataset, check_labels_known, load_dataset
from modeltests.errors import ModelLoadError, ModelOutputError, ModelPredictError, ModelTestsError
from modeltests.prediction_cache import Lookup, PredictionCache
from modeltests.progress import Progress, Silent
from modeltests.redaction import Redactor
from modeltests.registry import Registry
from modeltests.serving import Server
from modeltests.suite.loader import Suite, load_suite
from modeltests.text import clip

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
    saved_files: list[Path] = field(default_factory=list)
    executor_facts: list[dict[str, Any]] = field(default_factory=list)
    """One entry per dataset predicted by another executor than this process (``executor:
    ray``): rows, blocks, workers, seconds per stage (the JSON report's ``run.executors``)."""
    _suites: dict[Path, Suite] = field(default_factory=dict)
    _models: dict[str, LoadRecord] = field(default_factory=dict)
    _datasets: dict[tuple[str, str], Dataset] = field(default_factory=dict)
    _predictions: dict[tuple[str, str], Predictions] = field(default_factory=dict)
    _rows_by_text: dict[str, dict[str, tuple[Predictions, int]]] = field(default_factory=dict)
    _loaded: list[tuple[AdapterParams, LoadRecord]] = field(default_factory=list)
    _used: set[int] = field(default_factory=set)
    _servers: dict[Path, Server] = field(default_factory=dict)
    _server_errors: dict[Path, ModelLoadError] = field(default_factory=dict)
    _lookups: list[dict[str, Any]] = field(default_factory=list)

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
            return self._remember(params, LoadRecord(error=_prefixed(exc, location)))
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
            return build()
        finally:
            builds.append(time.perf_counter() - started)

    def _capture_suspended(self) -> ContextManager[Any]:
        return self.suspend_capture() if self.suspend_capture is not None else nullcontext()

    # -- datasets -------------------------------------------------------------------------------
    def dataset(self, suite: Suite, name: str) -> Dataset:
        """The dataset ``name`` of ``suite``, read once per session."""
        key = (str(suite.path), name)
        if key not in self._datasets:
            spec = suite.datasets[name]
            self._datasets[key] = load_dataset(
                name, spec, suite.base_dir, suite.location("datasets", name),
                locate=lambda field: suite.location("datasets", name, field))
        return self._datasets[key]

    # -- predictions ----------------------------------------------------------------------------
    def predictions(self, suite: Suite, dataset_name: str, model: str | None = None) -> Predictions:
        """Predictions of the suite's model on a whole dataset, computed once per session, and
        read from the prediction cache when an earlier run stored them under the same key."""
        params, _ = self.model_params(suite, model)
        dataset = self.dataset(suite, dataset_name)
        key = (self.model_key(suite, params), str(dataset.path) + repr(suite.datasets[dataset_name]))
        if key not in self._predictions:
            adapter = self.model(suite, model)
            check_labels_known(dataset, adapter.labels, suite.location("datasets", dataset_name))
            predictions, lookup = self._cached_or_run(suite, dataset_name, params, adapter,
                                                      model)
            self._lookups.append({"suite": suite.shown_path, "dataset": dataset_name,
                                  "model": model, "rows": len(dataset), **lookup.to_json()})
            self._predictions[key] = predictions
            if self.save_predictions is not None:
                self._save(suite, dataset, predictions, params, adapter, model)
            rows = self._rows_by_text.setdefault(key[0], {})
            for row, text in enumerate(dataset.texts):
                rows.setdefault(text, (predictions, row))
        return self._predictions[key]

    def _predict_on_ray(self, suite: Suite, dataset_name: str, params: AdapterParams,
                        model: str | None) -> Predictions:
        """The dataset's predictions computed by Ray actors (:mod:`modeltests.ray_executor`),
        each loading the same ``model:`` as this process; validated like a local answer."""
        from modeltests import ray_executor
        from modeltests.suite.schema import RayOptions

        _, key_path = self.model_params(suite, model)
        adapter = self.model(suite, model)
        kind = self.registry.get_adapter(params.adapter)
        assert kind is not None  # the model loaded with it
        builtins = {name: build for name in self.registry.builtin_model_names
                    if (build := self.registry.builtin_model(name)) is not None}
        recipe = ray_executor.ModelRecipe(kind, params, suite.base_dir, self.rootdir,
                                          suite.location(*key_path), key_path, builtins,
                                          tuple(adapter.labels))
        spec = suite.datasets[dataset_name]
        location = suite.location("datasets", dataset_name, "ray" if spec.ray else "executor")
        address_at = suite.location("datasets", dataset_name, "ray", "address") \
            if spec.ray and spec.ray.address else location
        texts = self.dataset(suite, dataset_name).texts
        self._used.add(id(adapter))
        with self._capture_suspended():
            predictions, facts = ray_executor.predict(recipe, texts, spec.ray or RayOptions(),
                                                      location, address_at)
        try:
            validate_predictions(predictions, texts, adapter.labels)
        except ModelTestsError as exc:
            raise _prefixed(exc, location) from None
        self.executor_facts.append({"suite": suite.shown_path, "dataset": dataset_name, **facts})
        return predictions

    def _cached_or_run(self, suite: Suite, dataset_name: str, params: AdapterParams,
                       adapter: ModelAdapter, model: str | None = None
                       ) -> tuple[Predictions, Lookup]:
        """The stored predictions when the cache has them under this exact key, else the
        model's (stored for the next run)."""
        from modeltests.prediction_cache import prediction_key

        dataset = self.dataset(suite, dataset_name)
        spec = suite.datasets[dataset_name]
        return self._through_cache(
            params, adapter, adapter, dataset.texts,
            lambda fingerprint: prediction_key(fingerprint, adapter, spec, dataset),
            lambda: self._predict_on_ray(suite, dataset_name, params, model)
            if spec.executor == "ray" else
            self.run_model(adapter, dataset.texts, suite.location("model"),
                           f"{dataset_name}: predicting"))

    def run_derived(self, suite: Suite, adapter: ModelAdapter, texts: Sequence[str],
                    recipe: dict[str, Any], check: str) -> Predictions:
        """Predictions of ``adapter``, a copy of the suite's model derived by ``recipe`` (a
        quantized or pruned copy), on ``texts``: from the cache when the suite's model is
        cacheable and an earlier run stored them under the same key
        (:func:`~modeltests.prediction_cache.derived_key`), else the model's (then stored)."""
        from modeltests.prediction_cache import derived_key

        texts = list(texts)
        params, _ = self.model_params(suite)
        predictions, lookup = self._through_cache(
            params, self.model(suite), adapter, texts,
            lambda fingerprint: derived_key(fingerprint, recipe, adapter, texts),
            lambda: self.run_model(adapter, texts, description=f"{check}: predicting"))
        self._lookups.append({"suite": suite.shown_path, "check": check, "derived": recipe,
                              "rows": len(texts), **lookup.to_json()})
        return predictions

    def _through_cache(self, params: AdapterParams, source: ModelAdapter, adapter: ModelAdapter,
                       texts: list[str], key_of: Callable[[dict[str, Any]], str],
                       run: Callable[[], Predictions]) -> tuple[Predictions, Lookup]:
        """``run()``'s predictions of ``adapter`` on ``texts``, or those stored under
        ``key_of(fingerprint of the source model)``; a miss stores them. ``source`` (the
        suite's model, loaded from ``params``) decides whether anything may be cached."""
        from modeltests.fingerprints import model_fingerprint
        from modeltests.prediction_cache import uncacheable_reason

        cache = self.prediction_cache
        if cache is None or not cache.enabled:
            return run(), Lookup("off", cache.off_reason if cache is not None else "")
        fingerprint = model_fingerprint(params, source)
        reason = uncacheable_reason(source, fingerprint)
        if reason is not None:
            return run(), Lookup("not cacheable", reason)
        key = key_of(fingerprint)
        labels = list(adapter.labels)
        stored = cache.load(key, len(texts), labels,
                            lambda found: validate_predictions(found, texts, labels))
        if stored is not None:
            return stored, Lookup("hit", path=cache.path_for(key))
        predictions = run()
        written = cache.store(key, predictions)
        return predictions, Lookup("miss", path=written)

    def prediction_sources(self) -> list[dict[str, Any]]:
        """Where each whole-dataset prediction of this session came from (``run.predictions``
        in the JSON report): the cache (``from_cache``), or the model, and why."""
        return [dict(lookup) for lookup in self._lookups]

    def _save(self, suite: Suite, dataset: Dataset, predictions: Predictions,
              params: AdapterParams, adapter: ModelAdapter, model: str | None) -> None:
        from modeltests.fingerprints import model_fingerprint
        from modeltests.saved_predictions import save_predictions

        assert self.save_predictions is not None
        label = f"{suite.path.stem}.{model or 'model'}"
        digest = model_fingerprint(params, adapter)["sha256"]
        self.saved_files.append(save_predictions(self.save_predictions, dataset, predictions,
                                                 label, digest))

    def predict_reusing(self, suite: Suite, texts: Sequence[str], model: str | None = None,
                        description: str = "") -> Predictions:
        """Predictions on ``texts``; texts the model already answered as part of a whole dataset
        this session take that row instead of running the model again."""
        params, _ = self.model_params(suite, model)
        adapter = self.model(suite, model)
        known = self._rows_by_text.get(self.model_key(suite, params), {})
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if len(missing) == len(texts):
            return self.run_model(adapter, texts, suite.location("model"), description)
        lookup = dict(known)
        if missing:
            fresh = self.run_model(adapter, missing, suite.location("model"), description)
            lookup.update({text: (fresh, row) for row, text in enumerate(missing)})
        return _gather([lookup[text] for text in texts])

    def run_model(self, adapter: ModelAdapter, texts: Sequence[str], location: str = "",
                  description: str = "") -> Predictions:
        """Run ``adapter`` on ``texts`` now and validate its answer; model errors become clear
        messages prefixed by ``location``. With a ``description``, the batches the adapter
        reports (:meth:`ModelAdapter.batch_done`) show as progress."""
        texts = list(texts)
        self._used.add(id(adapter))
        where = f"{location}: " if location else ""
        try:
            with self._batch_progress(adapter, description, len(texts)):
                predictions = adapter.predict(texts)
            validate_predictions(predictions, texts, adapter.labels)
        except ModelTestsError as exc:
            raise _prefixed(exc, location) if location else exc
        except Exception as exc:
            raise ModelPredictError(
                f"{where}model raised {type(exc).__name__} in predict: {exc}"
            ) from exc
        return predictions

    @contextmanager
    def _batch_progress(self, adapter: ModelAdapter, description: str, total: int
                        ) -> Iterator[None]:
        if not description:
            yield
            return
        task = self.progress.start(f"{description} {total} texts", total)
        previous = adapter.on_batch
        try:
            adapter.on_batch = task.advance
        except (AttributeError, TypeError):  # a frozen or slotted adapter: no progress, no harm
            task.close()
            yield
            return
        try:
            yield
        finally:
            adapter.on_batch = previous
            task.close()

    def start_check(self) -> None:
        """A check (or a test using the fixture) begins: every loaded model resets its per-check
        state (:meth:`ModelAdapter.start_check`)."""
        for record in self._models.values():
            if record.adapter is not None:
                record.adapter.start_check()

    def model_was_used(self, adapter: ModelAdapter) -> bool:
        """Whether ``adapter`` has answered in this session."""
        return id(adapter) in self._used

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


def validate_predictions(predictions: object, texts: Sequence[str], labels: Sequence[str]) -> None:
    """Raise :class:`ModelOutputError` unless ``predictions`` are valid for ``texts``."""
    import numpy as np

    if not isinstance(predictions, Predictions):
        raise ModelOutputError(f"predict must return Predictions, got {type(predictions).__name__}")
    if len(predictions.labels) != len(texts):
        raise ModelOutputError(f"model returned {len(predictions.labels)} predictions for "
                               f"{len(texts)} inputs")
    unknown = sorted(set(predictions.labels) - set(labels))
    if unknown:
        raise ModelOutputError(f"model predicted label(s) {unknown[:5]} that are not among its "
                               f"labels {list(labels)}")
    probs = predictions.probabilities
    if probs is None:
        return
    if probs.shape != (len(texts), len(labels)):
        raise ModelOutputError(f"probabilities have shape {probs.shape}, expected "
                               f"({len(texts)}, {len(labels)})")
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ModelOutputError(f"model returned NaN or infinite outputs for {int(bad.sum())} of "
                               f"{len(texts)} inputs (first: {clip(texts[first])!r})")
    if len(texts) and ((probs < -1e-6).any() or (probs > 1 + 1e-6).any()
                       or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)):
        raise ModelOutputError("model probabilities are outside [0, 1] or do not sum to 1 "
                               "(return softmax probabilities, not logits)")


def _gather(rows: list[tuple[Predictions, int]]) -> Predictions:
    """One :class:`Predictions` from rows of several (same model, same label order)."""
    import numpy as np

    first = rows[0][0]
    labels = [predictions.labels[row] for predictions, row in rows]
    matrices = [predictions.probabilities for predictions, _ in rows]
    if any(matrix is None for matrix in matrices):
        return Predictions.from_labels(labels, first.label_names)
    matrix = np.vstack([m[row] for m, (_, row) in zip(matrices, rows) if m is not None])
    return Predictions(labels, list(first.label_names), matrix)


def _prefixed(exc: ModelTestsError, location: str) -> ModelTestsError:
    """``exc`` located at ``location`` unless its message already names a line of the file."""
    text = str(exc)
    suite_file = location.rpartition(":")[0] or location
    return exc if text.startswith(f"{suite_file}:") else type(exc)(f"{location}: {text}")


def _rss_bytes() -> int | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return None
    return int(psutil.Process().memory_info().rss)
