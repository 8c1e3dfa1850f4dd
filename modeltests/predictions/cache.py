"""Predictions of a model on a whole dataset, kept across runs.

A second run of an unchanged suite should not run the model again on the same dataset. The key
is a sha256 over everything the predictions depend on:

* the model fingerprint (:func:`modeltests.predictions.fingerprints.model_fingerprint`): the adapter
  parameters (``max_length``, ``batch_size``, ``labels``...) and the digest of every file of
  the model directory (weights, tokenizer, config);
* the adapter's batching (:meth:`ModelAdapter.batching`) and label names;
* the dataset: its file's sha256, its ``datasets:`` entry (columns, label map, limit...), and a
  digest of the texts and labels it produced;
* the versions of modeltests, torch, transformers, tokenizers, numpy and timm (an
  architecture's code is timm's), the digest of the adapter's
  own module file, the device, and :data:`FORMAT_VERSION`.

A copy of the model made by a deterministic recipe (the ``quantization`` and ``pruning``
checks' compressed copies, through :meth:`CheckContext.run_derived`) is keyed by the source
model's fingerprint, the recipe, the copy's batching, the texts in order, the library versions,
the CPU and torch's thread count (:func:`derived_key`). Timings (latency, speed-ups) and
availability probes always run the model.

Only adapters that declare ``cache_predictions = True`` (the ``transformers`` adapter on a local
directory) are cached, and only when the fingerprint knows their files. A remote ``http`` model,
a ``callable`` (any code) and a ``torch`` module (weights its factory reads are unknown) are
always run. Each entry is one ``.npz`` file (labels and probabilities) written atomically. The
cache is an optimisation only: an unreadable, corrupt, foreign or read-only entry gives a
:class:`PredictionCacheWarning` naming the path, and the model runs; it never fails a run and
never returns predictions stored under another key.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from modeltests.support.atomic import atomic_path, remove_stale_temporaries
from modeltests.data.inputs import ModelInput, digest_text
from modeltests.support.digests import file_digest
from modeltests.support.environment import cache_dir, package_versions
from modeltests.support.digests import digest_of

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.data.datasets import Dataset
    from modeltests.data.spec import DatasetSpec

FORMAT_VERSION = 1
"""Bump when the stored layout or the key's meaning changes: older entries are then missed."""
FOLDER_NAME = "modeltests-predictions"
KEYED_VERSIONS = ("modeltests", "torch", "transformers", "tokenizers", "numpy", "timm")


def standalone_folder() -> Path:
    """Where :func:`modeltests.run` and the ``modeltests`` command keep predictions:
    ``<modeltests cache>/predictions`` (``$MODELTESTS_CACHE``, else ``~/.cache/modeltests``)."""
    return cache_dir() / "predictions"


class PredictionCacheWarning(UserWarning):
    """The prediction cache could not be read or written; the model ran instead."""


@dataclass(frozen=True)
class Lookup:
    """What the cache said about one dataset's predictions, for ``run.predictions``."""

    status: str
    """``hit``, ``miss``, ``off`` (bypassed) or ``not cacheable``."""
    reason: str = ""
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"from_cache": self.status == "hit", "cache": self.status}
        if self.reason:
            facts["reason"] = self.reason
        if self.path is not None:
            facts["path"] = str(self.path)
        return facts


def uncacheable_reason(adapter: ModelAdapter, fingerprint: dict[str, Any]) -> str | None:
    """Why ``adapter``'s predictions must not be reused across runs, or None when they may."""
    if not getattr(adapter, "cache_predictions", False):
        return (f"{type(adapter).__name__} does not declare deterministic predictions "
                "(cache_predictions)")
    if not fingerprint.get("files_known"):
        return "the model's files are unknown (not a local directory)"
    return None


def prediction_key(fingerprint: dict[str, Any], adapter: ModelAdapter, spec: DatasetSpec,
                   dataset: Dataset) -> str:
    """The sha256 of everything the predictions of ``adapter`` (whose
    :func:`~modeltests.predictions.fingerprints.model_fingerprint` is ``fingerprint``) on ``dataset``
    depend on."""
    return digest_of({
        "format": FORMAT_VERSION,
        "model": fingerprint["sha256"],
        "labels": list(adapter.labels),
        "batching": adapter.batching().to_json(),
        "device": str(adapter.device),
        "adapter_code": _module_digest(type(adapter)),
        "versions": package_versions(KEYED_VERSIONS),
        # Where the predictions are computed (executor: ray) does not change them: a Ray run
        # and a local run share their entries.
        "dataset": {"file": dataset.sha256,
                    "spec": spec.model_dump(mode="json", exclude={"executor", "ray"}),
                    "rows": _rows_digest(dataset)},
    })


def derived_key(fingerprint: dict[str, Any], recipe: dict[str, Any], adapter: ModelAdapter,
                texts: Sequence[ModelInput]) -> str:
    """The key of a copy of a model made by ``recipe`` (a quantized or pruned copy, which is
    a deterministic function of the source weights, the recipe and torch) on ``texts`` in this
    order. Quantized kernels may depend on the CPU and the thread count, so those are keyed
    too."""
    import platform

    return digest_of({
        "format": FORMAT_VERSION,
        "model": fingerprint["sha256"],
        "derived": recipe,
        "labels": list(adapter.labels),
        "batching": adapter.batching().to_json(),
        "device": str(adapter.device),
        "adapter_code": _module_digest(type(adapter)),
        "versions": package_versions(KEYED_VERSIONS),
        "cpu": [platform.machine(), platform.processor(), os.cpu_count(), _torch_threads()],
        "texts": _texts_digest(texts),
    })


