"""A gated metric over the last recorded runs of the same check, for the HTML report: plain
records (the run history fills them: :func:`modeltests.history.read.check_trends`) and their
chart, the values with their 95% intervals and the current limit.

Static indicators (accuracy, recall, coverage) compare across machines; dynamic ones (latency,
throughput, speed-ups) only between runs on the same machine kind: a trend of a dynamic metric
keeps the runs whose machine fingerprint is this run's, and says how many it left out, or that
it mixes machines when a run recorded none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

from markupsafe import Markup

from modeltests.result import PASSING_OUTCOMES, is_dynamic
from modeltests.reporting.charts import (BLUE, GREEN, GREY, RED, WIDTH, _line, _number, _scale,
                                         _svg, _text, _ticks, _zoom)



class TrendPoint(NamedTuple):
    """One run's value of the metric, its 95% interval, whether its threshold held there (a
    named tuple: a trend over 1,000 runs makes tens of thousands)."""

    run: str
    """``12`` for a recorded run, ``this run`` for the run the report is about."""
    started: str | None
    commit: str | None
    value: float
    low: float | None
    high: float | None
    held: bool | None
    machine: str | None
    outcome: str | None = None
    """The check's verdict in that run (``passed``, ``failed``...): a run whose threshold
    held may still have failed on another (a history gate)."""


@dataclass(frozen=True)
class Trend:
    """A gated ``metric`` of one check over the last runs, oldest first, with this run's limit."""

    metric: str
    key: str
    operator: str
    limit: float | None
    dynamic: bool
    points: list[TrendPoint]
    note: str = ""
    """What was left out or mixed (machines), for the caption."""


def gated_metrics(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """This check's thresholds on its own (unscoped) metrics, one per metric: the metrics a
    trend is drawn for."""
    metrics = entry.get("metrics") or {}
    found: dict[str, dict[str, Any]] = {}
    for threshold in entry.get("thresholds") or []:
        metric = threshold.get("metric")
        value = metrics.get(metric)
        if threshold.get("scope") or metric in found or isinstance(value, bool) \
                or not isinstance(value, (int, float)):
            continue
        found[metric] = threshold
    return list(found.values())


def same_machine(points: Sequence[TrendPoint], machine: str | None) -> tuple[list[TrendPoint], str]:
    """The points of a dynamic metric that compare with this run's (same machine), and what the
    caption says about the others."""
    if machine is None or any(p.machine is None for p in points):
        return list(points), "mixes machines: some runs recorded no machine fingerprint"
    kept = [p for p in points if p.machine == machine]
    left = len(points) - len(kept)
    note = f"only runs on this machine kind ({machine}); {left} on other machines left out" \
        if left else f"all on this machine kind ({machine})"
    return kept, note


def trend_chart(trend: Trend) -> Markup:
    """The metric run by run (x: runs, oldest first), each value a dot (green where its
    threshold held, red where not) with its 95% interval as a whisker, the limit a red dashed
    line."""
    left, right, top, bottom = 56, 16, 12, 44
    height = 220
    points = trend.points
    values = [v for p in points for v in (p.value, p.low, p.high) if v is not None]
    if trend.limit is not None:
        values.append(trend.limit)
    if not points:
        return _svg(WIDTH, 40, f"{trend.metric}: no recorded run", _text(10, 24, "no data"))
    low, high = _zoom(values)
    sy = _scale(low, high, height - bottom, top)
    step = (WIDTH - left - right) / max(len(points), 1)
    body = []
    for tick in _ticks(low, high):
        y = sy(tick)
        body += [_line(left, y, WIDTH - right, y, "#e5e7eb"),
                 _text(left - 6, y + 4, _number(tick), "end", 'fill="#6b7280"')]
    if trend.limit is not None:
        y = sy(trend.limit)
        body += [_line(left, y, WIDTH - right, y, RED, 'stroke-width="2" stroke-dasharray="5 3"'),
                 _text(WIDTH - right - 4, y - 4, f"limit {trend.operator} {_number(trend.limit)}",
                       "end", f'fill="{RED}"')]
    coords = []
    for i, point in enumerate(points):
        x = left + step * (i + 0.5)
        coords.append((x, sy(point.value)))
        if point.low is not None and point.high is not None:
            a, b = sy(point.low), sy(point.high)
            body += [_line(x, a, x, b, "#111827", 'stroke-width="1.2"'),
                     _line(x - 4, a, x + 4, a, "#111827"), _line(x - 4, b, x + 4, b, "#111827")]
        if len(points) <= 25 or i % max(1, len(points) // 10) == 0 or i == len(points) - 1:
            body.append(_text(x, height - bottom + 14, point.run if point.run.isdigit()
                              else "now", "middle", 'fill="#6b7280" font-size="10"'))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    body.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="1.5"/>')
    for (x, y), point in zip(coords, points):
        color = GREY if point.held is None else GREEN if point.held else RED
        if point.outcome not in (None, *PASSING_OUTCOMES):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6.5" fill="none" stroke="{RED}" '
                        'stroke-width="1.5"/>')
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
    legend = "x: run · dot: value (green held, red not) · whisker: 95% interval · ring: check failed"
    body.append(_text(left, height - 6, legend, extra='fill="#6b7280" font-size="11"'))
    return _svg(WIDTH, height, f"{trend.metric} over the last {len(points)} runs",
                "".join(body))
