"""``reports/modeltests.json``: run metadata and one entry per check (format in the README)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from modeltests.reporting.collector import ResultCollector

FORMAT_VERSION = 1
_VERSIONED = ("modeltests", "pytest", "torch", "transformers", "textattack", "hypothesis",
              "pandas", "numpy")


def build_document(collector: ResultCollector, runtime: Any, config: pytest.Config
                   ) -> dict[str, Any]:
    """The whole JSON document: ``run`` metadata, ``summary`` counts and ``checks``."""
    finished = time.time()
    return {
        "format_version": FORMAT_VERSION,
        "run": {
            "started": _iso(collector.started),
            "finished": _iso(finished),
            "duration_s": round(finished - collector.started, 3),
            "argv": list(config.invocation_params.args),
            "rootdir": str(config.rootpath),
            "environment": environment_fingerprint(),
            "device": _devices(runtime),
            "seeds": _seeds(runtime, config),
            "models": _models(runtime),
        },
        "summary": collector.counts(),
        "checks": collector.ordered(),
    }


def environment_fingerprint() -> dict[str, Any]:
    """What a result depends on: versions, platform, threads, device, seeds in effect."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "versions": versions,
    }
    torch = sys.modules.get("torch")  # only if a check already imported it
    if torch is not None:
        facts["torch_threads"] = torch.get_num_threads()
        facts["cuda_available"] = bool(torch.cuda.is_available())
        if facts["cuda_available"]:
            facts["cuda_device"] = torch.cuda.get_device_name(0)
    return facts


def _models(runtime: Any) -> list[dict[str, Any]]:
    models = []
    for key, record in getattr(runtime, "_models", {}).items():
        facts: dict[str, Any] = {"key": key.split("::", 1)[-1]}
        if record.adapter is not None:
            try:
                facts.update(record.adapter.describe())
            except Exception as exc:  # a user's describe() must not lose the report
                facts["describe_error"] = f"{type(exc).__name__}: {exc}"
            facts["load_seconds"] = round(record.seconds, 3)
        else:
            facts["load_error"] = str(record.error)
        models.append(facts)
    return models


def _devices(runtime: Any) -> str | None:
    """The devices the loaded models ran on, e.g. ``cpu`` (None when no model loaded)."""
    devices = sorted({str(getattr(r.adapter, "device", "cpu"))
                      for r in getattr(runtime, "_models", {}).values() if r.adapter is not None})
    return ", ".join(devices) or None


def _seeds(runtime: Any, config: pytest.Config) -> dict[str, int]:
    """``defaults.seed`` of each collected suite, by path relative to the rootdir."""
    seeds = {}
    for path, suite in getattr(runtime, "suites", {}).items():
        try:
            shown = str(path.relative_to(config.rootpath.resolve()))
        except ValueError:
            shown = str(path)
        seeds[shown] = suite.defaults.seed
    return seeds


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
    """JSON has no NaN or infinity: NaN becomes null, infinities the strings "inf" / "-inf"
    (a model that answers NaN must not stop its own report from being written)."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)
