"""Read a YAML suite file and remember the line of every key.

``yaml.compose`` gives nodes with positions; we build the plain Python value and, beside it, a map
from key paths such as ``("checks", 0, "min_accuracy")`` to 1-based line numbers so that every
validation message can point at the exact line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[Any, ...]


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
    """The file is not valid YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_yaml(path: Path) -> YamlSource:
    """Parse ``path`` into a :class:`YamlSource`; raise :class:`YamlSyntaxError` on bad YAML."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or str(exc)
        return _raise_syntax(problem, line)
    if node is None:
        return YamlSource(path=path, data=None, lines={(): 1})
    lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
    try:
        data = _build(node, (), lines)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        return _raise_syntax(exc.problem or str(exc), mark.line + 1 if mark else 1)
    return YamlSource(path=path, data=data, lines=lines)


def _raise_syntax(problem: str, line: int) -> YamlSource:
    raise YamlSyntaxError(problem, line)


def _build(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            child = path + (key,)
            lines[child] = key_node.start_mark.line + 1
            result[key] = _build(value_node, child, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            child = path + (index,)
            lines[child] = item_node.start_mark.line + 1
            items.append(_build(item_node, child, lines))
        return items
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "complex keys are not supported in suite files", node.start_mark
        )
    constructor = yaml.SafeLoader("")
    return constructor.construct_object(node, deep=True)
