"""Datasets: read with pandas, mapped to texts and labels, and sliced without executing code."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modeltests.support.digests import file_digest
from modeltests.errors import DatasetError
from modeltests.data.inputs import ImageInput, ModelInput, TextPair, joined
from modeltests.data.spec import DatasetSpec
from modeltests.support.text import close_matches, valid_pattern

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset: inputs (texts, or :class:`~modeltests.data.inputs.TextPair` rows for a
    dataset of two text columns), expected labels, and the full table for slicing."""

    name: str
    path: Path
    texts: list[ModelInput]
    labels: list[str]
    frame: pd.DataFrame
    sha256: str = ""
    dropped_unlabelled: int = 0
    text_columns: tuple[str, ...] = ("text",)

    @property
    def is_pairs(self) -> bool:
        """Whether each row is a pair of texts (two text columns)."""
        return len(self.text_columns) == 2

    def __len__(self) -> int:
        return len(self.texts)

    def provenance(self) -> dict[str, Any]:
        """Which file was read (absolute path, sha256) and what was kept, for the reports."""
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return {"name": self.name, "path": str(self.path.resolve()), "sha256": self.sha256,
                "rows": len(self), "dropped_unlabelled": self.dropped_unlabelled,
                "label_counts": dict(sorted(counts.items()))}


@dataclass(frozen=True)
class TokenDataset(Dataset):
    """A dataset of tagged sentences (:mod:`modeltests.data.token_files`): ``words[i]`` and
    ``tags[i]`` have the same length; ``texts`` are the words joined by spaces; ``labels`` stay
    empty (no sentence label); ``lines[i]`` is where sentence ``i`` starts in the file."""

    words: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def tag_set(self) -> list[str]:
        """Every tag used, sorted."""
        return sorted({tag for row in self.tags for tag in row})

    def tag_set_problem(self, model_labels: Sequence[str], location: str) -> str | None:
        """A located message when the dataset uses tags the model cannot predict (both sets
        named), else None. Model labels the dataset never uses are allowed (a small set may
        lack a rare type); the ``entities`` check lists them."""
        extra = [tag for tag in self.tag_set() if tag not in model_labels]
        if not extra:
            return None
        return (f"{location}: datasets.{self.name}: tag(s) {', '.join(map(repr, extra))} are "
                f"not labels of the model (dataset tags: {', '.join(self.tag_set())}; model "
                f"labels: {', '.join(model_labels)})")

    def provenance(self) -> dict[str, Any]:
        from modeltests.data.tags import entities

        gold = sum(len(entities(row)) for row in self.tags)
        return {"name": self.name, "path": str(self.path.resolve()), "sha256": self.sha256,
                "rows": len(self), "words": sum(len(w) for w in self.words),
                "gold_entities": gold, "tags": self.tag_set()}


@dataclass(frozen=True)
class PromptDataset(Dataset):
    """A prompt or document dataset (:mod:`modeltests.data.prompts`): ``texts`` are the prompts
    (or documents), ``answers`` the expected answers (None where a row has none), ``choices``
    each row's choices (empty without ``choices_column``) and ``correct`` the index of the
    right one; ``labels`` stay empty; ``lines[i]`` is row ``i``'s file line."""

    answers: list[str | None] = field(default_factory=list)
    choices: list[list[str]] = field(default_factory=list)
    correct: list[int | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    documents: bool = False

    @property
    def prompts(self) -> list[str]:
        """The prompts (or documents) as strings."""
        return [str(text) for text in self.texts]

    def provenance(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path.resolve()), "sha256": self.sha256,
                "rows": len(self), "kind": "documents" if self.documents else "prompts",
                "with_answers": sum(a is not None for a in self.answers),
                "with_choices": sum(bool(c) for c in self.choices)}


@dataclass(frozen=True)
class ImageDataset(Dataset):
    """A labelled dataset of images: ``texts`` are :class:`ImageInput` rows (pixels in [0, 1],
    channels x height x width), ``shape`` their common shape, ``frame`` one row per image with
    its ``path`` (or npz index) and ``label`` (for slices on a column)."""

    shape: tuple[int, int, int] = (0, 0, 0)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def images(self) -> list[ImageInput]:
        """The rows as images."""
        return [row for row in self.texts if isinstance(row, ImageInput)]

    def pixels(self) -> npt.NDArray[np.float32]:
        """All images stacked: ``(n, channels, height, width)``, in [0, 1]."""
        import numpy as np

        return np.stack([image.pixels for image in self.images])

    def provenance(self) -> dict[str, Any]:
        facts = super().provenance()
        facts.update({"kind": "images", "shape": list(self.shape), "mean": list(self.mean),
                      "std": list(self.std)})
        return facts


