"""Turn validation failures into located, actionable problems.

A :class:`Problem` carries the suite file, line and key path; pydantic errors are rewritten in
the style ``checks[0].min_accuracy: must be a number in [0, 1] (got '90%')`` with the allowed
values and a close match where one exists.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from modeltests.suite.source import KeyPath, YamlSource, dotted
from modeltests.support.text import close_matches, shown_path, unknown_name_message


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a suite file."""

    path: Path
    line: int
    key: KeyPath
    message: str

    def render(self, rootdir: Path | None = None) -> str:
        """``suites/x.yaml:12: checks[0].min_accuracy: must be ...``"""
        shown = shown_path(self.path, rootdir)
        key = dotted(self.key)
        return f"{shown}:{self.line}: {key + ': ' if key else ''}{self.message}"


def render_problems(problems: Sequence[Problem], rootdir: Path | None = None) -> str:
    """All problems, one per line, in line order."""
    ordered = sorted(problems, key=lambda p: (str(p.path), p.line))
    return "\n".join(p.render(rootdir) for p in ordered)


def problem_at(source: YamlSource, key: KeyPath, message: str) -> Problem:
    """A problem located at ``key`` (or its closest ancestor with a line)."""
    return Problem(source.path, source.line_of(key), tuple(key), message)


def problems_from_validation(
    source: YamlSource, prefix: KeyPath, data: Any, model: type[BaseModel], error: ValidationError
) -> list[Problem]:
    """Rewrite a pydantic ``ValidationError`` of ``data`` (found at ``prefix``) as problems."""
    problems = []
    for err in error.errors():
        key = _data_key(data, err["loc"])
        message = _message(err, model, key)
        problems.append(problem_at(source, prefix + key, message))
    return problems


def _data_key(data: Any, loc: Sequence[Any]) -> KeyPath:
    """Keep the parts of pydantic's ``loc`` that exist in the data (drop union tags)."""
    key: list[Any] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            key.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            key.append(part)
            current = current[part]
        elif isinstance(part, str) and part.isidentifier() and isinstance(current, dict):
            key.append(part)  # a missing or unknown key: point at it by name
            current = None
    return tuple(key)


def _message(err: ErrorDetails, model: type[BaseModel], key: KeyPath) -> str:
    kind = err["type"]
    got = err.get("input")
    allowed = _allowed_keys(model, key[:-1])
    if kind == "extra_forbidden":
        name = key[-1] if key else "?"
        return unknown_name_message(f"unknown key {name!r}", str(name), allowed)
    if kind == "missing":
        return "required key is missing"
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        hint = close_matches(str(got), _literal_values(expected))
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"must be one of {expected} (got {got!r}){suggestion}"
    bounds = _bounds(model, key)
    if kind in _NUMBER_ERRORS or kind in _BOUND_ERRORS:
        noun = "an integer" if "int" in kind or _is_int(model, key) else "a number"
        return f"must be {noun}{bounds} (got {got!r})"
    if kind in ("string_type", "str_type"):
        return f"must be a string (got {got!r})"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list (got {got!r})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values (got {got!r})"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false (got {got!r})"
    message = err.get("msg", "is invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return f"{message} (got {got!r})" if got is not None and not isinstance(got, dict) else message


_NUMBER_ERRORS = {"float_parsing", "float_type", "int_parsing", "int_type", "int_from_float",
                  "finite_number"}
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _literal_values(expected: str) -> list[str]:
    return [part.strip().strip("'\"") for part in expected.replace(" or ", ",").split(",")]


def _model_at(model: type[BaseModel] | None, key: KeyPath) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping found at ``key`` inside ``model``."""
    current: Any = model
    mapping_key = False  # the next part is a key of a ``dict[str, Model]`` field
    for part in key:
        if isinstance(part, int) or mapping_key:
            mapping_key = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _inner_model(field.annotation)
        mapping_key = typing.get_origin(field.annotation) is dict
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel], key: KeyPath) -> list[str]:
    target = _model_at(model, key)
    return sorted(target.model_fields) if target is not None else []


def _field(model: type[BaseModel], key: KeyPath) -> Any:
    names = [p for p in key if not isinstance(p, int)]
    if not names:
        return None
    parent = _model_at(model, tuple(key[:-1]) if not isinstance(key[-1], int) else tuple(key))
    if parent is None:
        return None
    return parent.model_fields.get(str(names[-1]))


def _bounds(model: type[BaseModel], key: KeyPath) -> str:
    field = _field(model, key)
    if field is None:
        return ""
    low = high = None
    low_open = high_open = False
    for item in field.metadata:
        for attr, is_low, is_open in (("ge", True, False), ("gt", True, True),
                                      ("le", False, False), ("lt", False, True)):
            value = getattr(item, attr, None)
            if value is None:
                continue
            if is_low:
                low, low_open = value, is_open
            else:
                high, high_open = value, is_open
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{_num(low)}, {_num(high)}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {_num(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {_num(high)}"
    return ""


def _is_int(model: type[BaseModel], key: KeyPath) -> bool:
    field = _field(model, key)
    if field is None:
        return False
    annotation = field.annotation
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    return int in args and float not in args


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


