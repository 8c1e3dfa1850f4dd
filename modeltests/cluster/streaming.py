"""A confusion matrix over a file too big for memory: Ray Data reads it in blocks, actors predict
each block, each block becomes (expected, predicted) counts, and only the counts come back.

This process never holds the texts, the labels or the predictions: its memory is the counts
(labels x labels integers). A dataset with ``stream: true`` is read this way
(:meth:`modeltests.session.predictor.Predictor.streamed_counts`), and the ``accuracy`` check computes
its metrics and intervals from the counts (its slices and failing examples need rows, so a
streamed dataset has none: an error at setup for slices, no examples in the report).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from modeltests.data.datasets import label_text
from modeltests.errors import DatasetError, RayExecutorError
from modeltests.cluster.predictions import ModelRecipe, connect, failure_cause, predict_stage
from modeltests.data.spec import DatasetSpec, RayOptions

if TYPE_CHECKING:
    import pandas as pd

_FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".jsonl": "jsonl"}


@dataclass
class StreamedCounts:
    """Counts of (expected, predicted) label pairs over a whole file, and how they were made."""

    labels: list[str]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    unlabelled: int = 0
    blocks: int = 0
    workers: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def matrix(self) -> list[list[int]]:
        """Rows: expected label, columns: predicted label, both in ``labels`` order."""
        return [[self.counts.get((e, p), 0) for p in self.labels] for e in self.labels]

    def accuracy(self) -> float:
        right = sum(n for (expected, predicted), n in self.counts.items() if expected == predicted)
        return right / self.rows if self.rows else float("nan")


def count_dataset(recipe: ModelRecipe, name: str, spec: DatasetSpec, base_dir: Path,
                  locate: Callable[..., str]
                  ) -> tuple[StreamedCounts, dict[str, Any], dict[str, Any]]:
    """The counts of the dataset ``name`` (``spec``, its path relative to ``base_dir``), checked
    as a loaded dataset is (the file exists, its labels are the model's, a labelled row at
    least); with the facts of the run (``run.executors``) and the file as ``run.datasets``
    lists a loaded one. ``locate(*key)`` is the ``suite.yaml:LINE`` of a key of the dataset."""
    from modeltests.support.digests import file_digest

    path = Path(spec.path).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise DatasetError(f"{locate('path')}: datasets.{name}.path: dataset file not found: "
                           f"{path}")
    options = spec.ray or RayOptions()
    counts = streamed_confusion(recipe, path, spec, options, locate("stream"))
    unknown = sorted({expected for expected, _ in counts.counts} - set(recipe.labels))
    if unknown:
        raise DatasetError(
            f"{locate()}: datasets.{name}: label(s) {', '.join(repr(u) for u in unknown[:5])} "
            f"are not labels of the model (model labels: {', '.join(recipe.labels)}); map them "
            f"with datasets.{name}.label_map or set model.labels")
    if not counts.rows:
        raise DatasetError(f"{locate()}: datasets.{name}: no labelled row in {path.name}")
    facts = {"executor": "ray", "work": "stream", "rows": counts.rows,
             "unlabelled": counts.unlabelled, "blocks": counts.blocks,
             "workers_requested": options.workers, "workers_answered": len(counts.workers),
             "seconds": {k: round(v, 3) for k, v in counts.seconds.items()}}
    per_label: dict[str, int] = {}
    for (expected, _), n in counts.counts.items():
        per_label[expected] = per_label.get(expected, 0) + n
    # One sequential read for the digest, so that the run's fingerprint covers the file.
    provenance = {"name": name, "path": str(path.resolve()), "sha256": file_digest(path),
                  "rows": counts.rows, "dropped_unlabelled": counts.unlabelled,
                  "label_counts": dict(sorted(per_label.items())), "streamed": True}
    return counts, facts, provenance


def streamed_confusion(recipe: ModelRecipe, path: Path, spec: DatasetSpec, options: RayOptions,
                       location: str) -> StreamedCounts:
    """The confusion matrix of ``recipe``'s model on the file ``path`` described by ``spec``
    (columns, ``label_map``, ``limit``, ``unlabelled``), counted block by block on Ray."""
    started = time.perf_counter()
    connect(options, location)
    import ray.data

    context = ray.data.DataContext.get_current()
    with warnings.catch_warnings():  # Ray's own deprecations, raised on first use
        warnings.simplefilter("ignore", DeprecationWarning)
        context.enable_progress_bars = False
    fmt = spec.format if spec.format != "auto" else _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RayExecutorError(f"{location}: cannot stream {path.name}: csv, jsonl or parquet")
    # The actors work block by block, so a file read as one block (a Parquet file of one row
    # group, a CSV smaller than Ray's 128 MiB target) would keep every actor but one idle:
    # blocks of at most 1/workers of the file's bytes (at least 1 MiB, at most Ray's own
    # target) give each actor some; the setting is restored once the counts are in.
    before = context.target_max_block_size
    context.target_max_block_size = max(1 << 20, min(before or (128 << 20),
                                                     path.stat().st_size // options.workers))
    try:
        return _count(recipe, path, spec, options, location, fmt, started)
    finally:
        context.target_max_block_size = before


def _count(recipe: ModelRecipe, path: Path, spec: DatasetSpec, options: RayOptions,
           location: str, fmt: str, started: float) -> StreamedCounts:
    import ray.data

    readers = {"csv": ray.data.read_csv, "parquet": ray.data.read_parquet,
               "jsonl": ray.data.read_json}
    # Reading, preparing and counting reserve no CPU, and the actor pool starts at one actor
    # and grows: the actors may hold every CPU of the cluster (workers x cpus_per_worker), and
    # a task that needs one (Ray's parquet file listing does, whatever num_cpus says) would
    # otherwise wait for ever.
    source: Any = readers[fmt](str(path), num_cpus=0)  # Any: map_batches wants one batch type
    if spec.limit is not None:
        source = source.limit(spec.limit)
    prepared = source.map_batches(_prepare, fn_kwargs={"spec": spec}, batch_format="pandas",
                                  num_cpus=0)
    counted = predict_stage(prepared, recipe, options, min_workers=1).map_batches(
        _pair_counts, batch_format="pandas", num_cpus=0)
    result = StreamedCounts(list(recipe.labels))
    result.seconds["connect"] = time.perf_counter() - started
    mark = time.perf_counter()
    try:
        for batch in counted.iter_batches(batch_format="pandas", batch_size=None):
            _add(result, batch, location)
    except RayExecutorError:
        raise
    except Exception as exc:
        raise RayExecutorError(f"{location}: streaming {path.name} on Ray failed: "
                               f"{failure_cause(exc)}") from None
    result.seconds["read_predict_count"] = time.perf_counter() - mark
    if result.unlabelled and spec.unlabelled == "error":
        raise RayExecutorError(f"{location}: {result.unlabelled} row(s) of {path.name} have no "
                               f"'{spec.label_column}'; label them or set unlabelled: drop")
    return result


def _prepare(block: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """A file's block as ``row``/``text``/``expected`` (empty when unlabelled), ``label_map``
    applied: the rules of :func:`modeltests.data.datasets.load_dataset`."""
    import pandas as pd

    for column in (spec.text_columns[0], spec.label_column):
        if column not in block.columns:
            raise RayExecutorError(f"column {column!r} not found (columns: "
                                   f"{', '.join(map(str, block.columns))})")
    # Arrow hands missing cells to pandas as None, NaN or pd.NA, depending on the column type.
    texts = ["" if pd.isna(v) else str(v) for v in block[spec.text_columns[0]]]
    expected = ["" if pd.isna(v) else label_text(v, spec.label_map) or ""
                for v in block[spec.label_column]]
    frame: pd.DataFrame = pd.DataFrame({"row": range(len(block)), "text": texts,
                                        "expected": expected})
    return frame


def _pair_counts(block: pd.DataFrame) -> pd.DataFrame:
    """One block's predictions as counts per (expected, predicted, error, worker)."""
    keys = ["expected", "label", "error", "worker"]
    counts: pd.DataFrame = block[keys].astype(str).groupby(keys).size().reset_index(name="count")
    return counts


def _add(result: StreamedCounts, batch: Any, location: str) -> None:
    result.blocks += 1
    for expected, predicted, error, worker, count in batch.itertuples(index=False):
        if error:
            raise RayExecutorError(f"{location}: {error}")
        result.workers.add(worker)
        if not expected:
            result.unlabelled += int(count)
            continue
        key = (expected, predicted)
        result.counts[key] = result.counts.get(key, 0) + int(count)