def _image_dataset(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                   ) -> ImageDataset:
    import pandas as pd

    from modeltests.data.images import read_images

    read = read_images(name, spec, path, at)
    frame = pd.DataFrame({"path": read.files, "label": read.labels})
    return ImageDataset(name=name, path=path, texts=list(read.rows), labels=read.labels,
                        frame=frame, sha256=read.sha256, text_columns=("image",),
                        shape=read.shape, mean=read.mean, std=read.std)


def _prompt_dataset(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                    ) -> PromptDataset:
    import pandas as pd

    from modeltests.data.prompts import read_prompt_file

    rows = read_prompt_file(name, spec, path, at)
    return PromptDataset(name=name, path=path, texts=list(rows.texts), labels=[],
                         frame=pd.DataFrame(rows.records), sha256=file_digest(path),
                         answers=rows.answers, choices=rows.choices, correct=rows.correct,
                         lines=rows.lines, documents=spec.document_column is not None)


def _token_dataset(name: str, spec: DatasetSpec, path: Path, at: Callable[[str], str]
                   ) -> TokenDataset:
    import pandas as pd

    from modeltests.data.token_files import read_token_file

    words, tags, lines = read_token_file(name, spec, path, at)
    frame = pd.DataFrame({"tokens": words, "tags": tags})
    return TokenDataset(name=name, path=path, texts=[" ".join(w) for w in words], labels=[],
                        frame=frame, sha256=file_digest(path), words=words, tags=tags,
                        lines=lines)


_READERS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".json": "jsonl",
            ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """A data file as a table, its format told by its suffix (csv, tsv, jsonl, json, parquet)."""
    fmt = _READERS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetError(f"cannot tell the format of {path.name} (csv, tsv, jsonl, json, "
                           "parquet)")
    return _read(path, fmt, encoding)


def load_dataset(name: str, spec: DatasetSpec, base_dir: Path, location: str,
                 locate: Callable[[str], str] | None = None) -> Dataset:
    """Read ``spec`` (relative to ``base_dir``); ``location`` prefixes every error message, or
    ``locate(key)`` for errors about one key of the dataset (``label_column``...)."""

    at = locate or (lambda key: location)

    path = Path(spec.path).expanduser()
    path = path if path.is_absolute() else (base_dir / path)
    if spec.image is not None:  # pixels: modeltests.data.images
        return _image_dataset(name, spec, path, at)
    if not path.is_file():
        raise DatasetError(f"{at('path')}: datasets.{name}.path: dataset file not found: {path}")
    from modeltests.data.token_files import is_token_spec

    if is_token_spec(spec):  # words and BIO tags per sentence: modeltests.data.token_files
        return _token_dataset(name, spec, path, at)
    from modeltests.data.prompts import is_prompt_spec

    if is_prompt_spec(spec):  # prompts or documents: modeltests.data.prompts
        return _prompt_dataset(name, spec, path, at)
    fmt = spec.format if spec.format != "auto" else _READERS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetError(f"{at('format')}: datasets.{name}.format: cannot tell the format of "
                           f"{path.name}; set format to one of csv, jsonl, parquet")
    if fmt == "jsonl":
        _refuse_lone_surrogates(path, spec.encoding, f"{at('path')}: datasets.{name}.path")
    try:
        frame = _read(path, fmt, spec.encoding)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{at('encoding')}: datasets.{name}.encoding: {path.name} is not "
                           f"{spec.encoding} ({exc.reason}); set encoding, e.g. latin-1 or "
                           "cp1252") from None
    except Exception as exc:  # pandas raises many types; the user needs the reason, not a trace
        raise DatasetError(f"{location}: datasets.{name}: cannot read {path.name} as {fmt}: "
                           f"{type(exc).__name__}: {exc}") from None
    problems = [f"{at(key)}: datasets.{name}.{key}: {problem}"
                for key, problem in _column_problems(frame, spec, path)]
    if problems:
        raise DatasetError("\n".join(problems))
    if spec.limit is not None:
        frame = frame.head(spec.limit)
    unlabelled = [i for i, v in enumerate(frame[spec.label_column]) if _missing(v)
                  or not str(v).strip()]
    if unlabelled and spec.unlabelled == "error":
        raise DatasetError(f"{at('label_column')}: datasets.{name}: {len(unlabelled)} row(s) of "
                           f"{path.name} have no '{spec.label_column}' "
                           f"({_where(path, fmt, unlabelled)}); label them, or set "
                           f"datasets.{name}.unlabelled: drop to leave them out")
    frame = frame.drop(index=frame.index[unlabelled]).reset_index(drop=True)
    if not len(frame):
        raise DatasetError(f"{at('path')}: datasets.{name}: {path.name} has no rows to test on"
                           + (f" ({len(unlabelled)} unlabelled dropped)" if unlabelled else ""))
    columns = spec.text_columns
    sides = [["" if _missing(v) else str(v) for v in frame[column]] for column in columns]
    texts: list[ModelInput]
    if len(sides) == 2:
        _check_pair_sides(name, columns, sides, path, fmt, at("text_column"))
        texts = [TextPair(a, b) for a, b in zip(sides[0], sides[1])]
    else:
        texts = list(sides[0])
    labels = [_label(v, spec.label_map) for v in frame[spec.label_column]]
    return Dataset(name=name, path=path, texts=texts, labels=labels, frame=frame,
                   sha256=file_digest(path), dropped_unlabelled=len(unlabelled),
                   text_columns=columns)


