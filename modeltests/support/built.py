"""Things built once into the cache (built-in models, converted GGUF checkpoints): a build
that is renamed into place, under a file lock, so concurrent sessions never build a model twice
and nobody ever sees half a model.

A finished build holds ``BUILD_OK.json`` (:data:`MARKER`), whose ``recipe`` names how it was
built: a directory with another recipe (an older build) is rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

MARKER = "BUILD_OK.json"
GGUF_RECIPE = "gguf-v1"
"""The recipe of a GGUF checkpoint converted into a transformers directory."""


def converted_gguf_dir(file: Path, cache: Path) -> Path:
    """Where a GGUF checkpoint ``file`` is kept converted under ``cache``: named by the file's
    name, size and modification time (a changed file is converted again)."""
    stat = file.stat()
    return cache / "gguf" / f"{file.stem}-{stat.st_size}-{int(stat.st_mtime)}"


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The build marker of ``directory``, or None when it is missing or unreadable."""
    try:
        marker = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def is_built(directory: Path, recipe: str) -> bool:
    """Whether ``directory`` holds a finished build of ``recipe``."""
    marker = read_marker(directory)
    return marker is not None and marker.get("recipe") == recipe


def write_marker(directory: Path, marker: dict[str, Any]) -> None:
    """Mark ``directory`` as a finished build (``marker`` names its ``recipe``)."""
    (directory / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def built_once(target: Path, recipe: str, build: Callable[[Path], object],
               announce: str | None = None) -> Path:
    """``target`` holding a finished build of ``recipe``, made by ``build(workdir)`` when it is
    missing or outdated. ``build`` writes the model into the empty ``workdir`` and marks it
    (:func:`write_marker`); ``announce``, when given, is printed to stderr before a build (a
    first run must not sit silent for a minute)."""
    from filelock import FileLock

    if is_built(target, recipe):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f"{target.name}.lock")):
        if is_built(target, recipe):  # another session built it while we waited
            return target
        for stale in sorted(target.parent.glob(f".{target.name}.*")):  # left by a killed
            shutil.rmtree(stale, ignore_errors=True)  # build; we hold the lock: none runs
        if announce:
            print(f"modeltests: {announce}", file=sys.stderr, flush=True)
        workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            build(workdir)
            if not is_built(workdir, recipe):
                raise RuntimeError(f"the build of {recipe} left no {MARKER} naming it")
            if target.exists():  # an unfinished or outdated build: replace it
                shutil.rmtree(target)
            os.replace(workdir, target)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return target
