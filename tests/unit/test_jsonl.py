"""JSON Lines reading shared by the prompt and the token datasets: located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeltests.data.jsonl import read_json_objects
from modeltests.errors import DatasetError


def at(key: str) -> str:
    return f"suite.yaml:4 ({key})"


def test_objects_keep_their_line_numbers_across_blank_lines() -> None:
    records, lines = read_json_objects("d", Path("d.jsonl"), '{"a": 1}\n\n  \n{"a": 2}\n', at)
    assert records == [{"a": 1}, {"a": 2}]
    assert lines == [1, 4]


def test_a_line_that_is_not_json_is_located() -> None:
    with pytest.raises(DatasetError) as info:
        read_json_objects("d", Path("d.jsonl"), '{"a": 1}\n{"a": \n', at)
    assert str(info.value).startswith(
        "suite.yaml:4 (path): datasets.d: d.jsonl line 2 is not JSON (Expecting value")


def test_a_line_that_is_not_an_object_is_located() -> None:
    with pytest.raises(DatasetError) as info:
        read_json_objects("d", Path("d.jsonl"), '["a"]\n', at)
    assert str(info.value) == "suite.yaml:4 (path): datasets.d: d.jsonl line 1 is not a JSON object"
