"""``load`` with ``compare_to``: the served model against another model in the same window.

A machine's other work moves a served model's throughput and tail latency (a busy 2-core machine
gave the demo server 8.6 requests/s where a quiet one gave 91), so an absolute limit flips with
the neighbours. With ``compare_to`` (a model under ``models:``, typically the same weights loaded
in-process) every closed-loop step is cut into ``rounds`` slices, run in turn: the served model,
the compared model (its calls one at a time, as one in-process model object serves concurrent
callers), and the generator against a null endpoint (its own ceiling). Slices alternate, so load
from outside hits all three alike, and the ratios compare like with like:

* ``throughput_ratio``: served / compared throughput at the same number of clients (median of
  the per-round throughputs over median), the lowest over the steps;
* ``p99_ratio``: served / compared p99 (median of the per-round p99s over median), the highest
  over the steps.

Each comes with a 95% percentile-bootstrap interval that resamples the rounds in pairs
(:func:`modeltests.stats.intervals.bootstrap_median_ratio`), as ``latency``'s ``compare_to``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from modeltests.data.inputs import ModelInput
from modeltests.serving.loadgen import Call, Requests, StepResult, closed_loop

RATIO_METHOD = ("95% percentile bootstrap of the ratio of per-round medians, the alternating "
                "rounds resampled in pairs (1,000 seeded resamples)")


@dataclass
class Rounds:
    """One closed-loop step timed in alternating rounds: served, compared, null endpoint."""

    clients: int
    served: list[StepResult] = field(default_factory=list)
    compared: list[StepResult] = field(default_factory=list)
    ceiling: list[StepResult] = field(default_factory=list)

    def merged(self) -> StepResult:
        """The served rounds as one step (what the step table reports)."""
        step = StepResult("closed", self.clients)
        for part in self.served:
            step.elapsed_s += part.elapsed_s
            step.latencies_ms += part.latencies_ms
            step.errors += part.errors
            step.error_examples += part.error_examples[: 5 - len(step.error_examples)]
            step.scheduled += part.scheduled
        return step


def one_at_a_time(call: Call) -> Call:
    """``call`` behind a lock: concurrent callers queue, their wait counted in their latency."""
    lock = threading.Lock()

    def serialized(batch: list[ModelInput]) -> object:
        with lock:
            return call(batch)

    return serialized


def interleaved_step(served: Requests, compared: Requests, null: Requests,
                     texts: Sequence[ModelInput],
                     clients: int, duration_s: float, rounds: int, ceiling_s: float,
                     max_requests: int, batch_size: int) -> Rounds:
    """``rounds`` alternating slices of ``duration_s / rounds`` for the served and compared
    models and ``ceiling_s / rounds`` against the null endpoint, the order turned each round."""
    result = Rounds(clients)
    share = duration_s / rounds
    cap = max(1, max_requests // rounds)
    for number in range(rounds):
        order = [("served", served, share), ("compared", compared, share),
                 ("ceiling", null, ceiling_s / rounds)]
        if number % 2:
            order.reverse()
        for name, call, seconds in order:
            getattr(result, name).append(closed_loop(call, texts, clients, seconds, cap,
                                                     batch_size))
    return result


def _p99(step: StepResult) -> float:
    import numpy as np

    return float(np.percentile(step.latencies_ms, 99)) if step.latencies_ms else float("inf")


def ratios(steps: list[Rounds], seed: int) -> dict[str, Any]:
    """Per step: throughput and p99 of both sides, their ratios with intervals; the headline
    ``throughput_ratio`` (lowest) and ``p99_ratio`` (highest) and the ceiling (median)."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_median_ratio

    rows: list[dict[str, Any]] = []
    for step in steps:
        served_tp = np.array([s.throughput for s in step.served])
        compared_tp = np.array([s.throughput for s in step.compared])
        served_p99 = np.array([_p99(s) for s in step.served])
        compared_p99 = np.array([_p99(s) for s in step.compared])
        rows.append({
            "step": f"{step.clients} clients", "rounds": len(step.served),
            "throughput": float(np.median(served_tp)),
            "compare_throughput": float(np.median(compared_tp)),
            "throughput_ratio": _ratio(np.median(served_tp), np.median(compared_tp)),
            "throughput_ratio_interval": _listed(bootstrap_median_ratio(served_tp, compared_tp,
                                                                        seed)),
            "p99_ms": float(np.median(served_p99)),
            "compare_p99_ms": float(np.median(compared_p99)),
            "p99_ratio": _ratio(np.median(served_p99), np.median(compared_p99)),
            "p99_ratio_interval": _listed(bootstrap_median_ratio(served_p99, compared_p99, seed)),
            "ceiling_throughput": float(np.median([s.throughput for s in step.ceiling])),
        })
    return {"steps": rows,
            "throughput_ratio": min(rows, key=lambda r: r["throughput_ratio"]),
            "p99_ratio": max(rows, key=lambda r: r["p99_ratio"]),
            "ceiling": float(np.median([r["ceiling_throughput"] for r in rows]))}


def _ratio(top: float, bottom: float) -> float:
    return float(top / bottom) if bottom > 0 else float("inf")


def _listed(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [interval[0], interval[1]]
