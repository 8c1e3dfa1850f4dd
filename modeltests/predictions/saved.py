"""Predictions saved by one run and read back by a later one as a ``regression`` baseline.

``--modeltests-save-predictions DIR`` writes, for every whole dataset a model predicted, one
Parquet file ``DIR/<dataset>-<sha256[:12]>-<model>.parquet``: a row per dataset row (``row``,
``text``, ``label``, ``predicted`` and one ``p:<label>`` column per class when the model gives
probabilities) and, in the file's metadata, the dataset's name, path and sha256, the label
names, the model's fingerprint and the modeltests version. A later suite compares its candidate
with them through ``regression``'s ``baseline_predictions:``; the file is refused, naming what
changed, when the dataset's digest or texts are not the ones the predictions were made on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeltests.support.atomic import atomic_path
from modeltests.errors import SuiteError

if TYPE_CHECKING:
    from modeltests.adapters.base import Predictions
    from modeltests.data.datasets import Dataset

FORMAT = "modeltests-predictions-v1"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def saved_name(dataset: Dataset, model_label: str) -> str:
    """``<dataset>-<sha256[:12]>-<model>.parquet`` (names made safe for any file system)."""
    return f"{_UNSAFE.sub('_', dataset.name)}-{dataset.sha256[:12]}-" \
           f"{_UNSAFE.sub('_', model_label)}.parquet"


def save_predictions(directory: Path, dataset: Dataset, predictions: Predictions,
                     model_label: str, model_sha256: str | None) -> Path:
    """Write ``predictions`` of ``dataset`` under ``directory`` (atomically) and return the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modeltests.data.inputs import TextPair

    # A pair's sides go in two string columns, ``text`` and ``text_pair`` (the names of
    # transformers' tokenizer arguments): Parquet readers see plain text either way.
    firsts = [t.first if isinstance(t, TextPair) else t for t in dataset.texts]
    columns: dict[str, Any] = {"row": list(range(len(dataset))), "text": firsts}
    if dataset.is_pairs:
        columns["text_pair"] = [t.second if isinstance(t, TextPair) else "" for t in dataset.texts]
    columns.update({"label": list(dataset.labels), "predicted": list(predictions.labels)})
    if predictions.probabilities is not None:
        for index, name in enumerate(predictions.label_names):
            columns[f"p:{name}"] = predictions.probabilities[:, index].tolist()
    metadata = {"format": FORMAT, "dataset_name": dataset.name,
                "dataset_path": str(dataset.path.resolve()), "dataset_sha256": dataset.sha256,
                "label_names": predictions.label_names, "model": model_label,
                "model_sha256": model_sha256, "modeltests_version": _version()}
    table = pa.table(columns).replace_schema_metadata(
        {b"modeltests": json.dumps(metadata).encode("utf-8")})
    target = directory / saved_name(dataset, model_label)
    with atomic_path(target) as temporary:
        pq.write_table(table, temporary)
    return target


def load_predictions(path: Path, dataset: Dataset, location: str) -> Predictions:
    """The predictions saved in ``path``, for ``dataset``; a :class:`SuiteError` at ``location``
    when the file is not a predictions file or was saved for other data."""
    import numpy as np

    from modeltests.adapters.base import Predictions

    table, metadata = _read(path, location)
    _same_data(path, metadata, _saved_inputs(table), dataset, location)
    names = [str(n) for n in metadata.get("label_names") or []]
    predicted = [str(p) for p in table.column("predicted").to_pylist()]
    columns = [f"p:{name}" for name in names]
    if names and all(c in table.column_names for c in columns):
        matrix = np.column_stack([np.asarray(table.column(c).to_pylist(), dtype=np.float64)
                                  for c in columns])
        return Predictions(predicted, names, matrix)
    return Predictions.from_labels(predicted, names or sorted(set(predicted)))


def _read(path: Path, location: str) -> tuple[Any, dict[str, Any]]:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise SuiteError(f"{location}: no saved predictions at {path} (write them with "
                         "--modeltests-save-predictions DIR on the run to compare with)")
    try:
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"modeltests")
        metadata = json.loads(raw) if raw else {}
    except (OSError, ValueError) as exc:
        raise SuiteError(f"{location}: {path} is not a readable Parquet file ({exc})") from None
    if metadata.get("format") != FORMAT or not {"text", "predicted"} <= set(table.column_names):
        raise SuiteError(f"{location}: {path} is not a modeltests predictions file (expected "
                         f"format {FORMAT!r}, found {metadata.get('format')!r})")
    return table, metadata


def _saved_inputs(table: Any) -> list[Any]:
    """The inputs a predictions file was saved on: texts, or pairs from ``text_pair``."""
    from modeltests.data.inputs import TextPair

    firsts = [str(t) for t in table.column("text").to_pylist()]
    if "text_pair" not in table.column_names:
        return firsts
    seconds = [str(t) for t in table.column("text_pair").to_pylist()]
    return [TextPair(a, b) for a, b in zip(firsts, seconds)]


def _same_data(path: Path, metadata: dict[str, Any], texts: list[Any], dataset: Dataset,
               location: str) -> None:
    saved_digest = str(metadata.get("dataset_sha256") or "")
    if saved_digest != dataset.sha256:
        raise SuiteError(
            f"{location}: {path.name} holds predictions on {metadata.get('dataset_path')} "
            f"(sha256 {saved_digest[:12]}), but dataset {dataset.name!r} is {dataset.path} "
            f"(sha256 {dataset.sha256[:12]}): the data changed since they were saved; save "
            "the baseline's predictions again on this data")
    if [t if isinstance(t, tuple) else str(t) for t in texts] != list(dataset.texts):
        raise SuiteError(
            f"{location}: {path.name} was saved on the same file but its {len(texts)} texts "
            f"differ from the dataset's {len(dataset)} (another text_column, label_map or "
            "unlabelled: setting?); save the baseline's predictions again with this suite")


def _version() -> str | None:
    from modeltests.support.environment import package_versions

    return package_versions(("modeltests",))["modeltests"]
