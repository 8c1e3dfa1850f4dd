"""Files written whole or not at all.

Reports, caches and saved predictions are read by other processes (a reviewer's browser, the
next run, a parallel session): :func:`atomic_path` gives a writer a temporary file beside the
target and renames it over the target only when the writing finished, so a reader sees the old
file or the new one, never half of one, and two writers at once leave one complete file.
"""

from __future__ import annotations

import os
import tempfile
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
