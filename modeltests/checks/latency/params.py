"""The ``latency`` check's parameters: what to time, how long, and the thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from modeltests.checks._image_sizes import valid_sides
from modeltests.result import CheckParams, threshold
from modeltests.suite.loader import MODEL_REFERENCE_MARK
from modeltests.measure.timing import TimingPlan

Mode = Literal["model", "end_to_end", "both"]
MAX_BATCH = 4096


class LatencyParams(CheckParams):
    """Latency, throughput and memory of the suite's model."""

    kind: str = "latency"
    model: str | None = Field(
        default=None, description="A model under 'models:' to time instead of the suite's model "
        "(e.g. the same model with a longer max_length).",
        json_schema_extra={MODEL_REFERENCE_MARK: "any"})
    device: Literal["cpu", "cuda", "auto"] = Field(
        default="cpu", description="Where to time the model; 'cuda' skips without a GPU.")
    batch_sizes: list[int] = Field(default_factory=lambda: [1], min_length=1,
                                   description=f"Batch sizes to time, each in [1, {MAX_BATCH}].")
    sequence_lengths: list[int] | None = Field(
        default=None, min_length=1,
        description="Exact token lengths of synthetic inputs (special tokens included).")
    image_sizes: list[int] | None = Field(
        default=None, min_length=1,
        description="Image classifiers: square sides in pixels the dataset's images are "
        "resized to; every batch size is timed at every size (the largest is the headline). A "
        "size the model cannot take is an error.")
    pairs: bool = Field(
        default=False, description="Synthetic inputs are text pairs (for a pair classifier): "
        "each sequence length counts the whole encoded pair, special tokens included, and its "
        "words are split between the two sides (the first side gets the odd one).")
    dataset: str | None = Field(default=None, description="Time real texts from this dataset.")
    samples: int = Field(default=64, ge=1, le=100_000, description="Texts taken from 'dataset'.")
    threads: int | None = Field(default=None, ge=1, le=1024,
                                description="torch.set_num_threads for the check (restored).")
    warmup: int | str = Field(default="auto",
                              description="'auto' (until stable) or a fixed number of calls.")
    min_iterations: int = Field(default=64, ge=1, le=1_000_000, description="Timed calls per "
                                "configuration at least (with compare_to: rounds, one call of "
                                "each model per round); a percentile threshold raises it to "
                                "MLPerf's minimum.")
    min_seconds: float = Field(default=1.0, ge=0, le=3600, description="Seconds of timed "
                               "calls per configuration at least (per model with compare_to).")
    max_iterations: int = Field(default=10_000, ge=1, le=10_000_000, description="Timed calls "
                                "per configuration at most.")
    max_seconds: float = Field(default=30.0, gt=0, le=3600, description="Seconds of timed "
                               "calls per configuration at most (per model with compare_to): "
                               "timing stops there even short of min_iterations.")
    mode: Mode = Field(default="both", description="model, end_to_end or both.")
    baseline: str | None = Field(default=None,
                                 description="An earlier reports/modeltests.json to compare with.")
    compare_to: str | None = Field(
        default=None,
        description="A model under 'models:' timed on the same sweep, in interleaved rounds: "
                    "both scaling curves, the p50 ratio (this model / that one) per "
                    "configuration and the crossover length.")
    max_slowdown: float = Field(default=0.10, ge=0, le=100,
                                description="Relative p50 slowdown tolerated against baseline.")
    max_p50_ms: float | None = threshold("Highest median latency (ms).", ge=0)
    max_p90_ms: float | None = threshold("Highest p90 latency (ms).", ge=0)
    max_p95_ms: float | None = threshold("Highest p95 latency (ms).", ge=0)
    max_p99_ms: float | None = threshold("Highest p99 latency (ms).", ge=0)
    max_mean_ms: float | None = threshold("Highest mean latency (ms).", ge=0)
    min_throughput: float | None = threshold("Lowest throughput (examples/s).", ge=0)
    max_cold_start_ms: float | None = threshold("Highest first-call latency (ms).", ge=0)
    max_peak_rss_mb: float | None = threshold("Highest peak resident memory (MiB).", ge=0)
    max_peak_cuda_mb: float | None = threshold("Highest peak CUDA memory allocated (MiB).", ge=0)
    max_scaling_exponent: float | None = threshold("Highest log-log slope of p50 on length.")
    max_scaling_ratio: float | None = threshold("Highest p50 ratio longest/shortest length.")
    min_batch_speedup: float | None = threshold(
        "Lowest per-example speed-up of the largest batch size over the smallest (per-example "
        "p50 at the smallest batch / at the largest), at the headline length or image size; "
        "both timed in this check, so the gate holds on any machine.", ge=0)
    max_ratio_at_longest: float | None = threshold(
        "Highest p50 ratio of this model to the compare_to model at the headline configuration "
        "(largest batch, longest length); 1 is as fast.", gt=0)
    min_ratio_at_longest: float | None = threshold(
        "Lowest p50 ratio of this model to the compare_to model at the headline "
        "configuration.", ge=0)

    prompt_lengths: list[int] | None = Field(
        default=None, min_length=1,
        description="Text generators: exact prompt lengths in tokens (default [16]); each is "
                    "timed with every entry of output_lengths.")
    output_lengths: list[int] | None = Field(
        default=None, min_length=1,
        description="Text generators: max_new_tokens of each timed call (default [16]); greedy, "
                    "and the tokens actually generated are counted (a model may stop early).")
    max_ttft_p50_ms: float | None = threshold(
        "Text generators: highest median time to first token (prefill), ms.", ge=0)
    max_ttft_p90_ms: float | None = threshold(
        "Text generators: highest p90 time to first token, ms.", ge=0)
    max_ttft_p99_ms: float | None = threshold(
        "Text generators: highest p99 time to first token, ms.", ge=0)
    max_tpot_p50_ms: float | None = threshold(
        "Text generators: highest median time per output token after the first (decode), ms.",
        ge=0)
    max_tpot_p90_ms: float | None = threshold(
        "Text generators: highest p90 time per output token, ms.", ge=0)
    max_tpot_p99_ms: float | None = threshold(
        "Text generators: highest p99 time per output token, ms.", ge=0)
    min_tokens_per_second: float | None = threshold(
        "Text generators: lowest generated tokens per second of a whole call (first token "
        "included), at the headline configuration.", ge=0)
    max_ttft_ratio: float | None = threshold(
        "Text generators: highest median time-to-first-token ratio of this model to the "
        "compare_to model at the headline configuration (interleaved rounds).", gt=0)
    max_tpot_ratio: float | None = threshold(
        "Text generators: highest median time-per-output-token ratio of this model to the "
        "compare_to model at the headline configuration (interleaved rounds).", gt=0)

    @field_validator("prompt_lengths", "output_lengths")
    @classmethod
    def _token_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(n < 1 or n > 65_536 for n in value):
            raise ValueError("each length must be an integer in [1, 65536]")
        return value

    @field_validator("batch_sizes")
    @classmethod
    def _batch_range(cls, value: list[int]) -> list[int]:
        if any(b < 1 or b > MAX_BATCH for b in value):
            raise ValueError(f"each batch size must be an integer in [1, {MAX_BATCH}]")
        return value

    @field_validator("image_sizes")
    @classmethod
    def _sides(cls, value: list[int] | None) -> list[int] | None:
        return valid_sides(value)

    @field_validator("sequence_lengths")
    @classmethod
    def _length_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(n < 1 or n > 65_536 for n in value):
            raise ValueError("each sequence length must be an integer in [1, 65536]")
        return value

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup_value(cls, value: object) -> int | str:
        if value == "auto":
            return "auto"
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000:
            return value
        raise ValueError("must be 'auto' or a number of calls in [0, 10000]")

    @model_validator(mode="after")
    def _consistent(self) -> LatencyParams:
        if self.pairs and self.dataset is not None:
            raise ValueError("'pairs' shapes synthetic inputs; a dataset's rows are timed as "
                             "they are (pairs when it has two text columns): remove 'pairs'")
        if self.sequence_lengths is not None and self.dataset is not None:
            raise ValueError("give either 'sequence_lengths' (synthetic inputs) or 'dataset', "
                             "not both")
        if self.image_sizes is not None and self.dataset is None:
            raise ValueError("'image_sizes' resizes the images of a dataset: set 'dataset' to a "
                             "dataset of images")
        if self.min_iterations > self.max_iterations:
            raise ValueError(f"'min_iterations' ({self.min_iterations}) is above "
                             f"'max_iterations' ({self.max_iterations})")
        if self.min_seconds > self.max_seconds:
            raise ValueError(f"'min_seconds' ({self.min_seconds:g}) is above 'max_seconds' "
                             f"({self.max_seconds:g})")
        self._thresholds_measurable()
        return self

    def _thresholds_measurable(self) -> None:
        scaling = self.max_scaling_exponent is not None or self.max_scaling_ratio is not None
        if scaling and len(set(self.sequence_lengths or [])) < 2:
            raise ValueError("'max_scaling_exponent' and 'max_scaling_ratio' need at least two "
                             "different 'sequence_lengths'")
        if self.min_batch_speedup is not None and len(set(self.batch_sizes)) < 2:
            raise ValueError("'min_batch_speedup' needs at least two different 'batch_sizes' "
                             "(it compares the largest with the smallest)")
        ratio = self.max_ratio_at_longest is not None or self.min_ratio_at_longest is not None
        if ratio and self.compare_to is None:
            raise ValueError("'max_ratio_at_longest' and 'min_ratio_at_longest' need "
                             "'compare_to' (a model under 'models:')")
        if (self.max_ttft_ratio is not None or self.max_tpot_ratio is not None) and \
                self.compare_to is None:
            raise ValueError("'max_ttft_ratio' and 'max_tpot_ratio' need 'compare_to' (a model "
                             "under 'models:')")
        if self.device == "cpu" and self.max_peak_cuda_mb is not None:
            raise ValueError("'max_peak_cuda_mb' needs device 'cuda' or 'auto' (got 'cpu')")
        if self.device == "cuda" and self.max_peak_rss_mb is not None:
            raise ValueError("'max_peak_rss_mb' is measured on device 'cpu' only (got 'cuda')")

    def required_iterations(self) -> int:
        """``min_iterations``, raised to MLPerf's minimum sample for each gated percentile
        (p90: 64, p95: 130, p99: 662 calls) and capped by ``max_iterations``; ``max_seconds``
        still bounds the loop, and a percentile whose count it cannot reach stays undecided."""
        return min(self.max_iterations, max([self.min_iterations,
                                             *self._percentile_minimums().values()]))

    def _percentile_minimums(self) -> dict[str, int]:
        """MLPerf's minimum call count for each gated percentile, by name (``p99``: 662)."""
        from modeltests.stats.percentiles import min_samples_for_percentile

        return {name: min_samples_for_percentile(q) for name, q, limit in
                (("p90", 0.90, self.max_p90_ms), ("p95", 0.95, self.max_p95_ms),
                 ("p99", 0.99, self.max_p99_ms), ("TTFT p90", 0.90, self.max_ttft_p90_ms),
                 ("TTFT p99", 0.99, self.max_ttft_p99_ms), ("TPOT p90", 0.90, self.max_tpot_p90_ms),
                 ("TPOT p99", 0.99, self.max_tpot_p99_ms)) if limit is not None}

    def describe_required_iterations(self) -> str:
        """The call count each timing aims at, and why: ``min_iterations 64``, or ``662 calls
        (MLPerf's minimum for the gated p99; min_iterations 64)``."""
        required = self.required_iterations()
        if required == self.min_iterations:
            return f"min_iterations {required}"
        minimums = self._percentile_minimums()
        if required == self.max_iterations and required < max(minimums.values()):
            return (f"max_iterations {required} (below MLPerf's {max(minimums.values())} for "
                    f"the gated {max(minimums, key=minimums.__getitem__)})")
        named = [name for name, count in minimums.items() if count == required]
        return (f"{required} calls (MLPerf's minimum for the gated {', '.join(named)}; "
                f"min_iterations {self.min_iterations})")

    def plan(self) -> TimingPlan:
        """The :class:`modeltests.measure.timing.TimingPlan` these parameters describe."""
        warmup: int | Literal["auto"] = "auto" if self.warmup == "auto" else int(self.warmup)
        return TimingPlan(warmup=warmup,
                          min_iterations=self.required_iterations(), min_seconds=self.min_seconds,
                          max_iterations=self.max_iterations, max_seconds=self.max_seconds,
                          warmup_seconds=max(2.0, self.max_seconds / 2))
