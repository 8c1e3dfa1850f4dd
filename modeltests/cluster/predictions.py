"""Whole-dataset predictions on a Ray cluster (``executor: ray`` on a dataset).

The texts (or images: each an :class:`~modeltests.data.inputs.ImageInput`, pickled whole into
an ``image`` column, so its pixels and normalisation travel with it) go through Ray Data
``map_batches`` to a pool of actors; each actor rebuilds the
model ONCE from the suite's own ``model:`` parameters with the same adapter kind (so the same
tokenizer, truncation and token-aware batching), and every row carries its index so the
answer comes back in dataset order, whatever order the actors finish in. A row missing or
doubled is an error, never a partial result. Ray is imported inside functions: a run that
never asks for it never loads it (``pip install 'modeltests[ray]'`` adds it).
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from modeltests.adapters.base import (
    AdapterKind,
    AdapterParams,
    LoadContext,
    ModelAdapter,
    Predictions,
)
from modeltests.errors import ModelLoadError, ModelTestsError, RayExecutorError
from modeltests.data.inputs import ImageInput, ModelInput
from modeltests.data.spec import RayOptions

if TYPE_CHECKING:
    from types import ModuleType

    import numpy as np

INSTALL_HINT = "pip install 'modeltests[ray]'"
RETRIES = 2
"""A killed actor is restarted, and its batch run again, this many times; after that the run
errors (Ray Data's default, -1, would retry a crashing model forever)."""

_JOINED: dict[str, str] = {}
"""The address this process joined (one cluster per process, as Ray allows)."""


@dataclass(frozen=True)
class ModelRecipe:
    """What an actor needs to load the same model as this process: the adapter kind, the
    suite's ``model:`` parameters and the paths they resolve against (picklable)."""

    kind: AdapterKind[Any]
    params: AdapterParams
    base_dir: Path
    rootdir: Path
    location: str
    key_path: tuple[str, ...]
    builtins: dict[str, Callable[[], Path]]
    labels: tuple[str, ...]

    def load(self) -> ModelAdapter:
        """The model, loaded here as the suite's process loaded it."""
        context = LoadContext(base_dir=self.base_dir, rootdir=self.rootdir,
                              location=self.location, key_path=self.key_path,
                              builtin_model=self._builtin, builtin_names=tuple(self.builtins))
        adapter = self.kind.load(self.params, context)
        if self.params.labels is not None:
            adapter.labels = list(self.params.labels)
        return adapter

    def _builtin(self, name: str) -> Path:
        if name not in self.builtins:
            raise ModelLoadError(f"unknown built-in model 'builtin:{name}'")
        return self.builtins[name]()


def require_ray(location: str) -> ModuleType:
    """The ``ray`` module, or an error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise RayExecutorError(f"{location}: executor: ray needs Ray, which is not installed: "
                               f"{INSTALL_HINT}") from None
    return ray


def connect(options: RayOptions, location: str) -> str:
    """Join (or start) the cluster ``options`` name; returns the address used. A cluster this
    process already joined is reused as it is."""
    ray = require_ray(location)
    if ray.is_initialized():
        return _JOINED.get("address", "joined before modeltests")
    address = options.address or os.environ.get("RAY_ADDRESS") or "local"
    if address == "local":
        # address="local": a new cluster even when one runs on this machine (plain ray.init()
        # would join it, and refuse num_cpus).
        cpus = max(1, int(options.workers * options.cpus_per_worker + 0.999))
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env=options.runtime_env)
    else:
        _probe(address, options.connect_timeout_s, location)
        try:
            ray.init(address=address, runtime_env=options.runtime_env, log_to_driver=False)
        except Exception as exc:  # ConnectionError, RuntimeError, grpc errors: say why
            raise RayExecutorError(f"{location}: cannot connect to the Ray cluster at "
                                   f"{address!r}: {type(exc).__name__}: {_first_line(exc)}"
                                   ) from None
    _JOINED["address"] = address
    return address


def _probe(address: str, timeout_s: float, location: str) -> None:
    """Fail fast (within ``timeout_s``) on an address nothing listens at: ``ray.init`` itself
    may wait minutes for a cluster that is not there."""
    if address == "auto":
        return  # ray.init finds (or not) the local cluster's address file at once
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayExecutorError(f"{location}: ray.address {address!r} is not 'local', 'auto', "
                               "'HOST:PORT' or 'ray://HOST:PORT'")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RayExecutorError(f"{location}: cannot reach the Ray cluster at {address!r} "
                               f"within {timeout_s:g} s: {exc}") from None


class _Predictor:
    """A Ray Data actor: loads the model once, then predicts batch after batch.

    A failure (the model does not load here, or raises) comes back as data, in the ``error``
    column of the batch: Ray hands the driver only the text of a remote traceback."""

    def __init__(self, recipe: ModelRecipe) -> None:
        self.labels = recipe.labels
        self.error = ""
        self.load_seconds = 0.0
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        started = time.perf_counter()
        try:
            self.adapter = recipe.load()
        except Exception as exc:
            self.error = (f"model failed to load on Ray worker {self.worker}: "
                          f"{type(exc).__name__}: {exc}")
            return
        if tuple(self.adapter.labels) != recipe.labels:
            self.error = (f"the model loaded on Ray worker {self.worker} has labels "
                          f"{self.adapter.labels}, this process's has {list(recipe.labels)}: "
                          "the workers read another model")
        self.load_seconds = time.perf_counter() - started

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import numpy as np

        rows = len(batch["row"])
        labels: list[str] = [""] * rows
        probs = np.zeros((rows, len(self.labels)))
        error = self.error
        if not error:
            try:
                predictions = self.adapter.predict(_inputs(batch))
                labels = list(predictions.labels)
                if predictions.probabilities is not None:
                    probs = np.asarray(predictions.probabilities, dtype=np.float64)
                else:
                    probs = np.full((rows, len(self.labels)), np.nan)
            except Exception as exc:
                error = (f"model raised {type(exc).__name__} in predict on Ray worker "
                         f"{self.worker}: {exc}")
        out = {"row": batch["row"], "label": np.asarray(labels, dtype=object), "probs": probs,
               "worker": np.asarray([self.worker] * rows, dtype=object),
               "load_s": np.full(rows, self.load_seconds),
               "error": np.asarray([error] * rows, dtype=object)}
        if "expected" in batch:  # streamed metrics: the dataset's label rides along
            out["expected"] = batch["expected"]
        return out


def _inputs(batch: dict[str, np.ndarray]) -> list[ModelInput]:
    """A batch's model inputs: the texts, or the images unpickled from the ``image`` column
    (Arrow would keep only the text of an ImageInput, its name)."""
    import pickle

    if "image" in batch:
        return [pickle.loads(raw) for raw in batch["image"]]
    return [str(t) for t in batch["text"]]


def _item(row: int, text: ModelInput) -> dict[str, Any]:
    """One Ray Data row: its number, the text, and an image pickled whole."""
    import pickle

    item: dict[str, Any] = {"row": row, "text": str(text)}
    if isinstance(text, ImageInput):
        item["image"] = pickle.dumps(text, protocol=pickle.HIGHEST_PROTOCOL)
    return item


def predict(recipe: ModelRecipe, texts: Sequence[ModelInput], options: RayOptions, location: str,
            address_location: str | None = None) -> tuple[Predictions, dict[str, Any]]:
    """Predictions of ``recipe``'s model on ``texts`` computed by Ray actors, in the order of
    ``texts``, and the facts of the run (rows, blocks, workers, seconds per stage). Errors are
    prefixed by ``location`` (``address_location`` for those about the address)."""
    stages: dict[str, float] = {}
    started = time.perf_counter()
    address = connect(options, address_location or location)
    stages["connect"] = time.perf_counter() - started
    ray = require_ray(location)
    import ray.data

    mark = time.perf_counter()
    with warnings.catch_warnings():  # Ray's own deprecations, raised on first use
        warnings.simplefilter("ignore", DeprecationWarning)
        ray.data.DataContext.get_current().enable_progress_bars = False
    items = [_item(row, text) for row, text in enumerate(texts)]
    blocks = max(options.workers, -(-len(items) // options.batch_rows))
    source = ray.data.from_items(items, override_num_blocks=blocks)
    stages["dataset"] = time.perf_counter() - mark
    mark = time.perf_counter()
    try:
        output = predict_stage(source, recipe, options)
        parts = list(output.iter_batches(batch_format="numpy", batch_size=None))
    except Exception as exc:  # a RayTaskError wraps the worker's own exception
        raise RayExecutorError(f"{location}: prediction on Ray ({address}) failed: "
                               f"{failure_cause(exc)}") from None
    stages["predict"] = time.perf_counter() - mark
    mark = time.perf_counter()
    predictions, workers = _assemble(parts, len(texts), recipe.labels, location)
    stages["assemble"] = time.perf_counter() - mark
    loads = [float(p["load_s"][0]) for p in parts if len(p["load_s"])]
    facts = {"executor": "ray", "work": "predict", "address": address, "rows": len(texts),
             "blocks": blocks,
             "batch_rows": options.batch_rows, "workers_requested": options.workers,
             "workers_answered": len(workers),
             "cluster_cpus": ray.cluster_resources().get("CPU"),
             "worker_load_seconds_max": round(max(loads, default=0.0), 3),
             "seconds": {k: round(v, 3) for k, v in stages.items()}}
    return predictions, facts


def predict_stage(source: Any, recipe: ModelRecipe, options: RayOptions,
                  min_workers: int | None = None) -> Any:
    """``source`` (a Ray Dataset with ``row`` and ``text`` columns, ``expected`` optional)
    mapped by a pool of ``options.workers`` actors (from ``min_workers`` up, when given), each
    loading ``recipe``'s model once: adds ``label``, ``probs``, ``worker``, ``load_s`` and
    ``error`` (empty when fine)."""
    import ray.data

    size = options.workers
    pool = ray.data.ActorPoolStrategy(size=size) if min_workers is None else \
        ray.data.ActorPoolStrategy(min_size=min(min_workers, size), max_size=size)

    with warnings.catch_warnings():
        # Ray 2.60 names no parameter for max_restarts / max_task_retries other than the
        # deprecated **ray_remote_args (pinned <2.61 in the extra).
        warnings.simplefilter("ignore", DeprecationWarning)
        return source.map_batches(
            _Predictor, fn_constructor_args=(recipe,), batch_size=options.batch_rows,
            batch_format="numpy", compute=pool,
            num_cpus=options.cpus_per_worker, max_restarts=RETRIES,
            max_task_retries=RETRIES, runtime_env=options.runtime_env)


def _assemble(parts: list[dict[str, Any]], rows: int, labels: Sequence[str], location: str
              ) -> tuple[Predictions, set[str]]:
    """The batches the actors returned, as one :class:`Predictions` in row order; every row
    must be there exactly once."""
    import numpy as np

    parts = [p for p in parts if len(p["row"])]
    if not parts:
        return Predictions.from_labels([], labels), set()
    errors = [str(e) for p in parts for e in p["error"] if e]
    if errors:
        raise RayExecutorError(f"{location}: {errors[0]}"
                               + (f" ({len(errors)} rows failed)" if len(errors) > 1 else ""))
    index = np.concatenate([p["row"] for p in parts]).astype(np.int64)
    if len(index) != rows or not np.array_equal(np.sort(index), np.arange(rows)):
        raise RayExecutorError(f"{location}: Ray returned {len(index)} predictions "
                               f"({len(np.unique(index))} distinct rows) for {rows} texts")
    order = np.argsort(index, kind="stable")
    predicted = np.concatenate([p["label"] for p in parts])[order]
    workers = {str(w) for p in parts for w in p["worker"]}
    matrix = np.concatenate([np.asarray(p["probs"]) for p in parts])[order]
    if np.isnan(matrix).all():  # a model without probabilities
        return Predictions.from_labels([str(x) for x in predicted], labels), workers
    return Predictions([str(x) for x in predicted], list(labels), matrix), workers


def failure_cause(exc: BaseException) -> str:
    """The innermost error a Ray failure carries that says something, on one line (no remote
    traceback): the worker's own ModelTestsError when there is one."""
    chain: list[BaseException] = [exc]
    while len(chain) < 10:
        inner = getattr(chain[-1], "cause", None) or chain[-1].__cause__
        if not isinstance(inner, BaseException) or inner in chain:
            break
        chain.append(inner)
    for error in reversed(chain):
        if isinstance(error, ModelTestsError):
            return _first_line(error)
    telling = [e for e in chain if _first_line(e) != type(e).__name__] or chain
    found = telling[-1]
    if "error raised in its creation task" in str(found):
        # The actor could not even be built on the worker: the reason is the last line of the
        # remote traceback Ray puts in the message (an import error, most often).
        reason = _last_error_line(str(found)) or _first_line(found)
        hint = " (every worker needs modeltests, at this version, and the model's libraries: " \
            "install them in the cluster's image or with ray.runtime_env)" \
            if "No module named 'modeltests" in reason else ""
        return f"a Ray worker could not create the model actor: {reason}{hint}"
    died = " (the worker process died; Ray restarted it and ran its batch again " \
        f"{RETRIES} times)" if type(found).__name__ == "ActorDiedError" else ""
    return f"{type(found).__name__}: {_first_line(found)}{died}"


def _last_error_line(text: str) -> str | None:
    """``ModuleNotFoundError: No module named 'x'``: the last exception line of a traceback."""
    import re

    for line in reversed(text.splitlines()):
        match = re.match(r"^\s*(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$", line)
        if match:
            return f"{match.group(1)}: {match.group(2)}"
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
