"""Gates against the past: a check's ``history_gate:`` compares its metrics with an earlier run
of the same check recorded in the run history (``baseline: last-passing``, ``last``, a run id, a
git commit or branch).

Each metric named under ``max_drop`` (``max_rise``) becomes one threshold on its change since
the baseline run, ``<metric>_drop = baseline - now`` (``<metric>_rise = now - baseline``), gated
by the usual rules (:func:`modeltests.result.evaluate_thresholds`) on the change's 95% interval:

* **paired** (Newcombe's interval for paired proportions) when both runs kept the per-example
  outcomes behind the metric (accuracy: each row right or wrong) for the same dataset file
  (same sha256, same rows): the two runs saw the same examples, and the interval says so;
* **unpaired** (the square-and-add rule on the two runs' own intervals) otherwise;
* with no such baseline run yet, the threshold is *undecided* with the reason, never a pass.

The session knows nothing of the history file: the front end hands the runtime a
:data:`PastLookup` that finds the baseline's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from modeltests.result import (
    POINT_METHODS,
    CheckResult,
    GateMode,
    HistoryGate,
    ThresholdResult,
    evaluate_thresholds,
    is_dynamic,
)
from modeltests.support.text import format_number

PAIRED_METHOD = "newcombe-paired"
UNPAIRED_METHOD = "square-and-add (unpaired)"
HISTORY_GATE_PREFIX = "history_gate."


@dataclass(frozen=True)
class Baseline:
    """An earlier run's record of the same check: which run (``run 12 (2026-12-07T16:40:00+00:00,
    commit 1a2b3c4d5e6f)``) and the check's JSON entry there (metrics, intervals,
    interval_methods, outcomes)."""

    run: str
    entry: dict[str, Any]
    machine: str | None = None
    """The run's machine kind (:func:`~modeltests.support.environment.machine_digest`)."""


PastLookup = Callable[[str, str, str], "Baseline | str"]
"""``(suite as shown, check name kind[label], baseline reference)`` -> the baseline run's record
of that check, or why there is none (a sentence)."""


def gate_against_past(gate: HistoryGate, result: CheckResult, baseline: Baseline | str,
                      mode: GateMode, kind: str, machine: str | None) -> list[ThresholdResult]:
    """One threshold per metric ``gate`` names, on its change since ``baseline`` (or undecided
    with the reason ``baseline`` gives when it is a sentence). A dynamic metric (latency,
    throughput) compares only with a baseline run on this ``machine`` kind."""
    found = []
    for metric, way, limit in gate.limits():
        key = f"{HISTORY_GATE_PREFIX}max_{way}.{metric}"
        name = f"{metric}_{way}"
        if isinstance(baseline, str):
            found.append(ThresholdResult(name, "<=", limit, None, False, resolved=False,
                                         note=f"no baseline: {baseline}", gate=mode, name=key))
            continue
        if is_dynamic(kind, metric) and (machine is None or baseline.machine != machine):
            found.append(ThresholdResult(
                name, "<=", limit, None, False, resolved=False, gate=mode, name=key,
                note=f"no baseline: {baseline.run} ran on another machine kind "
                f"({baseline.machine or 'unrecorded'}, this one {machine or 'unknown'}); "
                f"{metric} compares only on the same one"))
            continue
        threshold = _against(metric, way, name, limit, result, baseline, mode)
        threshold.name = key
        found.append(threshold)
    return found


def _against(metric: str, way: str, name: str, limit: float, result: CheckResult,
             baseline: Baseline, mode: GateMode) -> ThresholdResult:
    now = result.metrics.get(metric)
    past = _number((baseline.entry.get("metrics") or {}).get(metric))
    if now is None:
        return ThresholdResult(name, "<=", limit, None, False, gate=mode,
                               note=f"not measured: the check returned no '{metric}' metric")
    if past is None:
        return ThresholdResult(name, "<=", limit, None, False, resolved=False, gate=mode,
                               note=f"no baseline: {baseline.run} has no value of {metric}")
    change = past - now if way == "drop" else now - past
    interval, method, how = _change_interval(metric, way, result, baseline.entry)
    shown = f"against {baseline.run}: {metric} {format_number(past)} -> {format_number(now)}"
    if method is not None and interval is None and method not in POINT_METHODS:
        return ThresholdResult(name, "<=", limit, change, False, resolved=False, gate=mode,
                               note=f"{shown}; undecided: {how}")
    [threshold] = evaluate_thresholds(
        HistoryGate(), {name: change}, {name: interval} if interval else {}, mode,
        limits=[(name, "<=", limit)], methods={name: method} if method else {})
    threshold.note = f"{shown}; {how}"
    return threshold


def _change_interval(metric: str, way: str, result: CheckResult, past: dict[str, Any]
                     ) -> tuple[tuple[float, float] | None, str | None, str]:
    """The change's 95% interval, how it was computed, and why so (for the report)."""
    from modeltests.stats.paired import paired_difference_interval, unpaired_difference_interval

    sign = -1.0 if way == "drop" else 1.0  # drop = past - now; rise = now - past
    now_bits = result.outcomes.get(metric)
    past_record = past.get("outcomes") or {}
    past_bits = (past_record.get("per_example") or {}).get(metric)
    if now_bits is not None and isinstance(past_bits, str):
        if past_record.get("dataset_sha256") == result.outcomes_digest \
                and len(past_bits) == len(now_bits):
            low, high = paired_difference_interval([b == "1" for b in past_bits], now_bits)
            first, second = sorted((sign * low, sign * high))
            return ((first, second), PAIRED_METHOD,
                    f"paired on the same {len(now_bits):,} examples (dataset unchanged)")
        why = "unpaired: the dataset changed since"
    elif now_bits is not None:
        why = "unpaired: the baseline run kept no per-example outcomes"
    else:
        why = "unpaired: this check keeps no per-example outcomes"
    now_interval = result.intervals.get(metric)
    past_interval = _interval((past.get("intervals") or {}).get(metric))
    now_value = result.metrics[metric]
    past_value = float((past.get("metrics") or {})[metric])
    if now_interval is not None and past_interval is not None:
        if way == "drop":
            ends = unpaired_difference_interval(past_value, past_interval, now_value, now_interval)
        else:
            ends = unpaired_difference_interval(now_value, now_interval, past_value, past_interval)
        return ends, UNPAIRED_METHOD, why
    methods = [result.interval_methods.get(metric),
               (past.get("interval_methods") or {}).get(metric)]
    if all(m is None for m in methods):
        return None, None, "neither run has an interval for it: the estimates decide"
    if all(m in POINT_METHODS for m in methods):
        return None, "exact", "exact on both runs"
    which = "this run" if now_interval is None else "the baseline run"
    return None, UNPAIRED_METHOD, f"{which} has no 95% interval for {metric}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 \
            and all(_number(v) is not None for v in value):
        return float(value[0]), float(value[1])
    return None


def counts_as_baseline(entry: dict[str, Any]) -> bool:
    """Whether a recorded check may serve as ``last-passing``: it ran, and every threshold held
    but a history gate that had no baseline yet (else no first baseline could ever exist)."""
    if entry.get("outcome") not in ("passed", "failed"):
        return False
    return all(t.get("held") or (str(t.get("key", "")).startswith(HISTORY_GATE_PREFIX)
                                 and t.get("value") is None)
               for t in entry.get("thresholds") or [])
