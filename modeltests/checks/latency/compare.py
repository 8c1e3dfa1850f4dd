"""``compare_to``: this model's timings against another model's on the same sweep.

Each configuration was timed on both models in interleaved rounds
(:func:`modeltests.measure.timing.time_interleaved`), so the ratio of their p50s compares like with
like. Per configuration: ``ratio`` = this model's p50 / the other's (above 1: this model is
slower) with a 95% percentile-bootstrap interval of the ratio of medians, the rounds resampled
in pairs (:func:`modeltests.stats.intervals.bootstrap_median_ratio`). Along the sequence lengths of
the largest batch size in the primary mode: both curves and the *crossover*, the first length
where the ratio is on the other side of 1 than at the shortest length (None: no crossover in
the range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeltests.checks.latency.record import LatencyRun, TimedConfig

RATIO_METHOD = "bootstrap-percentile"
RATIO_METHOD_TEXT = ("95% percentile bootstrap of the ratio of medians, the interleaved rounds "
                     "resampled in pairs (1,000 seeded resamples)")


@dataclass(frozen=True)
class Comparison:
    """What ``build_result`` needs: the headline ratio and the details."""

    ratio: float
    interval: tuple[float, float] | None
    crossover: dict[str, Any] | None
    details: dict[str, Any]


def compare(run: LatencyRun, seed: int) -> Comparison | None:
    """Ratios per configuration, the curves and the crossover; None without ``compare_to``."""
    if run.compared is None:
        return None
    pairs = [_pair(mine, theirs, seed) for mine, theirs in zip(run.timings, run.compared.timings)]
    head = run.head
    headline = next(p for p in pairs if p["config"] == head.label and p["mode"] == head.mode)
    curve = [p for p in pairs if p["batch_size"] == head.config.batch_size
             and p["mode"] == head.mode and p["sequence_length"] is not None]
    curve.sort(key=lambda p: p["sequence_length"])
    crossover = find_crossover([(p["sequence_length"], p["ratio"]) for p in curve])
    interval = headline["ratio_interval"]
    details = {
        "model": run.compared.name, "ratio": "this model's p50 / the compare_to model's p50",
        "interval_method": RATIO_METHOD_TEXT,
        "headline": {"config": head.label, "mode": head.mode, "ratio": headline["ratio"],
                     "ratio_interval": interval},
        "curve": {"batch_size": head.config.batch_size, "mode": head.mode, "points": curve},
        "crossover": crossover,
        "crossover_text": describe_crossover(crossover, bool(curve)),
        "pairs": pairs,
        "configs": [t.to_json() for t in run.compared.timings],
    }
    return Comparison(float(headline["ratio"]), None if interval is None else
                      (float(interval[0]), float(interval[1])), crossover, details)


def _pair(mine: TimedConfig, theirs: TimedConfig, seed: int) -> dict[str, Any]:
    import numpy as np

    from modeltests.stats.intervals import bootstrap_median_ratio

    theirs_p50 = theirs.ms("p50_ms")
    ratio = mine.ms("p50_ms") / theirs_p50 if theirs_p50 > 0 else float("inf")
    interval = bootstrap_median_ratio(np.asarray(mine.samples_ms), np.asarray(theirs.samples_ms),
                                      seed)
    return {"config": mine.label, "batch_size": mine.config.batch_size,
            "sequence_length": mine.config.sequence_length, "mode": mine.mode,
            "p50_ms": mine.ms("p50_ms"), "compare_p50_ms": theirs_p50, "ratio": ratio,
            "ratio_interval": None if interval is None else list(interval), "rounds": mine.n,
            "attention": (mine.attention or {}).get("attention"),
            "compare_attention": (theirs.attention or {}).get("attention")}


def find_crossover(points: list[tuple[int, float]]) -> dict[str, Any] | None:
    """The first length whose ratio lies on the other side of 1 than the shortest length's:
    ``{"length", "previous_length", "direction"}``, or None (no crossover in the range)."""
    if len(points) < 2:
        return None
    first_slower = points[0][1] > 1
    for (before, _), (length, ratio) in zip(points, points[1:]):
        if (ratio > 1) != first_slower:
            direction = "becomes faster" if first_slower else "becomes slower"
            return {"length": length, "previous_length": before, "direction": direction}
    return None


def describe_crossover(crossover: dict[str, Any] | None, has_lengths: bool) -> str:
    """One line for the terminal and the report."""
    if not has_lengths:
        return "no sequence lengths swept: no crossover length"
    if crossover is None:
        return "none in the range"
    return (f"this model {crossover['direction']} than the compare_to model between "
            f"{crossover['previous_length']} and {crossover['length']} tokens")
