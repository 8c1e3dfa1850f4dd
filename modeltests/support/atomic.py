"""Files written whole or not at all.

Reports, caches and saved predictions are read by other processes (a reviewer's browser, the
next run, a parallel session): :func:`atomic_path` gives a writer a temporary file beside the
target and renames it over the target only when the writing finished, so a reader sees the old
file or the new one, never half of one, and two writers at once leave one complete file.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MODE = 0o644
"""The finished file's permissions (a temporary file starts private to its owner)."""


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A fresh temporary path beside ``target`` with its suffix, renamed over ``target`` when
    the block ends; removed when the block raises. Creating the folder or the file may raise
    :class:`OSError` (a read-only folder): callers decide whether that is fatal."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=target.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, MODE)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


STALE_AFTER_S = 3600.0
"""A temporary file older than this is a writer's that died (a write takes seconds)."""


def remove_stale_temporaries(folder: Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the temporary files :func:`atomic_path` left in ``folder`` when its writer was
    killed (SIGKILL, a power cut: no ``finally`` ran) and that are older than ``older_than_s``
    (a younger one may be another session's write in progress). Returns what was removed;
    a file that cannot be removed is left as it is."""
    removed: list[Path] = []
    cutoff = time.time() - older_than_s
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(".")]
    except OSError:
        return removed
    for path in candidates:
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
