"""Read a YAML suite file and remember the line of every key.

``yaml.compose`` gives nodes with positions; we build the plain Python value and, beside it, a map
from key paths such as ``("checks", 0, "min_accuracy")`` to 1-based line numbers so that every
validation message can point at the exact line.

The reader is bounded and strict, because a suite decides a release: a file larger than
:data:`MAX_BYTES` or whose aliases expand past :data:`MAX_NODES` values is refused (an alias
"bomb" must not take the session down); a key given twice in one mapping is an error naming both
lines (the later value would silently replace a gate); and any tag other than YAML's plain
scalars, lists and mappings is refused (nothing in a suite is ever constructed as code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[Any, ...]

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in
               ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document together with the line of each key path."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int:
        """The line of ``key_path``, or of its closest ancestor that has one (1 for the root)."""
        path = tuple(key_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(Exception):
    """The file cannot be read as a suite's YAML: each problem is ``(line, message)``, 1-based.

    ``line`` is the first problem's line; ``str()`` is the first problem's message.
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(problems[0][1])
        self.problems = sorted(problems)
        self.line = self.problems[0][0]


def load_yaml(path: Path) -> YamlSource:
    """Parse ``path`` into a :class:`YamlSource`; raise :class:`YamlSyntaxError` when it is not
    valid YAML, too large, or breaks the rules above (every duplicate key at once)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlSyntaxError([(1, f"the file is {size:,} bytes; a suite may have at most "
                                   f"{MAX_BYTES:,}")])
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlSyntaxError([(line, f"invalid YAML: {exc.problem or exc}")]) from None
    if node is None:
        return YamlSource(path=path, data=None, lines={(): 1})
    builder = _Builder()
    data = builder.build(node, ())
    if builder.problems:
        raise YamlSyntaxError(builder.problems)
    return YamlSource(path=path, data=data, lines=builder.lines)


class _Builder:
    """Plain values from composed nodes, with the line of each key path and every problem."""

    def __init__(self) -> None:
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[tuple[int, str]] = []
        self.nodes = 0

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlSyntaxError([(1, f"the file expands to more than {MAX_NODES:,} values "
                                       "(aliases that repeat aliases?); a suite must be smaller")])
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _PLAIN_TAGS:
            self._refuse_tag(node)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # compose makes only these three kinds
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None and not isinstance(key_node, yaml.ScalarNode):
                self.problems.append((line, "complex keys are not supported in suite files"))
                continue
            if key in first_line:
                self.problems.append((line, f"{dotted(path + (key,))}: duplicate key {key!r} "
                                            f"(first at line {first_line[key]}); the later value "
                                            "would silently replace the earlier one"))
                continue
            first_line[key] = line
            self.lines[path + (key,)] = line
            result[key] = self.build(value_node, path + (key,))
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in _PLAIN_TAGS:
            self._refuse_tag(node)
            return None
        return yaml.SafeLoader("").construct_object(node, deep=True)

    def _refuse_tag(self, node: yaml.Node) -> None:
        if node.tag == "tag:yaml.org,2002:merge":
            message = "merge keys ('<<') are not supported in suite files; repeat the keys"
        else:
            message = (f"YAML tag {node.tag!r} is not allowed in suite files (only plain "
                       "strings, numbers, booleans, null, lists and mappings)")
        self.problems.append((node.start_mark.line + 1, message))


def dotted(key: KeyPath) -> str:
    """``("checks", 0, "min_accuracy")`` -> ``checks[0].min_accuracy``."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
