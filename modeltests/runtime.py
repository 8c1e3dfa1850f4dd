"""Session state: loaded models, datasets and predictions, each computed once per session.

One :class:`Runtime` lives in ``config.stash`` for the whole pytest session. Every check and every
user test that asks for the same model (same suite ``model:`` section) gets the same loaded
adapter, and predictions of a model on a dataset are computed once and shared.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from modeltests.adapters.base import AdapterParams, LoadContext, ModelAdapter, Predictions
from modeltests.data import Dataset, check_labels_known, load_dataset
from modeltests.errors import ModelLoadError, ModelOutputError, ModelPredictError, ModelTestsError
from modeltests.registry import Registry
from modeltests.suite.loader import Suite


@dataclass
class LoadRecord:
    """How a model load went: the adapter, or the error that every check will show."""

    adapter: ModelAdapter | None = None
    error: ModelTestsError | None = None
    seconds: float = 0.0
    rss_delta_bytes: int | None = None


@dataclass
class Runtime:
    """Caches shared by every check of a session."""

    registry: Registry
    rootdir: Path
    suspend_capture: Callable[[], Any] | None = None
    _models: dict[str, LoadRecord] = field(default_factory=dict)
    _datasets: dict[tuple[str, str], Dataset] = field(default_factory=dict)
    _predictions: dict[tuple[str, str], Predictions] = field(default_factory=dict)
    _rows_by_text: dict[str, dict[str, tuple[Predictions, int]]] = field(default_factory=dict)
    prediction_counts: dict[int, int] = field(default_factory=dict)
    suites: dict[Path, Suite] = field(default_factory=dict)

    def remember_suite(self, suite: Suite) -> None:
        """Keep a collected suite so that user tests can reach its model by path."""
        self.suites[suite.path.resolve()] = suite

    def suite(self, path: Path) -> Suite:
        """The suite at ``path`` (collected already, or read and validated now)."""
        from modeltests.errors import SuiteError
        from modeltests.suite.errors import render_problems
        from modeltests.suite.loader import build_suite
        from modeltests.suite.source import YamlSyntaxError, load_yaml

        key = path.resolve()
        if key not in self.suites:
            if not key.is_file():
                raise SuiteError(f"suite file not found: {path}")
            try:
                suite = build_suite(load_yaml(key), self.registry, self.rootdir)
            except YamlSyntaxError as exc:
                raise SuiteError(f"{path}:{exc.line}: invalid YAML: {exc}") from None
            if suite.problems:
                raise SuiteError(render_problems(suite.problems, self.rootdir))
            self.suites[key] = suite
        return self.suites[key]

    # -- models ---------------------------------------------------------------------------------
    def model_key(self, suite: Suite, params: AdapterParams) -> str:
        return f"{suite.base_dir}::{params.model_dump_json()}"

    def model_params(self, suite: Suite, name: str | None = None) -> tuple[AdapterParams, tuple]:
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

    def _load(self, suite: Suite, params: AdapterParams, key_path: tuple) -> LoadRecord:
        kind = self.registry.get_adapter(params.adapter)
        location = suite.location(*key_path)
        if kind is None:  # validated at collection; guards adapters unregistered since
            return LoadRecord(error=ModelLoadError(f"{location}: unknown adapter {params.adapter!r}"))
        context = LoadContext(base_dir=suite.base_dir, rootdir=self.rootdir, location=location)
        rss_before = _rss_bytes()
        started = time.perf_counter()
        try:
            with self._capture_suspended():
                adapter = kind.load(params, context)
        except ModelTestsError as exc:
            return LoadRecord(error=_prefixed(exc, location))
        except Exception as exc:  # any library error: the user needs the reason, once
            message = f"{location}: model failed to load: {type(exc).__name__}: {exc}"
            return LoadRecord(error=ModelLoadError(message))
        seconds = time.perf_counter() - started
        if params.labels is not None:
            adapter.labels = list(params.labels)
        delta = None if rss_before is None else max(0, (_rss_bytes() or 0) - rss_before)
        return LoadRecord(adapter=adapter, seconds=seconds, rss_delta_bytes=delta)

    @contextmanager
    def _capture_suspended(self) -> Iterator[None]:
        if self.suspend_capture is None:
            yield
            return
        with self.suspend_capture():
            yield

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
        """Predictions of the suite's model on a whole dataset, computed once per session."""
        params, _ = self.model_params(suite, model)
        dataset = self.dataset(suite, dataset_name)
        key = (self.model_key(suite, params), str(dataset.path) + repr(suite.datasets[dataset_name]))
        if key not in self._predictions:
            adapter = self.model(suite, model)
            check_labels_known(dataset, adapter.labels, suite.location("datasets", dataset_name))
            predictions = self.predict(adapter, dataset.texts, suite.location("model"))
            self._predictions[key] = predictions
            rows = self._rows_by_text.setdefault(key[0], {})
            for row, text in enumerate(dataset.texts):
                rows.setdefault(text, (predictions, row))
        return self._predictions[key]

    def predict_reusing(self, suite: Suite, texts: Sequence[str], model: str | None = None
                        ) -> Predictions:
        """Predictions on ``texts``; texts the model already answered as part of a whole dataset
        this session take that row instead of running the model again."""
        params, _ = self.model_params(suite, model)
        adapter = self.model(suite, model)
        known = self._rows_by_text.get(self.model_key(suite, params), {})
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if len(missing) == len(texts):
            return self.predict(adapter, texts, suite.location("model"))
        lookup = dict(known)
        if missing:
            fresh = self.predict(adapter, missing, suite.location("model"))
            lookup.update({text: (fresh, row) for row, text in enumerate(missing)})
        return _gather([lookup[text] for text in texts])

    def predict(self, adapter: ModelAdapter, texts: Sequence[str], location: str = "") -> Predictions:
        """Run the model and validate its answer; model errors become clear messages."""
        texts = list(texts)
        self.prediction_counts[id(adapter)] = self.prediction_counts.get(id(adapter), 0) + len(texts)
        where = f"{location}: " if location else ""
        try:
            predictions = adapter.predict(texts)
            validate_predictions(predictions, texts, adapter.labels)
        except ModelTestsError as exc:
            raise _prefixed(exc, location) if location else exc
        except Exception as exc:
            raise ModelPredictError(
                f"{where}model raised {type(exc).__name__} in predict: {exc}"
            ) from exc
        return predictions

    def close(self) -> None:
        for record in self._models.values():
            if record.adapter is not None:
                record.adapter.close()


def validate_predictions(predictions: Any, texts: Sequence[str], labels: Sequence[str]) -> None:
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
                               f"{len(texts)} inputs (first: {_clip(texts[first])!r})")
    if len(texts) and ((probs < -1e-6).any() or (probs > 1 + 1e-6).any()
                       or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)):
        raise ModelOutputError("model probabilities are outside [0, 1] or do not sum to 1 "
                               "(return softmax probabilities, not logits)")


def _gather(rows: list[tuple[Predictions, int]]) -> Predictions:
    """One :class:`Predictions` from rows of several (same model, same label order)."""
    import numpy as np

    first = rows[0][0]
    labels = [predictions.labels[row] for predictions, row in rows]
    if any(predictions.probabilities is None for predictions, _ in rows):
        return Predictions.from_labels(labels, first.label_names)
    matrix = np.vstack([predictions.probabilities[row] for predictions, row in rows])
    return Predictions(labels, list(first.label_names), matrix)


def _prefixed(exc: ModelTestsError, location: str) -> ModelTestsError:
    text = str(exc)
    return exc if text.startswith(location) else type(exc)(f"{location}: {text}")


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rss_bytes() -> int | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return None
    return int(psutil.Process().memory_info().rss)