def _check_pair_sides(name: str, columns: tuple[str, ...], sides: list[list[str]], path: Path,
                      fmt: str, location: str) -> None:
    """A pair with an empty side is no pair: name the side, the column and the rows."""
    problems = []
    for side, column, values in zip(("first", "second"), columns, sides):
        empty = [i for i, v in enumerate(values) if not v.strip()]
        if empty:
            problems.append(f"{location}: datasets.{name}.text_column: {len(empty)} row(s) of "
                            f"{path.name} have an empty {side} side (column {column!r}; "
                            f"{_where(path, fmt, empty)}); a text pair needs both texts")
    if problems:
        raise DatasetError("\n".join(problems))


def _column_problems(frame: pd.DataFrame, spec: DatasetSpec, path: Path
                     ) -> list[tuple[str, str]]:
    """``(key, problem)`` for a missing text or label column and for ``label_map`` keys that
    match no label in the file: all at once, before any model runs."""
    columns = [str(c) for c in frame.columns]
    problems = []
    named = [("text_column", column, f"{side} side " if len(spec.text_columns) == 2 else "")
             for side, column in zip(("first", "second"), spec.text_columns)]
    for key, column, side in [*named, ("label_column", spec.label_column, "")]:
        if column not in frame.columns:
            hint = close_matches(column, columns)
            problems.append((key, f"{side}column {column!r} not found in {path.name}"
                                  + (f"; did you mean {hint[0]!r}?" if hint else "")
                                  + f" (columns: {', '.join(columns)})"))
    if spec.label_map and spec.label_column in frame.columns:
        found = {_label(v, None) for v in frame[spec.label_column] if not _missing(v)}
        unmatched = [key for key in spec.label_map if key not in found]
        if unmatched:
            shown = ", ".join(sorted(found)[:10])
            problems.append(("label_map", f"key(s) {', '.join(map(repr, unmatched))} match no "
                                          f"label in column {spec.label_column!r} of "
                                          f"{path.name} (labels found: {shown})"))
    return problems


# A JSON ``\\uXXXX`` escape of a surrogate half, not preceded by an escaped backslash.
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u([dD][89a-fA-F][0-9a-fA-F]{2})")


def _refuse_lone_surrogates(path: Path, encoding: str, where: str) -> None:
    """pandas' JSON reader drops a lone surrogate escape (``"a\\ud800b"`` reads as ``"ab"``)
    without a word, so the text tested would differ from the file: refuse the file instead,
    naming the line. A high half followed by a low half (a character outside the BMP, written
    as a pair) is fine."""
    lines: list[int] = []
    with path.open(encoding=encoding, errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if "\\u" in line and _lone_surrogate(line):
                lines.append(number)
    if lines:
        shown = ", ".join(map(str, lines[:10])) + (f" and {len(lines) - 10} more"
                                                   if len(lines) > 10 else "")
        raise DatasetError(f"{where}: {path.name} file line(s) {shown}: a lone surrogate escape "
                           "(e.g. \\ud800) is not a character, and the JSON reader would drop it, "
                           "so the text tested would differ from the file; remove it or write "
                           "the character it stands for")


def _lone_surrogate(line: str) -> bool:
    halves = [(m.start(1), int(m.group(1), 16)) for m in _SURROGATE_ESCAPE.finditer(line)]
    index = 0
    while index < len(halves):
        start, code = halves[index]
        following = halves[index + 1] if index + 1 < len(halves) else None
        if code <= 0xDBFF and following and following[0] == start + 6 and following[1] >= 0xDC00:
            index += 2  # a high and a low half, adjacent: one character
            continue
        return True
    return False


def _read(path: Path, fmt: str, encoding: str) -> pd.DataFrame:
    import pandas as pd

    if fmt == "csv":
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",",
                           encoding=encoding)
    if fmt == "jsonl":
        return pd.read_json(path, lines=path.suffix.lower() != ".json", encoding=encoding)
    return pd.read_parquet(path)


