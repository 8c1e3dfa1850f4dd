"""``reports/modeltests.html``: one self-contained file (inline CSS, no scripts from a CDN).

Rendered with Jinja2 and autoescaping on, so model inputs and outputs (adversarial text included)
never inject markup.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modeltests.text import format_number


def render_html(document: dict[str, Any]) -> str:
    """The report page for a JSON results document."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("modeltests.reporting", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = lambda v: format_number(v) if isinstance(v, (int, float)) else (v or "")
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, default=str)
    env.filters["shade"] = _shade
    return env.get_template("report.html.j2").render(doc=document, checks=document["checks"])


def write_html(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(render_html(document), encoding="utf-8")
    temporary.replace(path)


def _shade(count: int, row: list[int]) -> str:
    total = sum(row) or 1
    alpha = round(0.1 + 0.8 * count / total, 2) if count else 0
    return f"background: rgba(37, 99, 235, {alpha})"
