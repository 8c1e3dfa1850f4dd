"""Which charts a check's entry gets in the HTML report, read from what it measured.

Charts follow the shape of the entry's ``details`` (slices with accuracy, a confusion matrix,
timed configurations, attack outcomes, changed predictions), not the kind's name, so a user's
check that reports the same shapes gets the same charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from modeltests.reporting import charts, curves
from modeltests.reporting.charts import Bar, Series
from modeltests.reporting.comparison import comparison_charts

Entry = dict[str, Any]


@dataclass(frozen=True)
class Figure:
    """A chart with its heading and a sentence that says how to read it."""

    title: str
    svg: Markup
    caption: str = ""


def figures(entry: Entry) -> list[Figure]:
    """Every chart that the entry's measurements support, in reading order."""
    details = entry.get("details") or {}
    if not isinstance(details, dict):
        return []
    found: list[Figure | None] = []
    slices = details.get("slices") or []
    if any("accuracy" in s for s in slices):
        found.append(_slice_accuracy(entry, slices))
    if isinstance(details.get("per_type"), dict) and "entity_f1" in entry.get("metrics", {}):
        found.append(_entity_f1(entry, details["per_type"]))
    if details.get("confusion_matrix") and details.get("labels"):
        found.append(Figure("Confusion matrix", charts.heatmap(
            details["labels"], details["confusion_matrix"], "Confusion matrix"),
            "Rows: expected label; columns: predicted. Shade: share of the row."))
    if details.get("configs"):
        found += [_latency_scaling(details), *(Figure(*chart) for chart in comparison_charts(entry, details)),
                  _latency_distribution(entry, details)]
    if entry.get("kind") == "robustness" or "stopped_by_time_budget" in details:
        found.append(_attack_outcomes(entry))
    if details.get("per_perturbation"):
        found.append(_per_perturbation(entry, details["per_perturbation"]))
    if "changed" in details and "n" in details:
        found.append(_changed_predictions(details))
    if entry.get("kind") == "load" and details.get("steps"):
        found += _load_steps(details)
    if any("accuracy_drop" in s for s in slices) or "accuracy_drop" in entry.get("metrics", {}):
        found.append(_accuracy_drop(entry, slices))
    if isinstance(details.get("reliability"), dict):
        found.append(_reliability(details))
    if any("ece" in s for s in slices):
        found.append(_slice_ece(entry, slices))
    if details.get("risk_coverage"):
        found.append(_risk_coverage(details))
    if details.get("footprint"):
        found.append(_flops_by_length(entry, details["footprint"]))
    return [f for f in found if f is not None]


def _reliability(details: dict[str, Any]) -> Figure | None:
    binning = details.get("ece_binning", "width")
    bins = details["reliability"].get(binning) or []
    if not bins:
        return None
    title = f"Reliability diagram ({len(bins)} non-empty equal-{binning} bins)"
    return Figure(title, curves.reliability_diagram(bins, title),
                  "Bars: accuracy of the rows in each confidence bin; dots: their mean "
                  "confidence; red: the gap, which the ECE averages weighted by the bin's rows. "
                  "Bars below the diagonal: the model is over-confident there.")


def _slice_ece(entry: Entry, slices: list[dict[str, Any]]) -> Figure:
    metrics, intervals = entry.get("metrics", {}), entry.get("intervals", {})
    limit, held = _limit(entry, "max_ece")
    rows = [Bar("overall", metrics.get("ece"), _interval(intervals.get("ece")), limit, held,
                entry.get("sample_size"))]
    for s in slices:
        limit, held = _limit(entry, f"{s['name']}.max_ece")
        rows.append(Bar(s["name"], s.get("ece"), _interval(s.get("interval")), limit, held,
                        s.get("n")))
    return Figure("Expected calibration error per slice", charts.interval_bars(
        rows, "Expected calibration error per slice", operator="<="),
        "Each slice's gated ECE (debiased root-mean-square calibration error) with its 95% "
        "bootstrap interval; red dashes mark max_ece. Small slices have wide intervals: few "
        "rows per bin.")


def _risk_coverage(details: dict[str, Any]) -> Figure:
    curve = details["risk_coverage"]
    at = details.get("at_threshold") or {}
    chosen = None
    if at.get("coverage") and at.get("accuracy") is not None:
        chosen = (float(at["coverage"]), 1.0 - float(at["accuracy"]))
    target = details.get("target_accuracy")
    title = "Risk-coverage curve"
    return Figure(title, curves.risk_coverage_curve(
        curve, title, chosen, None if target is None else 1.0 - float(target)),
        "Each point: answer only rows whose confidence is at least some threshold; coverage is "
        "the share answered, risk the error rate among them. The area under the curve is the "
        "AURC (lower is better).")


def _limit(entry: Entry, key: str) -> tuple[float | None, bool | None]:
    for t in entry.get("thresholds", []):
        if t.get("key") == key:
            return t.get("limit"), t.get("held")
    return None, None


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and None not in value:
        return float(value[0]), float(value[1])
    return None


