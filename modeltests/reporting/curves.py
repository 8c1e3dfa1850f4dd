"""Charts of probabilities on the unit square, as inline SVG: the reliability diagram of a
calibration check and the risk-coverage curve of a coverage check.

Same conventions as :mod:`modeltests.reporting.charts` (plain numbers in, escaped ``<svg>`` out,
nothing fetched).
"""

from __future__ import annotations

from typing import Any, Sequence

from markupsafe import Markup

from modeltests.reporting.charts import (
    AMBER, BLUE, GREY, RED, WIDTH, Scale, _line, _number, _rect, _scale, _svg, _text,
)

SIDE = 300
LEFT, TOP, BOTTOM = 56, 14, 44


def _frame(sx: Scale, sy: Scale, x_label: str, y_label: str, y_high: float = 1.0) -> list[str]:
    """Grid, ticks and axis labels of a plot of [0, 1] x [0, y_high]."""
    body = []
    for i in range(6):
        tick = i / 5
        x, y = sx(tick), sy(tick * y_high)
        body += [_line(x, TOP, x, TOP + SIDE, "#e5e7eb"), _line(LEFT, y, LEFT + SIDE, y, "#e5e7eb"),
                 _text(x, TOP + SIDE + 14, _number(tick), "middle", 'fill="#6b7280"'),
                 _text(LEFT - 6, y + 4, _number(tick * y_high), "end", 'fill="#6b7280"')]
    middle = TOP + SIDE / 2
    body += [_text(LEFT + SIDE / 2, TOP + SIDE + 32, x_label, "middle"),
             _text(14, middle, y_label, "middle", f'transform="rotate(-90 14 {middle:.1f})"')]
    return body


def reliability_diagram(bins: Sequence[dict[str, Any]], title: str) -> Markup:
    """Accuracy per confidence bin as bars over the bin's range, the bin's mean confidence as a
    dot, the gap between them shaded red, and the diagonal of perfect calibration."""
    if not bins:
        return _svg(WIDTH, 40, title, _text(10, 24, "no data"))
    sx = _scale(0, 1, LEFT, LEFT + SIDE)
    sy = _scale(0, 1, TOP + SIDE, TOP)
    body = _frame(sx, sy, "confidence (largest probability)", "accuracy")
    body.append(_line(sx(0), sy(0), sx(1), sy(1), GREY, 'stroke-dasharray="5 4"'))
    for b in bins:
        x0, x1 = sx(float(b["low"])), sx(float(b["high"]))
        accuracy, confidence = float(b["accuracy"]), float(b["confidence"])
        body.append(_rect(x0 + 0.5, sy(accuracy), max(x1 - x0 - 1, 1.5), sy(0) - sy(accuracy),
                          BLUE, 'fill-opacity="0.55"'))
        top, bottom = sorted((sy(accuracy), sy(confidence)))
        body.append(_rect(x0 + 0.5, top, max(x1 - x0 - 1, 1.5), bottom - top, RED,
                          'fill-opacity="0.35"'))
        body.append(f'<circle cx="{sx(confidence):.1f}" cy="{sy(confidence):.1f}" r="2.5" '
                    f'fill="{AMBER}"><title>{int(b["n"])} rows</title></circle>')
    legend_x = LEFT + SIDE + 16
    body += [_rect(legend_x, TOP + 6, 10, 10, BLUE, 'fill-opacity="0.55"'),
             _text(legend_x + 14, TOP + 15, "accuracy of the bin"),
             _rect(legend_x, TOP + 24, 10, 10, RED, 'fill-opacity="0.35"'),
             _text(legend_x + 14, TOP + 33, "gap to its confidence"),
             _text(legend_x, TOP + 51, "dashes: perfect calibration", extra='fill="#6b7280"')]
    return _svg(WIDTH, TOP + SIDE + BOTTOM, title, "".join(body))


def risk_coverage_curve(points: Sequence[Sequence[float]], title: str,
                        chosen: tuple[float, float] | None = None,
                        target_risk: float | None = None) -> Markup:
    """Selective risk (error rate of the answered rows) against coverage (share answered) as the
    steps whose area is the AURC (``points`` are ``[coverage, risk, ...]``), with the suite's
    operating point as a dot and the risk a target accuracy allows as red dashes."""
    if not points:
        return _svg(WIDTH, 40, title, _text(10, 24, "no data"))
    high = max([float(p[1]) for p in points] + [target_risk or 0.0, 0.05])
    high = min(1.0, max(0.1, round(high * 1.1 + 0.05, 1)))
    sx = _scale(0, 1, LEFT, LEFT + SIDE)
    sy = _scale(0, high, TOP + SIDE, TOP)
    body = _frame(sx, sy, "coverage (share of rows answered)", "risk (error rate of answered)",
                  high)
    steps, previous = [], 0.0
    for point in points:  # risk_g holds over (coverage_{g-1}, coverage_g]: the AURC's steps
        coverage, risk = float(point[0]), float(point[1])
        steps += [(previous, risk), (coverage, risk)]
        previous = coverage
    path = " ".join(f"{sx(c):.1f},{sy(r):.1f}" for c, r in steps)
    body.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    legend_x = LEFT + SIDE + 16
    body += [_line(legend_x, TOP + 10, legend_x + 18, TOP + 10, BLUE, 'stroke-width="2"'),
             _text(legend_x + 22, TOP + 14, "risk at each threshold")]
    if target_risk is not None:
        y = sy(target_risk)
        body += [_line(LEFT, y, LEFT + SIDE, y, RED, 'stroke-width="2" stroke-dasharray="5 3"'),
                 _line(legend_x, TOP + 28, legend_x + 18, TOP + 28, RED,
                       'stroke-width="2" stroke-dasharray="5 3"'),
                 _text(legend_x + 22, TOP + 32, f"risk allowed ({_number(target_risk)})")]
    if chosen is not None:
        body += [f'<circle cx="{sx(chosen[0]):.1f}" cy="{sy(chosen[1]):.1f}" r="4.5" '
                 f'fill="{AMBER}"/>',
                 f'<circle cx="{legend_x + 9}" cy="{TOP + 46}" r="4.5" fill="{AMBER}"/>',
                 _text(legend_x + 22, TOP + 50, "the suite's threshold")]
    return _svg(WIDTH, TOP + SIDE + BOTTOM, title, "".join(body))
