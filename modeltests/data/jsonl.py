"""JSON Lines: one object a line, each with its line number for located errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from modeltests.errors import DatasetError


def read_json_objects(name: str, path: Path, text: str, at: Callable[[str], str]
                      ) -> tuple[list[dict[str, Any]], list[int]]:
    """The objects of a JSONL text and their line numbers; blank lines are skipped.

    ``at(key)`` locates the dataset's ``path`` key in the suite; a line that is not JSON or not
    an object is a :class:`DatasetError` naming the file and the line.
    """
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise DatasetError(f"{at('path')}: datasets.{name}: {path.name} line {number} is "
                               f"not JSON ({exc})") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{at('path')}: datasets.{name}: {path.name} line {number} is "
                               f"not a JSON object")
        records.append(record)
        lines.append(number)
    return records, lines
