"""Markdown tables of pydantic sections, read from their JSON Schema: the suite format's pages.

Used by :mod:`modeltests.cli.reference` for the check kinds, the adapters and the suite's top
level. A field's row says its type, its default and bounds, and its description; a threshold
(a field declared with :func:`modeltests.threshold`) says which metric it gates and how.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modeltests.result import THRESHOLD_MARK

Schema = dict[str, Any]

_BOUNDS = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
           ("exclusiveMaximum", "<"), ("minItems", "items >="), ("minProperties", "entries >="),
           ("minLength", "length >="))


def anchor(kind: str, name: str) -> str:
    """The HTML anchor of an entry: ``check-accuracy``, ``adapter-http``, ``section-Defaults``."""
    return f"{kind}-{name}".lower().replace("_", "-")


@dataclass
class Sections:
    """Nested sections (``$defs``) met while rendering, each written once after the entries."""

    defs: dict[str, Schema]
    kind: str = "section"
    seen: list[str] = field(default_factory=list)

    def link(self, ref: str) -> str:
        name = ref.rsplit("/", 1)[-1]
        if name not in self.seen:
            self.seen.append(name)
        return f"[{name}](#{anchor(self.kind, name)})"

    def render(self, skip: frozenset[str] = frozenset()) -> list[str]:
        """Every nested section met so far (and those they refer to), in order of first use."""
        lines: list[str] = []
        done = 0
        while done < len(self.seen):
            name = self.seen[done]
            done += 1
            schema = self.defs[name]
            lines += [f'<a id="{anchor(self.kind, name)}"></a>', "", f"### `{name}`", ""]
            if schema.get("description"):
                lines += [one_line(schema["description"]), ""]
            lines += field_table(schema, self, skip)
            lines.append("")
        return lines


def one_line(text: str) -> str:
    """``text`` on one line, safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def type_text(node: Schema, sections: Sections) -> str:
    """A field's type in words: ``number``, ``list of string``, ``one of 'a', 'b'``."""
    if "$ref" in node:
        return sections.link(node["$ref"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(value)}`" for value in node["enum"])
    for combiner in ("anyOf", "oneOf"):
        if combiner in node:
            options = [type_text(option, sections) for option in node[combiner]
                       if option.get("type") != "null"]
            return " or ".join(dict.fromkeys(options))
    kind = node.get("type")
    if kind == "array":
        items = node.get("items")
        return "list of " + type_text(items, sections) if items else "list"
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            return "mapping of string to " + type_text(values, sections)
        return "mapping"
    return str(kind) if kind else "any"


def bounds_text(node: Schema) -> str:
    """The bounds of a field (of each non-null option of a union), e.g. ``>= 0, <= 1``."""
    found: list[str] = []
    options = node.get("anyOf", [node])
    for option in options:
        for key, operator in _BOUNDS:
            if key in option:
                text = f"{operator} {json.dumps(option[key])}"
                if text not in found:
                    found.append(text)
    return ", ".join(found)


def is_threshold(node: Schema) -> bool:
    return bool(node.get(THRESHOLD_MARK))


def gate_text(name: str) -> str:
    """``accuracy >= limit`` for ``min_accuracy``; ``p95_ms <= limit`` for ``max_p95_ms``."""
    if name.startswith("min_"):
        return f"`{name[4:]}` >= limit"
    if name.startswith("max_"):
        return f"`{name[4:]}` <= limit"
    return "—"


def field_table(schema: Schema, sections: Sections, skip: frozenset[str] = frozenset()
                ) -> list[str]:
    """The rows of a section's fields: thresholds first (they are what a gate reads)."""
    properties: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", []))
    names = [name for name in sorted(properties) if name not in skip]
    thresholds = [name for name in names if is_threshold(properties[name])]
    others = [name for name in names if name not in thresholds]
    lines: list[str] = []
    if thresholds:
        lines += ["| threshold | passes when | default | bounds | description |",
                  "|---|---|---|---|---|"]
        for name in thresholds:
            node = properties[name]
            default = node.get("default")
            shown = "unset" if default is None else f"`{json.dumps(default)}`"
            lines.append(f"| `{name}` | {gate_text(name)} | {shown} | "
                         f"{bounds_text(node) or '—'} | "
                         f"{one_line(node.get('description', '')) or '—'} |")
        lines.append("")
    if others:
        lines += ["| parameter | type | default | bounds | description |",
                  "|---|---|---|---|---|"]
        for name in others:
            node = properties[name]
            default = ("required" if name in required else
                       f"`{json.dumps(node['default'])}`" if "default" in node else "—")
            lines.append(f"| `{name}` | {type_text(node, sections)} | {default} | "
                         f"{bounds_text(node) or '—'} | "
                         f"{one_line(node.get('description', '')) or '—'} |")
        lines.append("")
    return lines
