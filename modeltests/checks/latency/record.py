"""What the ``latency`` check measured, as typed records: the hand-off from measurement
(:mod:`.measure`) to the verdict (:mod:`.assemble`).

Each record's ``to_json`` gives the dict that goes into the result's ``details``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from modeltests.checks.latency.inputs import Config

TimedMode = Literal["end_to_end", "model"]


@dataclass(frozen=True)
class TimedConfig:
    """One configuration timed in one mode: the summary of its calls and how the loop went.

    ``summary`` is :func:`modeltests.measure.timing.summarize`'s JSON (``n``, ``p50_ms`` ... and per
    percentile its upper bound and MLPerf flags); the accessors read it typed.
    """

    config: Config
    mode: TimedMode
    threads: int
    device: str
    summary: dict[str, Any]
    warmup_iterations: int
    warmup_stable: bool
    seconds: float
    stop_reason: str
    samples_ms: list[float]
    attention: dict[str, Any] | None = None
    """For a block-sparse model: the attention type expected and observed (:mod:`.attention`)."""

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def n(self) -> int:
        """Timed calls."""
        return int(self.summary["n"])

    def value(self, key: str) -> float | None:
        """A figure of the summary (``p50_ms``, ``std_ms``, ``throughput``...); None if unknown."""
        found = self.summary.get(key)
        return None if found is None else float(found)

    def ms(self, key: str) -> float:
        """A figure the summary always has (``p50_ms``, ``iqr_ms``, ``throughput``...)."""
        return float(self.summary[key])

    def upper_bound(self, percentile_key: str) -> float | None:
        """The order-statistic 95% upper bound of ``p50_ms`` ... ``p99_ms`` (None: too few)."""
        return self.value(percentile_key.replace("_ms", "_upper_ms"))

    def claim_supported(self, name: str) -> bool:
        """Whether the calls meet MLPerf's minimum count for a claim on ``name`` (``p90``)."""
        return bool(self.summary[f"{name}_supported"])

    def claim_min_samples(self, name: str) -> int:
        return int(self.summary[f"{name}_min_samples"])

    @property
    def throughput_interval(self) -> tuple[float, float] | None:
        found = self.summary.get("throughput_interval")
        return None if found is None else (float(found[0]), float(found[1]))

    def to_json(self) -> dict[str, Any]:
        return {"config": self.label, "batch_size": self.config.batch_size,
                "sequence_length": self.config.sequence_length,
                "image_size": self.config.image_size, "mode": self.mode,
                "threads": self.threads, "device": self.device, **self.summary,
                "warmup_iterations": self.warmup_iterations, "warmup_stable": self.warmup_stable,
                "seconds": self.seconds, "stop_reason": self.stop_reason,
                **(self.attention or {})}


@dataclass(frozen=True)
class ColdStart:
    """The first call of this check, on the first configuration."""

    ms: float
    config: str
    first_use_of_model: bool

    def to_json(self) -> dict[str, Any]:
        return {"ms": self.ms, "config": self.config,
                "first_use_of_model": self.first_use_of_model}


@dataclass(frozen=True)
class MemoryFacts:
    """Parameter bytes, and peak memory: process RSS on a CPU, CUDA allocator peaks on a GPU."""

    parameter_bytes: int | None
    method: str
    peak_rss_bytes: int | None = None
    rss_before_bytes: int | None = None
    peak_cuda_bytes: int | None = None
    peak_cuda_reserved_bytes: int | None = None

    def metrics(self) -> dict[str, float]:
        """The measured sizes in MiB, by metric name."""
        sizes = (("peak_rss_mb", self.peak_rss_bytes), ("peak_cuda_mb", self.peak_cuda_bytes),
                 ("peak_cuda_reserved_mb", self.peak_cuda_reserved_bytes),
                 ("parameter_mb", self.parameter_bytes))
        return {metric: value / 2**20 for metric, value in sizes if value is not None}

    def to_json(self) -> dict[str, Any]:
        measured = (("peak_cuda_bytes", self.peak_cuda_bytes),
                    ("peak_cuda_reserved_bytes", self.peak_cuda_reserved_bytes),
                    ("peak_rss_bytes", self.peak_rss_bytes),
                    ("rss_before_bytes", self.rss_before_bytes))
        return {"parameter_bytes": self.parameter_bytes,
                **{key: value for key, value in measured if value is not None},
                "method": self.method}


@dataclass(frozen=True)
class LatencyRun:
    """Every configuration timed in every mode, with cold start, memory and warnings.

    ``configs`` are sorted by (batch size, length) and ``modes`` put the primary mode first, so
    the headline is the last configuration in the first mode.
    """

    device: str
    threads: int
    modes: list[TimedMode]
    configs: list[Config]
    timings: list[TimedConfig]
    memory: MemoryFacts
    cold_start: ColdStart
    warnings: list[str]
    compared: Compared | None = None
    attention_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per model (``model``, the ``compare_to`` name) with block-sparse attention: its rule."""
    held_back: list[str] = field(default_factory=list)
    """Messages of BigBird's logger captured while timing (the fall-back warning)."""

    @property
    def primary_mode(self) -> TimedMode:
        return self.modes[0]

    @property
    def head(self) -> TimedConfig:
        """The headline timing: largest configuration, primary mode."""
        label = self.configs[-1].label
        return next(t for t in self.timings if t.label == label and t.mode == self.primary_mode)


@dataclass(frozen=True)
class Compared:
    """The ``compare_to`` model's timings, in the order of :attr:`LatencyRun.timings` (each
    pair timed in interleaved rounds: round ``i`` of both is comparable)."""

    name: str
    timings: list[TimedConfig]


@dataclass(frozen=True)
class NotMeasured:
    """Nothing was timed (the adapter offers none of the requested modes), and why."""

    reason: str
