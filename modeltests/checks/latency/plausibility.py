"""Timings that cannot be right, and timings taken on a busy machine: flagged, never silent.

Two signs that a sweep's figures are not the model's:

* **implausible**: a shorter input slower than a longer one beyond noise (its p50 above the
  longer input's 95% upper bound, same batch size and mode), or a negative scaling exponent
  whose ends differ beyond noise. A transformer does no less work on more tokens; such
  figures come from other load, CPU frequency changes or inputs that are not the lengths stated.
* **contaminated**: the machine's load average (``os.getloadavg``, read before and after the
  timing) says other work wanted the CPUs this check's threads needed: the load from other
  processes, ``max(before, after - threads)``, exceeds the CPUs left to others,
  ``cpus - threads``.

Both go into the result's warnings (terminal, JSON, HTML) and ``details["plausibility"]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

from modeltests.checks.latency.record import TimedConfig
from modeltests.support.text import format_number

LoadAverage = tuple[float, float, float]


def load_average() -> LoadAverage | None:
    """The 1, 5 and 15-minute load averages (None where the platform has none)."""
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class MachineLoad:
    """The load average around the timing, the CPUs and the threads the check used."""

    before: LoadAverage | None
    after: LoadAverage | None
    cpus: int
    threads: int

    @property
    def others(self) -> float | None:
        """About how many CPUs other processes wanted: the 1-minute load before the timing,
        or after it less this check's own threads, whichever is larger."""
        if self.before is None or self.after is None:
            return None
        return max(self.before[0], self.after[0] - self.threads)

    @property
    def contaminated(self) -> bool:
        others = self.others
        return others is not None and others > max(self.cpus - self.threads, 0) + 0.5

    def to_json(self) -> dict[str, Any]:
        return {"load_before": None if self.before is None else list(self.before),
                "load_after": None if self.after is None else list(self.after),
                "cpus": self.cpus, "threads": self.threads,
                "other_load": None if self.others is None else round(self.others, 2),
                "contaminated": self.contaminated}

    def warning(self) -> str | None:
        if not self.contaminated or self.before is None or self.after is None:
            return None
        return (f"timings contaminated by other load: the 1-minute load average was "
                f"{self.before[0]:.1f} before and {self.after[0]:.1f} after timing on "
                f"{self.cpus} CPUs, with this check using {self.threads} thread(s): other work "
                f"wanted about {self.others:.1f} CPUs where {max(self.cpus - self.threads, 0)} "
                "were free; time on a quiet machine before trusting or gating on these figures")


def inversions(timings: Sequence[TimedConfig]) -> list[str]:
    """Each shorter input slower than the next longer one of its batch size and mode, beyond
    the longer one's 95% upper bound of p50."""
    found = []
    groups: dict[tuple[int, str], list[TimedConfig]] = {}
    for t in timings:
        if t.config.sequence_length is not None:
            groups.setdefault((t.config.batch_size, t.mode), []).append(t)
    for (batch, mode), group in groups.items():
        group.sort(key=lambda t: int(t.config.sequence_length or 0))
        for short, long in zip(group, group[1:]):
            bound = long.upper_bound("p50_ms")
            if bound is not None and short.ms("p50_ms") > bound:
                found.append(
                    f"implausible timing: {short.config.sequence_length} tokens (p50 "
                    f"{format_number(short.ms('p50_ms'))} ms) slower than "
                    f"{long.config.sequence_length} tokens (p50 "
                    f"{format_number(long.ms('p50_ms'))} ms, 95% upper bound "
                    f"{format_number(bound)} ms) at batch {batch}, {mode} mode: a shorter "
                    "input cannot take longer; other load, CPU frequency changes or inputs "
                    "that are not the lengths stated")
    return found


def negative_exponent(scaling: dict[str, Any] | None, timings: Sequence[TimedConfig]
                      ) -> str | None:
    """A negative scaling exponent whose shortest input is slower than the longest beyond the
    longest's 95% upper bound of p50."""
    if scaling is None or float(scaling["exponent"]) >= 0:
        return None
    ends = sorted((t for t in timings if t.config.batch_size == scaling["batch_size"]
                   and t.mode == scaling["mode"] and t.config.sequence_length is not None),
                  key=lambda t: int(t.config.sequence_length or 0))
    shortest, longest = ends[0], ends[-1]
    bound = longest.upper_bound("p50_ms")
    if bound is None or shortest.ms("p50_ms") <= bound:
        return None
    return (f"implausible scaling exponent {float(scaling['exponent']):.2f}: latency fell as "
            f"inputs grew ({shortest.config.sequence_length} tokens p50 "
            f"{format_number(shortest.ms('p50_ms'))} ms, {longest.config.sequence_length} "
            f"tokens p50 {format_number(longest.ms('p50_ms'))} ms); do not read it as the "
            "model's scaling")


def plausibility(timings: Sequence[TimedConfig], scaling: dict[str, Any] | None,
                 load: MachineLoad | None) -> tuple[list[str], dict[str, Any]]:
    """The warnings, and ``details["plausibility"]``: ``implausible`` (the messages),
    ``contaminated`` and the machine load."""
    implausible = inversions(timings)
    exponent = negative_exponent(scaling, timings)
    if exponent is not None:
        implausible.append(exponent)
    warnings = list(implausible)
    load_warning = load.warning() if load is not None else None
    if load_warning is not None:
        warnings.append(load_warning)
    details = {"implausible": implausible,
               "contaminated": bool(load is not None and load.contaminated),
               "load": None if load is None else load.to_json()}
    return warnings, details
