"""``reports/modeltests.html``: one self-contained file for a release reviewer.

Inline CSS, inline SVG charts (:mod:`modeltests.reporting.charts`) and a few lines of inline
script for the filter; nothing is fetched. Rendered with Jinja2 and autoescaping on, so model
inputs and outputs (adversarial text included) never inject markup: the few values built as
markup here (charts, highlighted changes) escape every text they contain.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any, cast

from markupsafe import Markup, escape

from modeltests.support.atomic import atomic_path
from modeltests.reporting.figures import figures
from modeltests.reporting.gate_changes import gate_changes
from modeltests.reporting.trends import Trend, trend_chart
from modeltests.result import PASSING_OUTCOMES
from modeltests.support.text import format_number, visible_strings

Entry = dict[str, Any]


def render_html(document: dict[str, Any], previous: dict[str, Any] | None = None,
                previous_name: str | None = None,
                trends: dict[str, list[Trend]] | None = None) -> str:
    """The report page for a JSON results document; with ``previous`` (an earlier run's
    document, named ``previous_name``), a section at the top lists how the gate changed since
    (:mod:`modeltests.reporting.gate_changes`), a weakened gate first and in red. Every text in
    it is shown with :func:`~modeltests.support.text.visible`: a right-to-left override in a
    model's input cannot reverse a table cell, and a lone surrogate cannot stop the page being
    written. ``trends`` (by node id, from the run history) add each gated metric's trend over
    the last recorded runs under its check."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("modeltests.reporting", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters.update(num=_num, limit=_limit, tojson_pretty=lambda v: json.dumps(v, indent=2, default=str),
                       duration=duration, size=_size, count=_count)
    env.globals.update(figures=figures, example_table=example_table, model_rows=model_rows,
                       dataset_rows=dataset_rows, trend_chart=trend_chart)
    document = cast(dict[str, Any], visible_strings(document))
    checks = document.get("checks", [])
    return env.get_template("report.html.j2").render(
        doc=document, checks=checks,
        suite_checks=[c for c in checks if c.get("kind") != "python"],
        python_tests=[c for c in checks if c.get("kind") == "python"],
        kinds=sorted({str(c.get("kind")) for c in checks}),
        outcomes=[o for o in ("failed", "error", "xpassed", "passed", "xfailed", "skipped")
                  if any(c.get("outcome") == o for c in checks)],
        gate_ok=all(c.get("outcome") in PASSING_OUTCOMES for c in checks),
        changes=gate_changes(previous, document) if previous is not None else None,
        previous_name=previous_name or "the previous run", trends=trends or {})


def write_html(document: dict[str, Any], path: Path, previous: dict[str, Any] | None = None,
               previous_name: str | None = None,
               trends: dict[str, list[Trend]] | None = None) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(render_html(document, previous, previous_name, trends),
                             encoding="utf-8")


def _num(value: Any) -> Any:
    return format_number(value) if isinstance(value, (int, float)) else ("" if value is None
                                                                          else value)