def _torch_threads() -> int | None:
    import sys

    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _texts_digest(texts: Sequence[ModelInput]) -> str:
    """Both sides of a pair go into the digest (:func:`modeltests.data.inputs.digest_text`)."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = digest_text(text).encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()


def _rows_digest(dataset: Dataset) -> str:
    digest = hashlib.sha256()
    for text, label in zip(dataset.texts, dataset.labels):
        for value in (digest_text(text), label):
            encoded = value.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()


def _module_digest(kind: type) -> str | None:
    """The digest of the file defining the adapter class: an edited adapter invalidates."""
    try:
        return file_digest(Path(inspect.getfile(kind)))
    except (OSError, TypeError):
        return None


@dataclass
class PredictionCache:
    """A folder of ``<key>.npz`` entries; ``folder`` is resolved (and created) on first use.

    ``enabled=False`` (``--modeltests-no-cache``) bypasses it: nothing is read or written,
    and ``off_reason`` says why in ``run.predictions``.
    """

    folder: Callable[[], Path]
    enabled: bool = True
    off_reason: str = ""
    _resolved: Path | None = field(default=None, init=False)
    _unwritable: bool = field(default=False, init=False)

    def location(self) -> Path | None:
        """The cache folder, or None (with a warning) when it cannot be created."""
        if self._resolved is None and not self._unwritable:
            try:
                folder = self.folder()
                folder.mkdir(parents=True, exist_ok=True)
                self._resolved = folder
                remove_stale_temporaries(folder)  # left by a writer that was killed
            except OSError as exc:
                self._unwritable = True
                _warn(f"modeltests: prediction cache unavailable ({exc}); predictions are "
                      "computed")
        return self._resolved

    def path_for(self, key: str) -> Path | None:
        folder = self.location()
        return None if folder is None else folder / f"{key}.npz"

    def load(self, key: str, rows: int, label_names: list[str],
             validate: Callable[[Predictions], None] | None = None) -> Predictions | None:
        """The stored predictions under ``key``, or None (a miss). A damaged entry, or one that
        ``validate`` rejects, warns and is a miss."""
        path = self.path_for(key)
        if path is None or not path.exists():
            return None
        try:
            predictions = _read_entry(path, key, rows, label_names)
            if validate is not None:
                validate(predictions)
            return predictions
        except Exception as exc:  # a damaged file of any kind is a miss, never a crash
            _warn(f"modeltests: ignoring the cached predictions {path}: {exc}; they are "
                  "computed again")
            return None

    def store(self, key: str, predictions: Predictions) -> Path | None:
        """Write the entry atomically and return its path; a folder that cannot be written
        warns once, and then nothing is written (None)."""
        path = self.path_for(key)
        if path is None or self._unwritable:
            return None
        try:
            _write_entry(path, key, predictions)
        except OSError as exc:
            self._unwritable = True
            _warn(f"modeltests: cannot write the prediction cache {path.parent} ({exc}); "
                  "predictions are computed on every run")
            return None
        return path


def _read_entry(path: Path, key: str, rows: int, label_names: list[str]) -> Predictions:
    import numpy as np

    from modeltests.adapters.base import Predictions

    with np.load(path, allow_pickle=False) as entry:
        version = int(entry["format"])
        if version != FORMAT_VERSION:
            raise ValueError(f"format version {version}, expected {FORMAT_VERSION}")
        if str(entry["key"]) != key:
            raise ValueError("stored under another key")
        names = [str(n) for n in entry["label_names"]]
        labels = [str(label) for label in entry["labels"]]
        probabilities = entry["probabilities"] if bool(entry["has_probabilities"]) else None
    if names != list(label_names) or len(labels) != rows:
        raise ValueError(f"{len(labels)} rows for labels {names}, expected {rows} rows for "
                         f"{list(label_names)}")
    if probabilities is not None and probabilities.shape != (rows, len(names)):
        raise ValueError(f"probabilities of shape {probabilities.shape}")
    return Predictions(labels, names, None if probabilities is None
                       else np.asarray(probabilities, dtype=np.float64))


def _write_entry(path: Path, key: str, predictions: Predictions) -> None:
    import numpy as np

    probabilities = predictions.probabilities
    with atomic_path(path) as temporary:
        np.savez(temporary, format=np.int64(FORMAT_VERSION), key=np.str_(key),
                 label_names=np.array(predictions.label_names, dtype=str),
                 labels=np.array(predictions.labels, dtype=str),
                 has_probabilities=np.bool_(probabilities is not None),
                 probabilities=np.zeros((0, 0)) if probabilities is None
                 else np.asarray(probabilities, dtype=np.float64))


def _warn(message: str) -> None:
    warnings.warn(message, PredictionCacheWarning, stacklevel=3)
