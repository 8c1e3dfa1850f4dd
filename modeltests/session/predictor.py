"""Predictions of a session: whole datasets once, through the prediction cache or a Ray cluster,
texts reusing rows already answered, derived (compressed) copies, every answer validated.

:class:`Predictor` holds what a session predicted; it receives the session's models and datasets
(:class:`~modeltests.session.models.ModelStore`, :class:`~modeltests.session.datasets.DatasetStore`),
and checks reach it through :class:`~modeltests.context.CheckContext`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator, Sequence, TypeVar

from modeltests.adapters.base import AdapterParams, ModelAdapter, Predictions
from modeltests.data.datasets import Dataset, check_labels_known
from modeltests.errors import ModelOutputError, ModelPredictError, ModelTestsError, located
from modeltests.data.inputs import ModelInput, as_display
from modeltests.predictions.cache import Lookup, PredictionCache
from modeltests.session.datasets import DatasetStore
from modeltests.session.models import ModelStore
from modeltests.support.progress import Progress
from modeltests.suite.loader import Suite
from modeltests.support.text import clip

if TYPE_CHECKING:
    from modeltests.cluster.predictions import ModelRecipe
    from modeltests.cluster.streaming import StreamedCounts

KeyPath = tuple[str, ...]
T = TypeVar("T")


@dataclass
class Predictor:
    """Every prediction of one session, computed once and shared by checks and tests."""

    models: ModelStore
    datasets: DatasetStore
    capture: Callable[[], ContextManager[Any]]
    """Suspends pytest's output capture around work that prints (a Ray cluster starting)."""
    progress: Progress
    prediction_cache: PredictionCache | None = None
    save_predictions: Path | None = None
    saved_files: list[Path] = field(default_factory=list)
    executor_facts: list[dict[str, Any]] = field(default_factory=list)
    """One entry per dataset predicted by another executor than this process (``executor:
    ray``): rows, blocks, workers, seconds per stage (the JSON report's ``run.executors``)."""
    _predictions: dict[tuple[str, str], Predictions] = field(default_factory=dict)
    _rows_by_text: dict[str, dict[ModelInput, tuple[Predictions, int]]] = field(default_factory=dict)
    _used: set[int] = field(default_factory=set)
    _lookups: list[dict[str, Any]] = field(default_factory=list)
    _streamed: dict[tuple[str, str], StreamedCounts] = field(default_factory=dict)
    streamed_files: list[dict[str, Any]] = field(default_factory=list)
    """Each streamed dataset as ``run.datasets`` lists a loaded one (file, sha256, rows)."""

    def predictions(self, suite: Suite, dataset_name: str, model: str | None = None) -> Predictions:
        """Predictions of the suite's model on a whole dataset, computed once per session, and
        read from the prediction cache when an earlier run stored them under the same key."""
        params, _ = self.models.model_params(suite, model)
        dataset = self.datasets.dataset(suite, dataset_name)
        key = (self.models.model_key(suite, params), str(dataset.path) + repr(suite.datasets[dataset_name]))
        if key not in self._predictions:
            adapter = self.models.model(suite, model)
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
        """The dataset's predictions computed by Ray actors (:mod:`modeltests.cluster.predictions`),
        each loading the same ``model:`` as this process; validated like a local answer."""
        from modeltests.cluster import predictions as ray_executor
        from modeltests.data.spec import RayOptions

        adapter = self.models.model(suite, model)
        recipe = self.model_recipe(suite, model)
        spec = suite.datasets[dataset_name]
        location = suite.location("datasets", dataset_name, "ray" if spec.ray else "executor")
        address_at = suite.location("datasets", dataset_name, "ray", "address") \
            if spec.ray and spec.ray.address else location
        texts = self.datasets.dataset(suite, dataset_name).texts
        self._used.add(id(adapter))
        with self.capture():
            predictions, facts = ray_executor.predict(recipe, texts, spec.ray or RayOptions(),
                                                      location, address_at)
        try:
            validate_predictions(predictions, texts, adapter.labels)
        except ModelTestsError as exc:
            raise located(exc, location) from None
        self.executor_facts.append({"suite": suite.shown_path, "dataset": dataset_name, **facts})
        return predictions

    def model_recipe(self, suite: Suite, model: str | None = None) -> ModelRecipe:
        """What a Ray actor needs to load ``suite``'s model (or its named ``model``) as this
        process did: the adapter kind, the ``model:`` parameters, the paths they resolve
        against, the built-in models, the labels this process's copy has."""
        from modeltests.cluster.predictions import ModelRecipe

        params, key_path = self.models.model_params(suite, model)
        adapter = self.models.model(suite, model)
        registry = self.models.registry
        kind = registry.get_adapter(params.adapter)
        assert kind is not None  # the model loaded with it
        builtins = {name: build for name in registry.builtin_model_names
                    if (build := registry.builtin_model(name)) is not None}
        return ModelRecipe(kind, params, suite.base_dir, self.models.rootdir,
                           suite.location(*key_path), key_path, builtins, tuple(adapter.labels))

    def streamed_counts(self, suite: Suite, dataset_name: str, model: str | None = None
                        ) -> StreamedCounts:
        """(expected, predicted) counts of the model on a ``stream: true`` dataset, computed
        once per session by Ray actors reading the file in blocks
        (:func:`modeltests.cluster.streaming.count_dataset`): no row enters this process."""
        from modeltests.cluster.streaming import count_dataset

        params, _ = self.models.model_params(suite, model)
        spec = suite.datasets[dataset_name]
        key = (self.models.model_key(suite, params), f"{suite.path}::{dataset_name}{spec!r}")
        if key not in self._streamed:
            recipe = self.model_recipe(suite, model)
            self._used.add(id(self.models.model(suite, model)))
            with self.capture():
                counts, facts, provenance = count_dataset(
                    recipe, dataset_name, spec, suite.base_dir,
                    lambda *field: suite.location("datasets", dataset_name, *field))
            self.streamed_files.append({"suite": suite.shown_path, **provenance})
            self.executor_facts.append({"suite": suite.shown_path, "dataset": dataset_name,
                                        **facts})
            self._streamed[key] = counts
        return self._streamed[key]

    def _cached_or_run(self, suite: Suite, dataset_name: str, params: AdapterParams,
                       adapter: ModelAdapter, model: str | None = None
                       ) -> tuple[Predictions, Lookup]:
        """The stored predictions when the cache has them under this exact key, else the
        model's (stored for the next run)."""
        from modeltests.predictions.cache import prediction_key

        dataset = self.datasets.dataset(suite, dataset_name)
        spec = suite.datasets[dataset_name]
        return self._through_cache(
            params, adapter, adapter, dataset.texts,
            lambda fingerprint: prediction_key(fingerprint, adapter, spec, dataset),
            lambda: self._predict_on_ray(suite, dataset_name, params, model)
            if spec.executor == "ray" else
            self.run_model(adapter, dataset.texts, suite.location("model"),
                           f"{dataset_name}: predicting"))

    def run_derived(self, suite: Suite, adapter: ModelAdapter, texts: Sequence[ModelInput],
                    recipe: dict[str, Any], check: str) -> Predictions:
        """Predictions of ``adapter``, a copy of the suite's model derived by ``recipe`` (a
        quantized or pruned copy), on ``texts``: from the cache when the suite's model is
        cacheable and an earlier run stored them under the same key
        (:func:`~modeltests.predictions.cache.derived_key`), else the model's (then stored)."""
        from modeltests.predictions.cache import derived_key

        texts = list(texts)
        params, _ = self.models.model_params(suite)
        predictions, lookup = self._through_cache(
            params, self.models.model(suite), adapter, texts,
            lambda fingerprint: derived_key(fingerprint, recipe, adapter, texts),
            lambda: self.run_model(adapter, texts, description=f"{check}: predicting"))
        self._lookups.append({"suite": suite.shown_path, "check": check, "derived": recipe,
                              "rows": len(texts), **lookup.to_json()})
        return predictions

    def _through_cache(self, params: AdapterParams, source: ModelAdapter, adapter: ModelAdapter,
                       texts: Sequence[ModelInput], key_of: Callable[[dict[str, Any]], str],
                       run: Callable[[], Predictions]) -> tuple[Predictions, Lookup]:
        """``run()``'s predictions of ``adapter`` on ``texts``, or those stored under
        ``key_of(fingerprint of the source model)``; a miss stores them. ``source`` (the
        suite's model, loaded from ``params``) decides whether anything may be cached."""
        from modeltests.predictions.fingerprints import model_fingerprint
        from modeltests.predictions.cache import uncacheable_reason

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
        from modeltests.predictions.fingerprints import model_fingerprint
        from modeltests.predictions.saved import save_predictions

        assert self.save_predictions is not None
        label = f"{suite.path.stem}.{model or 'model'}"
        digest = model_fingerprint(params, adapter)["sha256"]
        self.saved_files.append(save_predictions(self.save_predictions, dataset, predictions,
                                                 label, digest))

    def predict_reusing(self, suite: Suite, texts: Sequence[ModelInput], model: str | None = None,
                        description: str = "") -> Predictions:
        """Predictions on ``texts``; texts the model already answered as part of a whole dataset
        this session take that row instead of running the model again."""
        params, _ = self.models.model_params(suite, model)
        adapter = self.models.model(suite, model)
        known = self._rows_by_text.get(self.models.model_key(suite, params), {})
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if len(missing) == len(texts):
            return self.run_model(adapter, texts, suite.location("model"), description)
        lookup = dict(known)
        if missing:
            fresh = self.run_model(adapter, missing, suite.location("model"), description)
            lookup.update({text: (fresh, row) for row, text in enumerate(missing)})
        return _gather([lookup[text] for text in texts])

    def run_model(self, adapter: ModelAdapter, texts: Sequence[ModelInput], location: str = "",
                  description: str = "") -> Predictions:
        """Run ``adapter`` on ``texts`` now and validate its answer; model errors become clear
        messages prefixed by ``location``. With a ``description``, the batches the adapter
        reports (:meth:`ModelAdapter.batch_done`) show as progress."""
        texts = list(texts)

        def predict() -> Predictions:
            predictions = adapter.predict(texts)
            validate_predictions(predictions, texts, adapter.labels)
            return predictions

        return self.call(adapter, "predict", len(texts), predict, location,
                         f"{description} {len(texts)} texts" if description else "")

    def call(self, adapter: ModelAdapter, action: str, total: int, work: Callable[[], T],
             location: str = "", description: str = "") -> T:
        """One call of ``adapter`` (``action`` names it in messages: predict, predict_tags,
        generate, score ...): ``work`` runs it and validates the answer. The adapter counts as
        used; its batches show as progress under ``description``; a model error becomes a
        :class:`ModelPredictError` (any other :class:`ModelTestsError` is located) prefixed by
        ``location``. Every model call of a check goes through here, whatever the task."""
        self._used.add(id(adapter))
        where = f"{location}: " if location else ""
        try:
            with self._batch_progress(adapter, description, total):
                return work()
        except ModelTestsError as exc:
            raise located(exc, location) if location else exc
        except Exception as exc:
            raise ModelPredictError(
                f"{where}model raised {type(exc).__name__} in {action}: {exc}"
            ) from exc

    @contextmanager
    def _batch_progress(self, adapter: ModelAdapter, description: str, total: int
                        ) -> Iterator[None]:
        if not description:
            yield
            return
        task = self.progress.start(description, total)
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

    def model_was_used(self, adapter: ModelAdapter) -> bool:
        """Whether ``adapter`` has answered in this session."""
        return id(adapter) in self._used


def validate_predictions(predictions: object, texts: Sequence[ModelInput], labels: Sequence[str]) -> None:
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
                               f"{len(texts)} inputs (first: {clip(as_display(texts[first]))!r})")
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