def _where(path: Path, fmt: str, rows: list[int]) -> str:
    """``file lines 5, 9`` for data rows (0-based) of a CSV / JSONL file; rows elsewhere."""
    shown = rows[:10]
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    if fmt == "parquet":
        return "rows " + ", ".join(str(r + 1) for r in shown) + more
    if fmt == "jsonl":
        return "file lines " + ", ".join(str(r + 1) for r in shown) + more
    return "file lines " + ", ".join(str(n) for n in _csv_end_lines(path, shown)) + more


def _csv_end_lines(path: Path, rows: list[int]) -> list[int]:
    """The physical line on which each data row ends (a quoted field or a stray carriage
    return can make a row span lines, so row numbers alone would mislead)."""
    wanted, found = set(rows), {}
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        next(reader, None)  # the header
        for index, _ in enumerate(reader):
            if index in wanted:
                found[index] = reader.line_num
    return [found.get(r, r + 2) for r in rows]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _label(value: Any, label_map: dict[str, str] | None) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if label_map is not None:
        return label_map.get(text, text)
    return text


def label_text(value: Any, label_map: dict[str, str] | None) -> str | None:
    """A label cell as the dataset's label name (``label_map`` applied), None when missing:
    the rule :func:`load_dataset` applies, for readers that stream a file in blocks."""
    if _missing(value) or not str(value).strip():
        return None
    return _label(value, label_map)


def check_labels_known(dataset: Dataset, model_labels: Sequence[str], location: str) -> None:
    """Raise when the dataset has labels the model cannot predict."""
    if isinstance(dataset, TokenDataset):  # tags per word, checked against the model's labels
        problem = dataset.tag_set_problem(model_labels, location)
        if problem is not None:
            raise DatasetError(problem)
        return
    unknown = sorted(set(dataset.labels) - set(model_labels))
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise DatasetError(
            f"{location}: datasets.{dataset.name}: label(s) {shown} are not labels of the model "
            f"(model labels: {', '.join(model_labels)}); map them with datasets.{dataset.name}"
            f".label_map or set model.labels"
        )


