"""``reports/modeltests.json``: run metadata and one entry per check (format in the README)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from modeltests.environment import environment_fingerprint
from modeltests.reporting.entries import ResultCollector, json_number
from modeltests.runtime import Runtime

FORMAT_VERSION = 1


def build_document(collector: ResultCollector, runtime: Runtime, argv: Sequence[str],
                   rootdir: Path) -> dict[str, Any]:
    """The whole JSON document: ``run`` metadata, ``summary`` counts and ``checks``."""
    finished = time.time()
    return {
        "format_version": FORMAT_VERSION,
        "run": {
            "started": _iso(collector.started),
            "finished": _iso(finished),
            "duration_s": round(finished - collector.started, 3),
            "argv": list(argv),
            "rootdir": str(rootdir),
            "environment": environment_fingerprint(),
            "device": _devices(runtime),
            "seeds": {suite.shown_path: suite.defaults.seed for suite in runtime.suites()},
            "models": _models(runtime),
            "datasets": [{"suite": suite.shown_path, **dataset.provenance()}
                         for suite, dataset in runtime.loaded_datasets()],
        },
        "summary": collector.counts(),
        "checks": collector.ordered(),
    }


def _models(runtime: Runtime) -> list[dict[str, Any]]:
    models = []
    for params, record in runtime.loaded_models():
        facts: dict[str, Any] = {"key": params.model_dump_json()}
        if record.adapter is not None:
            try:
                facts.update(record.adapter.describe())
            except Exception as exc:  # a user's describe() must not lose the report
                facts["describe_error"] = f"{type(exc).__name__}: {exc}"
            facts["load_seconds"] = round(record.seconds, 3)
            if record.build_seconds:
                facts["build_seconds"] = round(record.build_seconds, 3)
        else:
            facts["load_error"] = str(record.error)
        models.append(facts)
    return models


def _devices(runtime: Runtime) -> str | None:
    """The devices the loaded models ran on, e.g. ``cpu`` (None when no model loaded)."""
    devices = sorted({str(record.adapter.device) for _, record in runtime.loaded_models()
                      if record.adapter is not None})
    return ", ".join(devices) or None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds")


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write atomically (a crash mid-write never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(_finite(document), indent=2, default=_default,
                                    allow_nan=False), encoding="utf-8")
    temporary.replace(path)


def _finite(value: Any) -> Any:
    """NaN and infinities anywhere in the document made JSON-safe (a model that answers NaN
    must not stop its own report from being written)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return json_number(value)


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
