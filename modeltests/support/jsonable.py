"""Values made JSON-ready for the reports: arrays as lists, sets and tuples as lists, anything
else as its text."""

from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """``json.dumps(..., default=jsonable)``: numpy values and arrays (``tolist``), sets and
    tuples as lists, anything else as ``str(value)``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
