"""Small charts as inline SVG for the HTML report: no library, no script, nothing fetched.

Each function takes plain numbers and returns the ``<svg>`` element as :class:`markupsafe.Markup`
(every text in it escaped here). Written by hand rather than with a chart library because the
report needs a few specific shapes (a value with its 95% interval against a threshold, a log-log
latency curve with its fitted exponent, a heatmap) and must stay one small self-contained file:
a dozen charts cost a few kilobytes, and the output is the same on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 540
GREEN, RED, GREY, BLUE, AMBER = "#16a34a", "#dc2626", "#9ca3af", "#2563eb", "#d97706"
SERIES = ("#2563eb", "#d97706", "#7c3aed", "#0d9488", "#db2777", "#65a30d")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
Scale = Callable[[float], float]


def _svg(width: float, height: float, label: str, body: str) -> Markup:
    text = escape(label)
    return Markup(f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
                  f'height="{height:.0f}" role="img" aria-label="{text}" {FONT}>'
                  f"<title>{text}</title>{body}</svg>")


def _text(x: float, y: float, text: object, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>'
            f"{escape(str(text))}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, color: str, extra: str = "") -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
            f"{extra}/>")


def _rect(x: float, y: float, w: float, h: float, color: str, extra: str = "") -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{color}" {extra}/>')


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = high - low or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


# -- a value with its interval, against a threshold -------------------------------------------

@dataclass(frozen=True)
class Bar:
    """One row of :func:`interval_bars`: ``value`` with its 95% ``interval``, the ``limit`` that
    applies to this row (if any), whether it ``held``, and the sample size ``n``."""

    label: str
    value: float | None
    interval: tuple[float, float] | None = None
    limit: float | None = None
    held: bool | None = None
    n: int | None = None


def interval_bars(rows: Sequence[Bar], title: str, bounds: tuple[float, float] | None = None,
                  operator: str = ">=") -> Markup:
    """Horizontal bars with 95% interval whiskers and each row's threshold as a red tick."""
    label_w, right_w, row_h, top = 150, 110, 26, 8
    plot_w = WIDTH - label_w - right_w
    points = [v for r in rows for v in (r.value, r.limit, *(r.interval or ())) if v is not None]
    low, high = bounds or _zoom(points)
    scale = _scale(low, high, label_w, label_w + plot_w)
    height = top + row_h * len(rows) + 40
    body = [_axis_x(scale, low, high, top, top + row_h * len(rows))]
    for i, row in enumerate(rows):
        y = top + i * row_h
        color = GREY if row.held is None else GREEN if row.held else RED
        body.append(_text(label_w - 8, y + 17, _short(row.label, 24), "end"))
        if row.value is not None:
            start = scale(max(low, min(0.0, high))) if low < 0 < high else scale(low)
            x = scale(row.value)
            body.append(_rect(min(start, x), y + 6, abs(x - start), row_h - 12, color,
                              'fill-opacity="0.75"'))
        if row.interval is not None:
            a, b = scale(row.interval[0]), scale(row.interval[1])
            mid = y + row_h / 2
            body += [_line(a, mid, b, mid, "#111827", 'stroke-width="1.5"'),
                     _line(a, mid - 5, a, mid + 5, "#111827"), _line(b, mid - 5, b, mid + 5,
                                                                   "#111827")]
        if row.limit is not None:
            x = scale(row.limit)
            body.append(_line(x, y + 2, x, y + row_h - 2, RED,
                              'stroke-width="2" stroke-dasharray="3 2"'))
        shown = "n/a" if row.value is None else _number(row.value)
        if row.n is not None:
            shown += f"  n={row.n}"
        body.append(_text(label_w + plot_w + 8, y + 17, shown))
    legend = f"bar: value · whisker: 95% interval · red dashes: threshold ({operator})"
    body.append(_text(label_w, height - 4, legend, extra='fill="#6b7280" font-size="11"'))
    return _svg(WIDTH, height, title, "".join(body))


