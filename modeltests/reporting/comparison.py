"""The HTML figures of a latency comparison (``latency``'s ``compare_to``): both scaling curves
on log-log axes, and the p50 ratio per length with its bootstrap interval, the crossover and
the attention each length ran in the caption."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from modeltests.reporting import charts
from modeltests.reporting.charts import Bar, Series

Chart = tuple[str, Markup, str]
"""A figure's title, SVG and caption (:class:`modeltests.reporting.figures.Figure`'s fields)."""


def comparison_charts(entry: dict[str, Any], details: dict[str, Any]) -> list[Chart]:
    """The curves and the ratios of ``details["compare"]`` (none without one)."""
    compare = details.get("compare")
    if not isinstance(compare, dict):
        return []
    curve = compare.get("curve") or {}
    points = [p for p in curve.get("points") or [] if p.get("sequence_length")]
    if points:
        return [_curves(compare, curve, points), _ratios(entry, compare, points)]
    return [_ratios(entry, compare, compare.get("pairs") or [])]


def _curves(compare: dict[str, Any], curve: dict[str, Any], points: list[dict[str, Any]]
            ) -> Chart:
    other = str(compare.get("model"))
    series = [Series("this model", [(float(p["sequence_length"]), float(p["p50_ms"]))
                                    for p in points], group="model"),
              Series(other, [(float(p["sequence_length"]), float(p["compare_p50_ms"]))
                             for p in points], dashed=True, group="compare")]
    title = f"p50 latency against sequence length: this model and {other}"
    crossover = compare.get("crossover")
    note = ("no crossover in the range" if not isinstance(crossover, dict) else
            f"crossover between {crossover.get('previous_length')} and "
            f"{crossover.get('length')} tokens")
    attention = [f"{p['sequence_length']}: {p['attention']}" for p in points
                 if p.get("attention")]
    caption = (f"Batch {curve.get('batch_size')}, {curve.get('mode')} mode; each length timed "
               f"on both models in interleaved rounds. ")
    if attention:
        caption += "Attention this model ran per length: " + ", ".join(attention) + "."
    return (title, charts.log_log_lines(series, title, "sequence length (tokens, log "
                                              "scale)", "p50 ms (log scale)", note), caption)


def _ratios(entry: dict[str, Any], compare: dict[str, Any], points: list[dict[str, Any]]
            ) -> Chart:
    limit, held = None, None
    for t in entry.get("thresholds", []):
        if t.get("metric") == "ratio_at_longest" and t.get("operator") == "<=":
            limit, held = float(t["limit"]), bool(t.get("held"))
    rows = []
    for i, p in enumerate(points):
        last = i == len(points) - 1
        label = (f"{p['sequence_length']} tokens" if p.get("sequence_length")
                 else str(p.get("config")))
        rows.append(Bar(label, p.get("ratio"), _interval(p.get("ratio_interval")),
                        limit if last else None, held if last else None, p.get("rounds")))
    title = f"p50 ratio, this model / {compare.get('model')}"
    # from 0, so that bar lengths compare as ratios do (1 = as fast)
    reach = [v for r in rows for v in (r.value, r.limit, *(r.interval or ())) if v is not None]
    bounds = (0.0, max([1.0, *reach]) * 1.1)
    return (title, charts.interval_bars(rows, title, bounds=bounds, operator="<="),
                  f"Above 1: this model is slower. Whiskers: {compare.get('interval_method')}. "
                  f"Crossover: {compare.get('crossover_text')}.")


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and None not in value:
        return float(value[0]), float(value[1])
    return None
