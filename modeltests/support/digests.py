"""Content digests of files and model directories, for fingerprints and caches.

:func:`file_digest` is the sha256 of one file. :func:`directory_digest` is one sha256 over a
directory's sorted relative paths and the digests of its files, so a renamed, added, removed or
changed file changes it. Model weights are large (hundreds of MB), so file digests are cached in
``<cache>/file-digests-v1.json`` by absolute path, size, modification time, inode and inode
change time (``st_ctime_ns``): a file is hashed again only when one of those changes. A user can
set the modification time back (``touch -d``, ``os.utime``) after rewriting a file in place with
the same size, but not the change time: the kernel sets it on every write, ``utime`` and rename.
What the cache trusts is therefore the file system's own clock and inode numbers: a file whose
bytes changed while all five stayed equal (a raw block-device write, a file system that does not
keep ``ctime``) is served its old digest; delete the cache file to hash everything again. The
cache is an optimisation only: an unreadable, corrupt or read-only cache file is ignored (every
file is hashed) and never fails a run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from modeltests.support.atomic import atomic_path
from modeltests.support.environment import cache_dir

CACHE_NAME = "file-digests-v1.json"
_BLOCK = 1 << 20


def file_digest(path: Path) -> str:
    """The sha256 of ``path``'s bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def directory_digest(directory: Path, cache: Path | None = None) -> str:
    """One sha256 over ``directory``'s files: sorted relative paths with their file digests.

    ``cache`` is the digest cache file (default ``<modeltests cache>/file-digests-v1.json``).
    """
    root = directory.resolve()
    cache_file = cache if cache is not None else cache_dir() / CACHE_NAME
    known = _read_cache(cache_file)
    changed = False
    combined = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        key = str(path)
        stamp = _stamp(stat)
        entry = known.get(key)
        if not (isinstance(entry, dict) and entry.get("stamp") == stamp):
            entry = {"stamp": stamp, "sha256": file_digest(path)}
            known[key] = entry
            changed = True
        combined.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        combined.update(str(entry["sha256"]).encode("ascii") + b"\n")
    if changed:
        _write_cache(cache_file, known)
    return combined.hexdigest()


def _stamp(stat: os.stat_result) -> list[int]:
    """What a file must keep for its cached digest to be reused. ``st_ctime_ns`` is what a
    rewrite with the same size and a restored ``st_mtime`` cannot restore."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]


def path_digest(path: Path) -> str:
    """:func:`directory_digest` of a directory, :func:`file_digest` of a file."""
    return directory_digest(path) if path.is_dir() else file_digest(path)


def _read_cache(cache_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache_file: Path, known: dict[str, Any]) -> None:
    """Write atomically (a temporary file renamed over the old one): two sessions writing at
    once leave one complete file, never a truncated one."""
    try:
        with atomic_path(cache_file) as temporary:
            temporary.write_text(json.dumps(known), encoding="utf-8")
    except OSError:
        pass  # a read-only cache only costs hashing again next time


def digest_of(value: Any) -> str:
    """sha256 of ``value``'s canonical JSON (sorted keys): equal values, equal digests."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