def _slice_accuracy(entry: Entry, slices: list[dict[str, Any]]) -> Figure:
    metrics, intervals = entry.get("metrics", {}), entry.get("intervals", {})
    limit, held = _limit(entry, "min_accuracy")
    rows = []
    if metrics.get("accuracy") is not None:
        rows.append(Bar("overall", metrics["accuracy"], _interval(intervals.get("accuracy")),
                        limit, held, entry.get("sample_size")))
    for s in slices:
        limit, held = _limit(entry, f"{s['name']}.min_accuracy")
        rows.append(Bar(s["name"], s.get("accuracy"), _interval(s.get("interval")), limit,
                        held, s.get("n")))
    return Figure("Accuracy per slice", charts.interval_bars(rows, "Accuracy per slice"),
                  "Each slice's accuracy with its 95% Wilson interval; red dashes mark the "
                  "slice's min_accuracy. An interval that crosses its threshold is undecided.")


def _entity_f1(entry: Entry, per_type: dict[str, dict[str, Any]]) -> Figure:
    """Token models: entity F1 overall and per entity type, with the bootstrap intervals."""
    metrics, intervals = entry.get("metrics", {}), entry.get("intervals", {})
    limit, held = _limit(entry, "min_entity_f1")
    rows = [Bar("all entities", metrics["entity_f1"], _interval(intervals.get("entity_f1")),
                limit, held, metrics.get("gold_entities"))]
    for kind, figures_ in per_type.items():
        limit, held = _limit(entry, f"min_entity_f1.{kind}")
        rows.append(Bar(kind, figures_.get("f1"), _interval(intervals.get(f"entity_f1.{kind}")),
                        limit, held, figures_.get("support")))
    return Figure("Entity F1 per type", charts.interval_bars(rows, "Entity F1 per type"),
                  "seqeval's entity F1 with its 95% bootstrap interval (sentences resampled); "
                  "n is the gold entities; red dashes mark the thresholds.")


def _latency_scaling(details: dict[str, Any]) -> Figure | None:
    configs = [c for c in details["configs"] if c.get("p50_ms")]
    by_length = any(c.get("sequence_length") for c in configs)
    groups: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for c in configs:
        x = c.get("sequence_length") if by_length else c.get("batch_size")
        key = (c["batch_size"] if by_length else 0, c["mode"])
        if x:
            groups.setdefault(key, []).append((float(x), float(c["p50_ms"])))
    series = [Series(f"batch {b} {mode}" if by_length else mode, sorted(points),
                     dashed=mode == "model", group=str(b) if by_length else mode)
              for (b, mode), points in sorted(groups.items())]
    if not series:
        return None
    scaling = details.get("scaling") or {}
    note = ""
    if scaling.get("exponent") is not None:
        note = (f"fitted exponent {scaling['exponent']:.2f} (p50 ∝ length^"
                f"{scaling['exponent']:.2f}, batch {scaling.get('batch_size')}, "
                f"{scaling.get('mode')})")
    title = "p50 latency against sequence length" if by_length else \
        "p50 latency against batch size"
    x_label = "sequence length (tokens, log scale)" if by_length else "batch size (log scale)"
    return Figure(title, charts.log_log_lines(series, title, x_label, "p50 ms (log scale)",
                                              note),
                  "One line per batch size and mode (dashed: model only, no tokenization). On "
                  "log-log axes the slope is the scaling exponent: 1 is linear in length.")


def _load_steps(details: dict[str, Any]) -> list[Figure | None]:
    """A load check's steps: throughput against the generator's ceiling, p99 against the SLO."""
    steps = [s for s in details["steps"] if isinstance(s, dict)]
    ceiling = details.get("generator_ceiling_rps")
    throughput = [charts.Bar(str(s.get("step")), s.get("throughput"), n=s.get("requests"))
                  for s in steps]
    if isinstance(ceiling, (int, float)):
        throughput.append(charts.Bar("generator ceiling", float(ceiling)))
    figures: list[Figure | None] = [Figure(
        "Throughput per step", charts.interval_bars(throughput, "Throughput per step"),
        "Answered requests per second in each step; the last bar is the load generator's own "
        "ceiling against a null endpoint (a step near it may measure the generator).")]
    slo = details.get("slo_p99_ms")
    rows = [charts.Bar(str(s.get("step")), s["p99_ms"],
                       (s["p99_ms"], s["p99_upper_ms"]) if s.get("p99_supported") else None,
                       slo, None if slo is None else s["p99_ms"] <= slo, s.get("answered"))
            for s in steps if isinstance(s.get("p99_ms"), (int, float))]
    if rows:
        figures.append(Figure("p99 latency per step", charts.interval_bars(
            rows, "p99 latency per step, ms", operator="<="),
            "Whisker: the order-statistic 95% upper bound, shown only for steps with MLPerf's "
            "662 answered requests; red dashes: slo_p99_ms."))
    return figures


