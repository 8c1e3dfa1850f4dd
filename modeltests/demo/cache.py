"""Built-in models built once into the cache: see :mod:`modeltests.support.built` (the adapters
convert GGUF files into the cache the same way)."""

from modeltests.support.built import MARKER, built_once, is_built, read_marker, write_marker

__all__ = ["MARKER", "built_once", "is_built", "read_marker", "write_marker"]
