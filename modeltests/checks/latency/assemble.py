"""From a :class:`~.record.LatencyRun` to the ``latency`` check's :class:`CheckResult`: headline
metrics and intervals, thresholds, percentile claims, baseline verdict, warnings and details."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltests.checks.latency.attention import (
    attention_details,
    attention_summary,
    attention_warnings,
)
from modeltests.checks.latency.baseline import Baseline, compare_with_baseline
from modeltests.checks.latency.compare import RATIO_METHOD, Comparison, compare
from modeltests.checks.latency.plausibility import MachineLoad, plausibility
from modeltests.checks.latency.record import LatencyRun, NotMeasured, TimedConfig, TimedMode
from modeltests.result import CheckResult

if TYPE_CHECKING:
    from modeltests.checks.latency.params import LatencyParams
    from modeltests.context import CheckContext

PERCENTILE_KEYS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms")
SUMMARY_KEYS = PERCENTILE_KEYS + ("mean_ms", "std_ms", "iqr_ms", "throughput")


def build_result(context: CheckContext, params: LatencyParams, run: LatencyRun | NotMeasured,
                 baseline: Baseline | None = None, load: MachineLoad | None = None
                 ) -> CheckResult:
    """Headline metrics, intervals, thresholds, baseline verdict, warnings (implausible or
    contaminated timings among them) and details."""
    from modeltests.support.environment import timing_fingerprint

    if isinstance(run, NotMeasured):
        return CheckResult(skip_reason=run.reason)
    head = run.head
    metrics, intervals = headline_metrics(head)
    metrics["cold_start_ms"] = float(run.cold_start.ms)
    scaling = _scaling(run.timings, head.config.batch_size, run.primary_mode)
    if scaling is not None:
        metrics["scaling_exponent"] = scaling["exponent"]
        metrics["scaling_ratio"] = scaling["ratio"]
    metrics.update(run.memory.metrics())
    batching = batch_speedup(run.timings, head)
    if batching is not None:
        metrics["batch_speedup"] = batching["speedup"]
    comparison = compare(run, context.seed)
    methods = _comparison_metrics(comparison, metrics, intervals)
    result = CheckResult(metrics=metrics, sample_size=head.n, intervals=intervals,
                         warnings=list(run.warnings),
                         interval_methods={**_methods(metrics), **methods},
                         torch_threads=run.threads)
    result.thresholds = context.evaluate(metrics, intervals, methods=result.interval_methods)
    _check_percentile_claims(context, result, head)
    current = {"config": head.label, "mode": head.mode, "p50_ms": head.ms("p50_ms"),
               "iqr_ms": head.ms("iqr_ms"),
               "fingerprint": timing_fingerprint(run.threads, run.device)}
    against_baseline = (compare_with_baseline(context, params, head, current, result,
                                              baseline) if baseline else None)
    result.warnings.extend(_loop_warnings(run, params))
    result.warnings.extend(attention_warnings(run))
    flagged, plausible = plausibility(run.timings, scaling, load)
    result.warnings.extend(flagged)
    result.details = {
        "model": params.model, "device": run.device, "threads": run.threads,
        "modes": list(run.modes),
        "headline": current, "cold_start": run.cold_start.to_json(), "scaling": scaling,
        "batch_speedup": batching,
        "memory": run.memory.to_json(), "baseline": against_baseline,
        "configs": [t.to_json() for t in run.timings],
        "distribution": {"config": head.label, "mode": head.mode,
                         **histogram(head.samples_ms)},
        "compare": None if comparison is None else comparison.details,
        "attention": attention_details(run),
        "plausibility": plausible,
    }
    result.headline = _headline_text(result, head, run, comparison)
    return result


def headline_metrics(head: TimedConfig) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """The summary figures of the headline timing, and the intervals of those that have one."""
    metrics = {k: v for k in SUMMARY_KEYS if (v := head.value(k)) is not None}
    intervals: dict[str, tuple[float, float]] = {}
    for key in PERCENTILE_KEYS:
        upper = head.upper_bound(key)
        if upper is not None:
            intervals[key] = (head.ms(key), upper)
    if head.throughput_interval is not None:
        intervals["throughput"] = head.throughput_interval
    return metrics, intervals


def histogram(samples_ms: list[float], bins: int = 24) -> dict[str, Any]:
    """``{"edges_ms": [...], "counts": [...]}``: the distribution of the timed calls, small
    enough for the report (the samples themselves can number thousands)."""
    if not samples_ms:
        return {"edges_ms": [], "counts": []}
    low, high = min(samples_ms), max(samples_ms)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for sample in samples_ms:
        counts[min(bins - 1, int((sample - low) / width))] += 1
    return {"edges_ms": [round(low + i * width, 4) for i in range(bins + 1)], "counts": counts}


def _scaling(timings: list[TimedConfig], batch: int, mode: TimedMode) -> dict[str, Any] | None:
    from modeltests.measure.timing import scaling

    pairs = [(t.config.sequence_length, t.ms("p50_ms")) for t in timings
             if t.config.batch_size == batch and t.mode == mode
             and t.config.sequence_length is not None]
    found = scaling([length for length, _ in pairs], [p50 for _, p50 in pairs])
    if found is not None:
        found.update(batch_size=batch, mode=mode)
    return found


def batch_speedup(timings: list[TimedConfig], head: TimedConfig) -> dict[str, Any] | None:
    """The per-example speed-up of the largest batch over the smallest, at the headline's
    length or image size and mode: ``(p50_small / small) / (p50_large / large)``; both
    measured in this run, so the ratio does not carry the machine's absolute speed. None with
    one batch size."""
    same = [t for t in timings if t.mode == head.mode
            and t.config.sequence_length == head.config.sequence_length
            and t.config.image_size == head.config.image_size]
    if len({t.config.batch_size for t in same}) < 2:
        return None
    small = min(same, key=lambda t: t.config.batch_size)
    large = max(same, key=lambda t: t.config.batch_size)
    per_small = small.ms("p50_ms") / small.config.batch_size
    per_large = large.ms("p50_ms") / large.config.batch_size
    return {"speedup": per_small / per_large if per_large > 0 else float("inf"),
            "smallest": small.label, "largest": large.label, "mode": head.mode,
            "per_example_p50_ms": {small.label: per_small, large.label: per_large}}


def _comparison_metrics(comparison: Comparison | None, metrics: dict[str, float],
                        intervals: dict[str, tuple[float, float]]) -> dict[str, str]:
    """Add ``ratio_at_longest`` (and ``crossover_length`` when there is one); their methods."""
    if comparison is None:
        return {}
    metrics["ratio_at_longest"] = comparison.ratio
    methods = {"ratio_at_longest": RATIO_METHOD}
    if comparison.interval is not None:
        intervals["ratio_at_longest"] = comparison.interval
    if comparison.crossover is not None:
        metrics["crossover_length"] = float(comparison.crossover["length"])
        methods["crossover_length"] = "single measurement"
    return methods


def _methods(metrics: dict[str, float]) -> dict[str, str]:
    """Percentiles have order-statistic bounds and throughput a t interval over the calls; the
    other figures are single measurements of this run."""
    methods = {metric: "single measurement" for metric in metrics}
    methods.update({key: "order-statistic" for key in PERCENTILE_KEYS})
    methods["throughput"] = "t-interval"
    return methods


def _check_percentile_claims(context: CheckContext, result: CheckResult, head: TimedConfig
                             ) -> None:
    """A gated percentile measured on fewer calls than MLPerf requires for its claim is
    undecided and never passes, whatever the gate; without a 95% bound, a 'bound' gate fails."""
    for t in result.thresholds:
        if t.metric not in PERCENTILE_KEYS:
            continue
        name = t.metric[:-3]
        if not head.claim_supported(name):
            t.passed, t.resolved = False, False
            t.note = (f"{head.n} timed calls; MLPerf requires {head.claim_min_samples(name)} "
                      f"for a {name} claim")
            result.warnings.append(
                f"{t.metric}: {head.n} timed calls are fewer than the "
                f"{head.claim_min_samples(name)} MLPerf requires for a {name} claim; "
                "allow more max_seconds or max_iterations (the check already aimed its call "
                "count at that minimum)")
        if context.gate == "bound" and t.interval is None:
            t.passed, t.resolved = False, False
            result.warnings.append(f"{t.metric}: {head.n} calls are too few for a 95% upper "
                                   "bound, so gate 'bound' cannot pass; increase min_iterations")


def _loop_warnings(run: LatencyRun, params: LatencyParams) -> list[str]:
    """One line per kind of trouble, listing the configurations it hit."""
    timings = run.timings
    unsettled = [f"{t.label} {t.mode} ({t.warmup_iterations} calls)"
                 for t in timings if not t.warmup_stable]
    short = [f"{t.label} {t.mode} ({t.n} calls, {t.stop_reason})"
             for t in timings if t.stop_reason in ("max_seconds", "max_iterations")]
    warnings = []
    if unsettled:
        warnings.append(f"warm-up did not settle (median still moving by more than 5%) in "
                        f"{len(unsettled)} of {len(timings)} runs: {', '.join(unsettled)}")
    if short:
        warnings.append(f"{len(short)} of {len(timings)} runs stopped before "
                        f"{params.describe_required_iterations()} and min_seconds "
                        f"{params.min_seconds:g}: "
                        f"{', '.join(short)}; increase max_seconds or shrink the sweep")
    if params.max_cold_start_ms is not None and not run.cold_start.first_use_of_model:
        warnings.append("cold_start_ms: the model had already answered other checks, so the "
                        "first call of this check is not the first call after load")
    return warnings


def _headline_text(result: CheckResult, head: TimedConfig, run: LatencyRun,
                   comparison: Comparison | None) -> str:
    from modeltests.support.text import format_number as fmt

    shown = result.failed_thresholds() or result.thresholds
    throughput = head.value("throughput")  # None: every call under the clock's resolution
    text = "; ".join(t.describe() for t in shown[:2]) if shown else (
        f"p50 {fmt(head.ms('p50_ms'))} ms, p95 {fmt(head.ms('p95_ms'))} ms, "
        f"{'no measurable' if throughput is None else fmt(throughput)} ex/s")
    if comparison is not None:
        if not any(t.metric == "ratio_at_longest" for t in shown[:2]):
            text += f"; {fmt(comparison.ratio)}x the p50 of {comparison.details['model']}"
        text += f"; crossover: {comparison.details['crossover_text']}"
    attention = attention_summary(run)
    if attention:
        text += f"; attention {attention}"
    return f"{text} [{head.label} {head.mode}, {run.device}, {run.threads} threads]"