def _latency_distribution(entry: Entry, details: dict[str, Any]) -> Figure | None:
    distribution = details.get("distribution") or {}
    if not distribution.get("counts"):
        return None
    head: dict[str, Any] = next((c for c in details["configs"] if c.get("config") == distribution.get("config")
                 and c.get("mode") == distribution.get("mode")), {})
    markers = [(name, float(head[f"{name}_ms"])) for name in ("p50", "p95", "p99")
               if head.get(f"{name}_ms") is not None]
    limit = None
    for t in entry.get("thresholds", []):
        if t.get("metric") in ("p50_ms", "p90_ms", "p95_ms", "p99_ms") and not t.get("scope"):
            limit = float(t["limit"])
            break
    title = (f"Latency of the gated configuration ({distribution.get('config')}, "
             f"{distribution.get('mode')}, {head.get('n', '?')} calls)")
    caption = "Distribution of the timed calls, with the percentiles."
    if limit is not None and limit > distribution["edges_ms"][-1] * 1.5:
        caption += f" The limit ({limit:g} ms) lies far to the right of every call."
    return Figure(title, charts.histogram(distribution["edges_ms"], distribution["counts"],
                                          title, "ms per call", markers, limit), caption)


def _attack_outcomes(entry: Entry) -> Figure | None:
    metrics = entry.get("metrics", {})
    if "succeeded" not in metrics:
        return None
    segments = [("attack succeeded", int(metrics["succeeded"]), charts.RED),
                ("attack failed (model held)", int(metrics.get("failed", 0)), charts.GREEN),
                ("skipped (already wrong)", int(metrics.get("skipped", 0)), charts.GREY)]
    return Figure("Attack outcomes", charts.stacked_bar(segments, "Attack outcomes"),
                  "Skipped examples were misclassified before the attack and are not attacked.")


def _per_perturbation(entry: Entry, per: dict[str, dict[str, Any]]) -> Figure:
    limit, _ = _limit(entry, "min_pass_rate")
    rows = []
    for name, counts in per.items():
        cases = int(counts.get("cases", 0))
        rate = counts["passed"] / cases if cases else None
        held = None if limit is None or rate is None else rate >= limit
        rows.append(Bar(name, rate, _interval(counts.get("interval")), limit, held, cases))
    return Figure("Pass rate per perturbation", charts.interval_bars(
        rows, "Pass rate per perturbation"),
        "The share of cases whose label did not change, per perturbation, with its 95% "
        "interval; red dashes: min_pass_rate (which gates the overall rate).")


def _changed_predictions(details: dict[str, Any]) -> Figure | None:
    n, changed = int(details["n"]), int(details["changed"])
    if not changed or "broke" not in details:
        return None
    broke, fixed = int(details["broke"]), int(details.get("fixed", 0))
    segments = [("broken (reference right)", broke, charts.RED),
                ("fixed (reference wrong)", fixed, charts.GREEN),
                ("changed, wrong both", changed - broke - fixed, charts.AMBER)]
    title = f"Changed predictions: {changed} of {n} rows"
    return Figure(title, charts.stacked_bar(segments, title),
                  "The rows whose label compression changed, by whether the reference was "
                  "right; every other row kept its label.")


def _accuracy_drop(entry: Entry, slices: list[dict[str, Any]]) -> Figure:
    metrics, intervals = entry.get("metrics", {}), entry.get("intervals", {})
    limit, held = _limit(entry, "max_accuracy_drop")
    rows = [Bar("overall", metrics.get("accuracy_drop"),
                _interval(intervals.get("accuracy_drop")), limit, held,
                entry.get("sample_size"))]
    for s in slices:
        limit, held = _limit(entry, f"{s['name']}.max_accuracy_drop")
        rows.append(Bar(s["name"], s.get("accuracy_drop"),
                        _interval(intervals.get(f"slice.{s['name']}.accuracy_drop")), limit,
                        held, s.get("n")))
    return Figure("Accuracy drop per slice", charts.interval_bars(
        rows, "Accuracy drop per slice", operator="<="),
        "Reference accuracy minus compressed accuracy (positive: compression lost accuracy), "
        "with the paired 95% interval; red dashes: max_accuracy_drop.")


def _flops_by_length(entry: Entry, configs: list[dict[str, Any]]) -> Figure | None:
    """GFLOPs per input against the sequence length, or for an image model the image side."""
    images = bool(configs) and "image_side" in configs[0]
    axis = "image_side" if images else "sequence_length"
    points = sorted((float(c[axis]), float(c["gflops_per_input"]))
                    for c in configs if c.get("gflops_per_input"))
    if len(points) < (2 if images else 1):
        return None
    limit, _ = _limit(entry, "max_gflops")
    if images:
        title, series, x_label = ("GFLOPs per image against image size", "GFLOPs / image",
                                  "image side (pixels, log scale)")
        note = ("Counted by torch's FlopCounterMode (convolutions and matrix products). A "
                "convolution grows with the pixels (slope 2 against the side); red: max_gflops.")
    else:
        title, series, x_label = ("GFLOPs per input against sequence length", "GFLOPs / input",
                                  "sequence length (tokens, log scale)")
        note = ("Counted by torch's FlopCounterMode (matrix products only). Linear layers grow "
                "with the length (slope 1 on log-log axes), attention with its square; red: "
                "max_gflops.")
    return Figure(title, charts.log_log_lines([Series(series, points)], title, x_label,
                                              "GFLOPs (log scale)", limit=limit), note)
