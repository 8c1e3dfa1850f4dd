"""The file-digest cache: what it trusts, and what a user cannot set back (issue 25, case 2)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from modeltests.support.digests import directory_digest


def _rewrite_same_size_mtime_back(path: Path, data: bytes) -> None:
    """Rewrite ``path`` in place with ``data`` (same size, same inode) and restore its mtime,
    as a user copying weights with ``cp --preserve=timestamps`` over the old file would. The
    kernel's clock may not tick between two writes, so rewrite until the change time moved."""
    before = path.stat()
    for _ in range(200):
        with open(path, "r+b") as handle:
            handle.write(data)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        if path.stat().st_ctime_ns != before.st_ctime_ns:
            return
        time.sleep(0.01)
    raise AssertionError("the file system never changed st_ctime_ns")


def test_a_same_size_rewrite_with_the_mtime_set_back_is_hashed_again(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    weights = model / "model.safetensors"
    weights.write_bytes(b"A" * 4096)
    cache = tmp_path / "digests.json"
    first = directory_digest(model, cache)
    stat = weights.stat()

    _rewrite_same_size_mtime_back(weights, b"B" * 4096)

    after = weights.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    assert directory_digest(model, cache) != first
    assert directory_digest(model, tmp_path / "fresh.json") == directory_digest(model, cache)


def test_an_untouched_file_is_read_from_the_cache(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    cache = tmp_path / "digests.json"
    first = directory_digest(model, cache)
    # A planted digest proves the second call read the cache rather than the file.
    cache.write_text(cache.read_text(encoding="utf-8").replace(_sha_of(cache), "0" * 64), encoding="utf-8")
    assert directory_digest(model, cache) != first


def _sha_of(cache: Path) -> str:
    import json

    (entry,) = json.loads(cache.read_text(encoding="utf-8")).values()
    return str(entry["sha256"])