def _zoom(values: Sequence[float]) -> tuple[float, float]:
    """An axis around ``values`` that keeps small differences visible (rates near 1 are not
    drawn from 0) but includes 0 when the values straddle it."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = max((high - low) * 0.1, 0.02)
    low, high = low - pad, high + pad
    if 0 <= min(values) and max(values) <= 1:
        low, high = max(0.0, math.floor(low * 10) / 10), min(1.0, math.ceil(high * 10) / 10)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _scale(low: float, high: float, start: float, end: float) -> Scale:
    """Maps [low, high] onto [start, end] (clamped)."""
    span = high - low or 1.0
    return lambda v: start + (min(max(v, low), high) - low) / span * (end - start)


def _axis_x(scale: Scale, low: float, high: float, top: float, bottom: float) -> str:
    parts = []
    for tick in _ticks(low, high):
        x = scale(tick)
        parts.append(_line(x, top, x, bottom, "#e5e7eb"))
        parts.append(_text(x, bottom + 13, _number(tick), "middle",
                           'fill="#6b7280" font-size="11"'))
    return "".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- latency ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """One line of :func:`log_log_lines`: ``(x, y)`` points in x order."""

    label: str
    points: list[tuple[float, float]]
    dashed: bool = False
    group: str = ""
    """Lines of one group share a color (one batch size, its modes told apart by dashes)."""


def log_log_lines(series: Sequence[Series], title: str, x_label: str, y_label: str,
                  note: str = "", limit: float | None = None) -> Markup:
    """Lines on log-log axes (latency against sequence length: the slope is the exponent),
    with a dashed red horizontal ``limit`` when given."""
    left, right, top, bottom = 60, 150, 12, 50
    height = 288
    xs = [x for s in series for x, _ in s.points if x > 0]
    ys = [y for s in series for _, y in s.points if y > 0] + ([limit] if limit else [])
    if not xs or not ys:
        return _svg(WIDTH, 40, title, _text(10, 24, "no data"))
    lx, hx = _log_bounds(xs)
    ly, hy = _log_bounds(ys)
    sx = _scale(math.log10(lx), math.log10(hx), left, WIDTH - right)
    sy = _scale(math.log10(ly), math.log10(hy), height - bottom, top)

    def point(x: float, y: float) -> tuple[float, float]:
        return sx(math.log10(x)), sy(math.log10(y))

    body = []
    for tick in _log_ticks(lx, hx):
        x = sx(math.log10(tick))
        body += [_line(x, top, x, height - bottom, "#e5e7eb"),
                 _text(x, height - bottom + 14, _number(tick), "middle", 'fill="#6b7280"')]
    for tick in _log_ticks(ly, hy):
        y = sy(math.log10(tick))
        body += [_line(left, y, WIDTH - right, y, "#e5e7eb"),
                 _text(left - 6, y + 4, _number(tick), "end", 'fill="#6b7280"')]
    if limit:
        y = sy(math.log10(limit))
        body += [_line(left, y, WIDTH - right, y, RED, 'stroke-width="2" stroke-dasharray="5 3"'),
                 _text(WIDTH - right + 6, y + 4, f"limit {_number(limit)}", extra=f'fill="{RED}"')]
    groups = list(dict.fromkeys(line.group for line in series))
    for i, line in enumerate(series):
        color = SERIES[groups.index(line.group) % len(SERIES)]
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        coords = [point(x, y) for x, y in line.points if x > 0 and y > 0]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                    f'stroke-width="2"{dash}/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>' for x, y in coords]
        legend_y = top + 14 + 18 * i
        body += [_line(WIDTH - right + 8, legend_y - 4, WIDTH - right + 28, legend_y - 4, color,
                       f'stroke-width="2"{dash}'),
                 _text(WIDTH - right + 32, legend_y, _short(line.label, 18))]
    body += [_text((left + WIDTH - right) / 2, height - 22, x_label, "middle"),
             _text(14, (top + height - bottom) / 2, y_label, "middle",
                   f'transform="rotate(-90 14 {(top + height - bottom) / 2:.1f})"')]
    if note:
        body.append(_text(left, height - 6, note, extra='font-weight="600"'))
    return _svg(WIDTH, height, title, "".join(body))


def _log_bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        return low / 2, high * 2
    return low / 1.25, high * 1.25


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = []
    narrow = high / low < 30
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in ((1, 1.5, 2, 3, 5, 7) if narrow else (1, 2, 5)):
            tick = mantissa * 10 ** exponent
            if low <= tick <= high:
                ticks.append(float(tick))
    return ticks or [low, high]


def histogram(edges: Sequence[float], counts: Sequence[int], title: str, x_label: str,
              markers: Sequence[tuple[str, float]] = (), limit: float | None = None) -> Markup:
    """Bars of ``counts`` between ``edges``, with labelled vertical ``markers`` (percentiles)
    and a dashed red ``limit``."""
    left, right, top, bottom, height = 50, 20, 40, 40, 236
    if len(edges) != len(counts) + 1 or not counts:
        return _svg(WIDTH, 40, title, _text(10, 24, "no data"))
    low, high = edges[0], edges[-1]
    if limit is not None and limit <= high * 1.5:
        high = max(high, limit * 1.02)
    sx = _scale(low, high, left, WIDTH - right)
    sy = _scale(0, max(counts), height - bottom, top)
    body = [_axis_x(sx, low, high, top, height - bottom)]
    for a, b, n in zip(edges, edges[1:], counts):
        body.append(_rect(sx(a) + 0.5, sy(n), sx(b) - sx(a) - 1, height - bottom - sy(n), BLUE,
                          'fill-opacity="0.7"'))
    for i, (name, value) in enumerate(markers):
        x = sx(value)
        right_half = x > (left + WIDTH - right) / 2
        body += [_line(x, top - 4 + 11 * i, x, height - bottom, "#111827",
                       'stroke-dasharray="2 2"'),
                 _text(x - 3 if right_half else x + 3, top - 6 + 11 * i,
                       f"{name} {_number(value)}", "end" if right_half else "start",
                       'font-size="11"')]
    if limit is not None and limit <= high:
        x = sx(limit)
        body += [_line(x, top, x, height - bottom, RED, 'stroke-width="2" stroke-dasharray="5 3"'),
                 _text(x - 4, height - bottom - 6, f"limit {_number(limit)}", "end",
                       f'fill="{RED}"')]
    body.append(_text((left + WIDTH - right) / 2, height - 8, x_label, "middle"))
    return _svg(WIDTH, height, title, "".join(body))


# -- classification -----------------------------------------------------------------------------

def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> Markup:
    """A confusion matrix: rows expected, columns predicted; each cell shaded by its share of
    the row (green on the diagonal, red off it), with its count."""
    size = max(28, min(64, 360 // max(1, len(labels))))
    left, top = 130, 86
    width = left + size * len(labels) + 20
    height = top + size * len(labels) + 16
    body = [_text(left + size * len(labels) / 2, 14, "predicted →", "middle",
                  'font-weight="600"'),
            _text(12, top - 8, "expected ↓", extra='font-weight="600"')]
    for j, label in enumerate(labels):
        x = left + size * j + size / 2
        body.append(_text(x, top - 8, _short(label, 12), "start",
                          f'transform="rotate(-40 {x:.1f} {top - 8})"'))
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        y = top + size * i
        body.append(_text(left - 8, y + size / 2 + 4, _short(labels[i], 16), "end"))
        for j, count in enumerate(row):
            share = count / total
            color = GREEN if i == j else RED
            opacity = 0.08 + 0.85 * share if count else 0.03
            body.append(_rect(left + size * j, y, size - 2, size - 2, color,
                              f'fill-opacity="{opacity:.2f}"'))
            ink = "#ffffff" if share > 0.55 else "#111827"
            body.append(_text(left + size * j + size / 2 - 1, y + size / 2 + 4, count, "middle",
                              f'fill="{ink}"'))
    return _svg(width, height, title, "".join(body))


def stacked_bar(segments: Sequence[tuple[str, int, str]], title: str) -> Markup:
    """One bar split into ``(label, count, color)`` segments, with a legend of the counts."""
    left = 10
    total = sum(count for _, count, _ in segments)
    if not total:
        return _svg(WIDTH, 40, title, _text(10, 24, "nothing counted"))
    scale = _scale(0, total, left, WIDTH - 10)
    body: list[str] = []
    x = float(left)
    legend_x, legend_y = float(left), 53.0
    for label, count, color in segments:
        end = x + (scale(count) - left)
        if count:
            body.append(_rect(x, 8, end - x, 26, color))
            if end - x > 28:
                body.append(_text((x + end) / 2, 26, count, "middle", 'fill="#ffffff"'))
        x = end
        entry = f"{label}: {count} ({count / total:.0%})"
        width = 14 + 6.6 * len(entry) + 18
        if legend_x + width > WIDTH and legend_x > left:
            legend_x, legend_y = float(left), legend_y + 18
        body += [_rect(legend_x, legend_y - 9, 10, 10, color), _text(legend_x + 14, legend_y, entry)]
        legend_x += width
    return _svg(WIDTH, legend_y + 10, title, "".join(body))