def _limit(value: Any) -> Any:
    """A threshold's limit as written in a suite: ``20``, not ``20.000``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e12:
        return str(int(value))
    return _num(value)


def duration(seconds: Any) -> str:
    """``850 ms``, ``3.2 s``, ``2 min 5 s``: a duration for people."""
    if not isinstance(seconds, (int, float)):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else "<1 ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _size(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return f"{value / 1e6:.1f} MB" if value < 1e9 else f"{value / 1e9:.2f} GB"


def _count(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return f"{value / 1e6:.1f} M" if value >= 1e6 else f"{value:,.0f}"


# -- models -------------------------------------------------------------------------------------

MODEL_FACTS = (("adapter", "adapter", str), ("source", "source", str),
               ("architecture", "architecture", str), ("device", "device", str),
               ("dtype", "dtype", str), ("parameters", "parameters", _count),
               ("size_on_disk_bytes", "size on disk", _size),
               ("parameter_bytes", "parameters in memory", _size),
               ("load_seconds", "load time", duration), ("build_seconds", "build time", duration))


def model_rows(model: dict[str, Any]) -> list[tuple[str, str]]:
    """A model of ``run.models`` as ``(fact, shown value)`` rows: what was loaded, how large,
    how long it took, and the suite settings that identify it."""
    rows = [(label, show(model[key])) for key, label, show in MODEL_FACTS
            if model.get(key) is not None]
    try:
        settings = json.loads(model.get("key") or "{}")
    except ValueError:
        settings = {}
    shown = ", ".join(f"{k}={v}" for k, v in settings.items()
                      if v is not None and k not in ("adapter", "labels"))
    if shown:
        rows.append(("settings", shown))
    fingerprint = model.get("fingerprint") or {}
    if fingerprint.get("sha256"):
        known = "" if fingerprint.get("files_known") else " (parameters only: files unknown)"
        rows.append(("fingerprint", f"sha256 {fingerprint['sha256'][:16]}…{known}"))
    rows += [(key.replace("_", " "), str(value)) for key, value in model.items()
             if key not in {k for k, _, _ in MODEL_FACTS} | {"key", "fingerprint"}
             and value is not None]
    return rows


def dataset_rows(datasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``run.datasets`` with one row per file read (same path and digest), naming every suite
    that declared it."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for d in datasets:
        key = (d.get("name"), d.get("path"), d.get("sha256"), d.get("rows"))
        row = rows.setdefault(key, {**d, "suites": []})
        row["suites"].append(d.get("suite"))
    return list(rows.values())


# -- examples -----------------------------------------------------------------------------------

MARKED = re.compile(r"\[\[(.*?)\]\]")


def example_table(examples: list[dict[str, Any]]) -> tuple[list[str], list[list[Markup]]]:
    """Headers and cells of a check's examples: changed words highlighted in both texts, every
    probability next to its label, compressed rows with both labels."""
    if not examples:
        return [], []
    first = examples[0]
    if "prompt" in first:  # generations: the prompt (and its perturbed copy), the outputs
        columns = [("prompt", _plain("prompt"))]
        if "perturbed" in first:
            columns += [("perturbed prompt", _plain("perturbed"))]
        columns += [("output", _plain("output"))]
        if "perturbed_output" in first:
            columns += [("output on the perturbed prompt", _plain("perturbed_output"))]
        if "expected" in first:
            columns += [("expected", _plain("expected"))]
    elif "reference" in first:
        columns = [("text", _plain("text")), ("expected", _plain("expected")),
                   ("reference", _labelled("reference", "reference_confidence")),
                   ("compressed", _labelled("predicted", "confidence")),
                   ("change", _plain("change"))]
    elif "perturbed" in first:
        columns = [("original", _changed(0)), ("perturbed", _changed(1)),
                   ("expected", _plain("expected")),
                   ("predicted" if "before" not in first else "predicted before → after",
                    _labelled("predicted", "confidence", before="before"))]
        if "watched_label" in first:
            columns.append(("p(label) before → after", _watched))
    else:
        columns = [("text", _plain("text")), ("expected", _plain("expected")),
                   ("predicted", _labelled("predicted", "confidence"))]
    if "input" in first:
        columns.insert(0, ("perturbation", _plain("input")))
    used = {"text", "original", "perturbed", "expected", "predicted", "confidence", "reference",
            "reference_confidence", "change", "input", "watched_label", "p_before", "p_after",
            "before", "prompt", "output", "perturbed_output"}
    columns += [(key.replace("_", " "), _plain(key)) for key in first if key not in used]
    return [name for name, _ in columns], [[cell(e) for _, cell in columns] for e in examples]


def _plain(key: str) -> Any:
    return lambda e: Markup(escape(_num(e.get(key))))


def _labelled(label: str, probability: str, before: str = "") -> Any:
    def cell(e: dict[str, Any]) -> Markup:
        p = e.get(probability)
        shown = f" <span class=\"muted\">p={p:.2f}</span>" if isinstance(p, float) else ""
        earlier = f"{escape(e[before])} → " if before and before in e else ""
        return Markup(f"<span class=\"label\">{earlier}{escape(e.get(label, ''))}{shown}</span>")
    return cell


def _watched(e: dict[str, Any]) -> Markup:
    before, after = e.get("p_before"), e.get("p_after")
    if not isinstance(before, float) or not isinstance(after, float):
        return Markup("")
    return Markup(f"<span class=\"label\">p({escape(e.get('watched_label'))}) {before:.2f} → "
                  f"{after:.2f} <span class=\"muted\">({after - before:+.2f})</span></span>")


def _changed(side: int) -> Any:
    def cell(e: dict[str, Any]) -> Markup:
        return highlight_pair(str(e.get("original", "")), str(e.get("perturbed", "")))[side]
    return cell


def highlight_pair(before: str, after: str) -> tuple[Markup, Markup]:
    """Both texts escaped, with what changed in ``<mark>``: TextAttack's ``[[word]]`` marks when
    present, else a word diff."""
    if MARKED.search(before) or MARKED.search(after):
        return _marks(before), _marks(after)
    a, b = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        chunk_a, chunk_b = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(chunk_a)
            right.append(chunk_b)
            continue
        left.append(_mark(chunk_a))
        right.append(_mark(chunk_b))
    return Markup("".join(left)), Markup("".join(right))


def _mark(text: str) -> str:
    """``text`` in ``<mark>``, the spaces around it left out."""
    core = text.strip()
    if not core:
        return text
    start = text.index(core)
    return f"{text[:start]}<mark>{core}</mark>{text[start + len(core):]}"


def _marks(text: str) -> Markup:
    parts = MARKED.split(text)
    return Markup("".join(f"<mark>{escape(p)}</mark>" if i % 2 else str(escape(p))
                          for i, p in enumerate(parts)))
