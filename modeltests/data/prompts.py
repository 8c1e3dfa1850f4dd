"""Prompt and document datasets, for the generative kinds: a ``datasets:`` entry is one when it
sets ``prompt_column`` (prompts, with an optional ``answer_column`` and, for multiple choice,
``choices_column``) or ``document_column`` (documents, for perplexity).

JSONL (one object per line) or CSV (a header row; a choices cell holds a JSON list). Every
problem is found before any model runs and named with the file line: a missing field, an empty
prompt or document, choices that are not a list of at least two texts, an answer that is neither
one of the choices nor an index into them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from modeltests.data.jsonl import read_json_objects
from modeltests.data.spec import DatasetSpec
from modeltests.errors import DatasetError

MAX_LISTED = 10


def is_prompt_spec(spec: DatasetSpec) -> bool:
    """Whether ``spec`` declares a prompt or document dataset."""
    return spec.prompt_column is not None or spec.document_column is not None


@dataclass(frozen=True)
class PromptRows:
    """What a prompt file holds: ``texts`` (prompts or documents), the expected ``answers``
    (None where a row has none), the ``choices`` of each row (empty lists without
    ``choices_column``), the index of the right choice (None without choices), and the file
    line of each row; ``records`` are the rows as read (for slices)."""

    texts: list[str]
    answers: list[str | None]
    choices: list[list[str]]
    correct: list[int | None]
    lines: list[int]
    records: list[dict[str, Any]]


def read_prompt_file(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                     ) -> PromptRows:
    """Read and validate the prompt or document dataset ``name`` at ``path``; ``at(key)``
    locates errors at a key of the dataset."""
    records, lines = _records(name, spec, path, at)
    text_key = "prompt_column" if spec.prompt_column is not None else "document_column"
    text_column = spec.prompt_column or spec.document_column or ""
    if spec.limit is not None:
        records, lines = records[:spec.limit], lines[:spec.limit]
    if not records:
        raise DatasetError(f"{at('path')}: datasets.{name}: {path.name} has no rows")
    problems: dict[str, list[tuple[int, str]]] = {
        key: [] for key in (text_key, "choices_column", "answer_column")}

    def problem(key: str, row: int, message: str) -> None:
        problems[key].append((lines[row], f"line {lines[row]}: {message}"))

    columns = [(text_key, text_column)]
    if spec.answer_column:
        columns.append(("answer_column", spec.answer_column))
    if spec.choices_column:
        columns.append(("choices_column", spec.choices_column))
    for key, column in columns:
        for row, record in enumerate(records):
            if column not in record:
                problem(key, row, f"no field {column!r} (fields: {', '.join(record) or 'none'})")
    texts = []
    for row, record in enumerate(records):
        value = record.get(text_column)
        text = "" if value is None else str(value)
        if text_column in record and not text.strip():
            what = "prompt" if text_key == "prompt_column" else "document"
            problem(text_key, row, f"empty {what}")
        texts.append(text)
    answers = [None if spec.answer_column is None or _missing(r.get(spec.answer_column))
               else str(r[spec.answer_column]) for r in records]
    choices: list[list[str]] = []
    correct: list[int | None] = []
    for row, record in enumerate(records):
        options = _choices(record.get(spec.choices_column)) if spec.choices_column else []
        if spec.choices_column and spec.choices_column in record:
            if options is None or len(options) < 2:
                problem("choices_column", row, f"{spec.choices_column!r} must be a list of at "
                        f"least two texts (got {record.get(spec.choices_column)!r})")
                options = []
            elif spec.answer_column and answers[row] is not None:
                index = _choice_index(answers[row] or "", options)
                if index is None:
                    problem("answer_column", row, f"answer {answers[row]!r} is neither one of "
                            f"the {len(options)} choices nor an index 0 to {len(options) - 1}")
                correct.append(index)
                choices.append(options)
                continue
        choices.append(options or [])
        correct.append(None)
    if any(problems.values()):
        raise DatasetError("\n".join(
            f"{at(key)}: datasets.{name}.{key}: {len(found)} problem(s) in {path.name}:\n  "
            + "\n  ".join(message for _, message in sorted(found)[:MAX_LISTED])
            + (f"\n  ... and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else "")
            for key, found in problems.items() if found))
    return PromptRows(texts, answers, choices, correct, lines, records)


def _records(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
             ) -> tuple[list[dict[str, Any]], list[int]]:
    fmt = spec.format if spec.format != "auto" else \
        {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv"}.get(
            path.suffix.lower())
    if fmt not in ("jsonl", "csv"):
        raise DatasetError(f"{at('format')}: datasets.{name}.format: a prompt or document "
                           f"dataset is JSONL or CSV (got {fmt or path.suffix!r})")
    try:
        text = path.read_text(encoding=spec.encoding)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{at('encoding')}: datasets.{name}.encoding: {path.name} is not "
                           f"{spec.encoding} ({exc.reason})") from None
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    if fmt == "csv":
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
        for record in reader:
            records.append({k: v for k, v in record.items() if k is not None})
            lines.append(reader.line_num)
        return records, lines
    return read_json_objects(name, path, text, at)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _choices(value: Any) -> list[str] | None:
    """A choices cell as a list of texts: a JSON list, or a CSV cell holding one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    return None


def _choice_index(answer: str, options: list[str]) -> int | None:
    """The right choice: the answer's position among the choices, else the answer read as an
    index (``"2"``, ``2``) when it is in range."""
    if answer in options:
        return options.index(answer)
    try:
        index = int(answer)
    except ValueError:
        return None
    return index if 0 <= index < len(options) else None
