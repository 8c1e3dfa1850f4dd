"""``reports/modeltests.json``: run metadata and one entry per check (format:
docs/reference/json-report.md, generated from this module and :mod:`.entries`)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from modeltests.reporting.entries import ResultCollector, json_number
from modeltests.support.atomic import atomic_path
from modeltests.support.jsonable import jsonable
from modeltests.support.digests import digest_of

FORMAT_VERSION = 1
LOAD_TIMINGS = ("load_seconds", "build_seconds", "server")
"""Model facts that differ between two loads of the same model (a served model's server:
each pytest-xdist worker starts its own, on its own ports)."""

RunFacts = dict[str, Any]
"""``{"environment": {...}, "devices": [...], "seeds": {...}, "models": [...],
"datasets": [...], "predictions": [...]}`` (JSON-ready)."""


def build_document(collector: ResultCollector, parts: Sequence[RunFacts], argv: Sequence[str],
                   rootdir: Path, mask: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """The whole JSON document: ``run`` metadata, ``summary`` counts and ``checks``.

    ``parts`` are the run facts of every process that ran checks (this one first, then the
    pytest-xdist workers, which loaded the models this process did not); ``mask`` hides every
    secret the session knows.
    """
    finished = time.time()
    facts = merge_run_facts(parts)
    document = {
        "format_version": FORMAT_VERSION,
        "run": {
            "started": _iso(collector.started),
            "finished": _iso(finished),
            "duration_s": round(finished - collector.started, 3),
            "argv": list(argv),
            "rootdir": str(rootdir),
            "environment": facts["environment"],
            "device": ", ".join(facts["devices"]) or None,
            "seeds": facts["seeds"],
            "models": facts["models"],
            "datasets": facts["datasets"],
            "predictions": facts["predictions"],
            "fingerprint": run_fingerprint(facts),
            "undecided_policy": facts.get("undecided_policy"),
            **({"executors": facts["executors"]} if facts.get("executors") else {}),
        },
        "summary": collector.counts(),
        "checks": collector.ordered(),
    }
    return mask(document)


def merge_run_facts(parts: Sequence[RunFacts]) -> RunFacts:
    """The run facts of several processes as one: a model loaded by two workers is listed once
    (the first load), devices and seeds are united, and the environment takes the facts only a
    process that ran models knows (torch's threads, CUDA) from the first that has them."""
    merged: RunFacts = {"environment": {}, "devices": [], "seeds": {}, "suites": {},
                        "models": [], "datasets": [], "predictions": [], "executors": []}
    seen: set[str] = set()
    for part in parts:
        for key, value in part["environment"].items():
            merged["environment"].setdefault(key, value)
        merged["devices"] = sorted(set(merged["devices"]) | set(part["devices"]))
        merged["seeds"].update(part["seeds"])
        merged.setdefault("undecided_policy", part.get("undecided_policy"))
        merged["suites"].update(part.get("suites", {}))
        for model in part["models"]:
            identity = json.dumps({k: v for k, v in model.items() if k not in LOAD_TIMINGS},
                                  sort_keys=True, default=str)
            if identity not in seen:
                seen.add(identity)
                merged["models"].append(model)
        merged["executors"].extend(part.get("executors", []))
        for dataset in part.get("datasets", []):
            if dataset not in merged["datasets"]:
                merged["datasets"].append(dataset)
        merged["predictions"].extend(part.get("predictions", []))
    return merged


def run_fingerprint(facts: RunFacts) -> dict[str, Any]:
    """One digest per suite file, model and dataset file, the library versions, the seeds, and
    one ``sha256`` over all of them: two runs with the same ``sha256`` read the same suites,
    models (their files, and for a callable or torch factory the project modules it imports:
    :func:`modeltests.adapters.imports.project_sources`) and data (by content, wherever it
    lies) with the same libraries. (Threads differ per check: each check's entry has
    its own ``torch_threads``.)"""
    parts = {
        "suites": dict(sorted(facts.get("suites", {}).items())),
        "models": sorted(str((m.get("fingerprint") or {}).get("sha256")) for m in facts["models"]),
        # Content, not location: the same files in another folder read the same data.
        "datasets": sorted({str(d.get("sha256")) for d in facts["datasets"]}),
        "versions": facts["environment"].get("versions", {}),
        "seeds": dict(sorted(facts["seeds"].items())),
    }
    return {**parts, "sha256": digest_of(parts)}


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds")


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write atomically (a crash mid-write never leaves half a file)."""
    with atomic_path(path) as temporary:
        temporary.write_text(document_text(document, indent=2), encoding="utf-8")


def document_text(document: dict[str, Any], indent: int | None = None) -> str:
    """The document as strict JSON text (what the JSON report and the run history store)."""
    return json.dumps(_finite(document), indent=indent, default=jsonable, allow_nan=False)


def _finite(value: Any) -> Any:
    """NaN and infinities anywhere in the document made JSON-safe (a model that answers NaN
    must not stop its own report from being written)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return json_number(value)
