"""Token datasets: sentences as words with one BIO tag each, from JSONL or CoNLL files.

A dataset under ``datasets:`` is a token dataset when it sets ``tokens_column`` and
``tags_column`` (JSONL, each cell a list of strings) or ``format: conll`` (one word per line,
the word in the first whitespace-separated column and its tag in the last, a blank line between
sentences, ``-DOCSTART-`` lines skipped); ``label_map`` renames tags. Every problem is found before any model runs and
named with the row (JSONL file line, or CoNLL sentence and line): a row whose word and tag
counts differ, gold tags that are not strict IOB2 (:func:`modeltests.data.tags.bio_problems`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from modeltests.data.jsonl import read_json_objects
from modeltests.errors import DatasetError
from modeltests.data.spec import DatasetSpec
from modeltests.data.tags import bio_problems

MAX_LISTED = 10


def is_token_spec(spec: DatasetSpec) -> bool:
    """Whether ``spec`` declares a token dataset (see the module docstring)."""
    return spec.format == "conll" or getattr(spec, "tokens_column", None) is not None


Sentences = tuple[list[list[str]], list[list[str]], list[int]]
"""Words, tags and the file line where each sentence starts."""


def read_token_file(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                    ) -> Sentences:
    """Read and validate the token dataset ``name`` at ``path``; ``at(key)`` locates errors."""
    if spec.format == "conll":
        words, tags, lines = _read_conll(path, spec.encoding)
        where = [f"sentence {i + 1} (line {line})" for i, line in enumerate(lines)]
    else:
        words, tags, lines = _read_jsonl(name, spec, path, at)
        where = [f"row {i + 1} (line {line})" for i, line in enumerate(lines)]
    if spec.label_map:  # e.g. {B-PERSON: B-PER, I-PERSON: I-PER}: the model's tag names
        tags = [[spec.label_map.get(tag, tag) for tag in row] for row in tags]
    problems = []
    for row, (w, t) in enumerate(zip(words, tags)):
        if len(w) != len(t):
            problems.append(f"{where[row]}: {len(w)} tokens but {len(t)} tags")
            continue
        problems.extend(f"{where[row]}: {p}" for p in bio_problems(t))
    key = "tags_column" if spec.format != "conll" else "path"
    if problems:
        shown = problems[:MAX_LISTED]
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise DatasetError(f"{at(key)}: datasets.{name}: {len(problems)} problem(s) in "
                           f"{path.name} (tags must be strict IOB2: O, B-TYPE, I-TYPE after "
                           "B-TYPE or I-TYPE; one tag per token):\n  "
                           + "\n  ".join(shown) + more)
    if spec.limit is not None:
        words, tags, lines = words[:spec.limit], tags[:spec.limit], lines[:spec.limit]
    if not words:
        raise DatasetError(f"{at('path')}: datasets.{name}: {path.name} has no sentences")
    return words, tags, lines


def _read_conll(path: Path, encoding: str) -> Sentences:
    words: list[list[str]] = []
    tags: list[list[str]] = []
    lines: list[int] = []
    current: tuple[list[str], list[str]] = ([], [])
    for number, line in enumerate(path.read_text(encoding=encoding).splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if current[0]:
                words.append(current[0])
                tags.append(current[1])
            current = ([], [])
            continue
        if not current[0]:
            lines.append(number)
        current[0].append(fields[0])
        # A line with a single column has a word and no tag: the count check names it.
        if len(fields) > 1:
            current[1].append(fields[-1])
    if current[0]:
        words.append(current[0])
        tags.append(current[1])
    return words, tags, lines


def _read_jsonl(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                ) -> Sentences:
    tokens_column = spec.tokens_column or "tokens"
    tags_column = spec.tags_column or "tags"
    words: list[list[str]] = []
    tags: list[list[str]] = []
    lines: list[int] = []
    problems = []
    records, numbers = read_json_objects(name, path, path.read_text(encoding=spec.encoding), at)
    for number, record in zip(numbers, records):
        cells = []
        for key, column in (("tokens_column", tokens_column), ("tags_column", tags_column)):
            cell = record.get(column)
            if not (isinstance(cell, list) and all(isinstance(x, str) for x in cell)):
                got = "missing" if cell is None else type(cell).__name__
                problems.append(f"{at(key)}: datasets.{name}.{key}: line {number} of "
                                f"{path.name}: {column!r} must be a list of strings (got {got})")
            cells.append(cell if isinstance(cell, list) else [])
        words.append([str(x) for x in cells[0]])
        tags.append([str(x) for x in cells[1]])
        lines.append(number)
    if problems:
        raise DatasetError("\n".join(problems[:MAX_LISTED]))
    return words, tags, lines