class SliceSpec(BaseModel):
    """A subset of a dataset, declared as data (never code).

    All conditions that are set must hold: a column value (``column`` + ``equals`` or ``in``),
    a text length range in characters or words, a regular expression on the text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Slice name shown in reports.")
    column: str | None = Field(default=None, description="Column compared with equals / in.")
    equals: str | int | float | bool | None = Field(
        default=None, description="Rows whose column has this value.")
    in_: list[str | int | float | bool] | None = Field(
        default=None, alias="in", description="Rows whose column has one of these values.")
    regex: str | None = Field(default=None, description="Python regular expression (search).")
    ignore_case: bool = Field(default=True, description="regex ignores case.")
    min_chars: int | None = Field(default=None, ge=0, description="Texts of at least this "
                                  "many characters.")
    max_chars: int | None = Field(default=None, ge=0, description="Texts of at most this "
                                  "many characters.")
    min_words: int | None = Field(default=None, ge=0, description="Texts of at least this "
                                  "many words (split on whitespace).")
    max_words: int | None = Field(default=None, ge=0, description="Texts of at most this "
                                  "many words (split on whitespace).")
    side: Literal["first", "second", "both"] | None = Field(
        default=None, description="For a dataset of text pairs: which side regex and "
        "min/max_chars / min/max_words read (default both, joined by a space).")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return valid_pattern(value)

    @model_validator(mode="after")
    def _has_condition(self) -> SliceSpec:
        if self.column is not None and self.equals is None and self.in_ is None:
            raise ValueError("a slice on a column needs 'equals' or 'in'")
        if (self.equals is not None or self.in_ is not None) and self.column is None:
            raise ValueError("'equals' / 'in' need 'column'")
        conditions = (self.column, self.regex, self.min_chars, self.max_chars, self.min_words,
                      self.max_words)
        if all(c is None for c in conditions):
            raise ValueError("a slice needs a condition: column, regex, min/max_chars or "
                             "min/max_words")
        return self


def slice_indices(dataset: Dataset, spec: SliceSpec, location: str) -> list[int]:
    """Row indices of ``dataset`` that belong to the slice."""
    mask = [True] * len(dataset)
    if spec.column is not None:
        if spec.column not in dataset.frame.columns:
            columns = [str(c) for c in dataset.frame.columns]
            hint = close_matches(spec.column, columns)
            raise DatasetError(f"{location}: slice {spec.name!r}: column {spec.column!r} not in "
                               f"dataset {dataset.name!r}"
                               + (f"; did you mean {hint[0]!r}?" if hint else "")
                               + f" (columns: {', '.join(columns)})")
        wanted = [_typed(v) for v in (spec.in_ if spec.in_ is not None else [spec.equals])]
        cells = [_typed(v) for v in dataset.frame[spec.column]]
        mask = [m and any(_same(cell, w) for w in wanted) for m, cell in zip(mask, cells)]
        if not any(mask):
            raise DatasetError(_no_match(dataset, spec, cells, location))
    if spec.side is not None and not dataset.is_pairs:
        raise DatasetError(f"{location}: slice {spec.name!r}: side: {spec.side!r} applies to a "
                           f"dataset of text pairs; {dataset.name!r} has one text column")
    texts = [_side_text(t, spec.side) for t in dataset.texts]
    if spec.regex is not None:
        pattern = re.compile(spec.regex, re.IGNORECASE if spec.ignore_case else 0)
        mask = [m and bool(pattern.search(t)) for m, t in zip(mask, texts)]
    for attr, measure, is_min in (("min_chars", len, True), ("max_chars", len, False),
                                  ("min_words", _words, True), ("max_words", _words, False)):
        limit = getattr(spec, attr)
        if limit is not None:
            mask = [m and (measure(t) >= limit if is_min else measure(t) <= limit)
                    for m, t in zip(mask, texts)]
    if not any(mask):
        raise DatasetError(f"{location}: slice {spec.name!r} selects no row of dataset "
                           f"{dataset.name!r} ({len(dataset)} rows; {_conditions(spec)}): a "
                           "slice of no rows measures nothing; fix its conditions or remove it")
    return [i for i, keep in enumerate(mask) if keep]


MAX_VALUES_SHOWN = 12


def _typed(value: Any) -> Any:
    """A cell or a YAML value as what it means: numbers as floats (``1``, ``1.0``, numpy's
    ``1.0`` and the text ``"1.0"`` read from a CSV alike), booleans as booleans, the rest as
    stripped text."""
    if _missing(value):
        return value
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.lower() == "true" if text.lower() in ("true", "false") else text


def _same(cell: Any, wanted: Any) -> bool:
    if isinstance(cell, bool) or isinstance(wanted, bool):
        return isinstance(cell, bool) and isinstance(wanted, bool) and cell == wanted
    return bool(cell == wanted)


def _no_match(dataset: Dataset, spec: SliceSpec, cells: list[Any], location: str) -> str:
    """No row has the value: name the column and the values it holds."""
    relation = (f"equal to {_shown_value(spec.equals)}" if spec.in_ is None else
                "a value in [" + ", ".join(_shown_value(v) for v in spec.in_) + "]")
    distinct = sorted({_shown_value(c) for c in cells if not _missing(c)})
    shown = ", ".join(distinct[:MAX_VALUES_SHOWN])
    if len(distinct) > MAX_VALUES_SHOWN:
        shown += f", ... ({len(distinct)} values in all)"
    return (f"{location}: slice {spec.name!r} matches no row: no row of dataset "
            f"{dataset.name!r} has column {spec.column!r} {relation} (column {spec.column!r} "
            f"holds: {shown or 'no values'})")


def _shown_value(value: Any) -> str:
    """A value as YAML would write it: numbers plain (``1``, not ``1.0``), text quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _conditions(spec: SliceSpec) -> str:
    keys = ("column", "equals", "regex", "min_chars", "max_chars", "min_words", "max_words")
    shown = [f"{key}: {getattr(spec, key)!r}" if isinstance(getattr(spec, key), str)
             else f"{key}: {getattr(spec, key)}" for key in keys if getattr(spec, key) is not None]
    if spec.in_ is not None:
        shown.append(f"in: {spec.in_}")
    return ", ".join(shown)


def _side_text(value: ModelInput, side: str | None) -> str:
    """The text a slice condition reads: one side of a pair, or all sides joined."""
    if isinstance(value, TextPair) and side in ("first", "second"):
        return value.first if side == "first" else value.second
    return joined(value)


def _words(text: str) -> int:
    return len(text.split())
