"""``latency``: per-call latency percentiles, throughput, cold start, scaling and memory.

Every (batch size, sequence length) configuration is timed in each requested mode:

* ``model``: ``adapter.forward(batch)`` on a batch encoded beforehand (no tokenization);
* ``end_to_end``: ``adapter.predict(texts)``, tokenization and post-processing included.

Inputs are synthetic texts that encode to exactly ``sequence_lengths`` tokens (special tokens
included), or texts from ``dataset``. Timing follows :mod:`modeltests.timing` (warm-up until
stable, then until ``min_iterations`` and ``min_seconds``; CUDA events on a GPU).

Headline metrics, the ones ``min_*`` / ``max_*`` thresholds gate on, come from the *largest*
configuration (largest batch size, longest sequence length) in the primary mode (end-to-end
when measured, else model-only): ``p50_ms``, ``p90_ms``, ``p95_ms``, ``p99_ms``, ``mean_ms``,
``std_ms``, ``iqr_ms``, ``throughput`` (examples/s), ``cold_start_ms`` (the first call of this
check on the first configuration), ``scaling_exponent`` / ``scaling_ratio`` (p50 against length
at the largest batch size), ``peak_rss_mb`` (CPU: process RSS sampled every 2 ms over a few
extra headline calls) or ``peak_cuda_mb`` / ``peak_cuda_reserved_mb`` (GPU:
``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` over the whole check), and
``parameter_mb``. Every configuration's figures, with the thread count, are in ``details``.
For per-size limits, write one check per batch size.

Each percentile's interval is (estimate, order-statistic 95% upper bound), so ``gate: bound``
gates on the upper bound; without enough calls for a bound, a ``bound`` gate fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modeltests.registry import CheckKind
from modeltests.result import CheckParams, CheckResult, threshold
from modeltests.checks.latency_inputs import Config, build_configs
from modeltests.context import CheckContext
from modeltests.errors import UnsupportedCapabilityError

Mode = Literal["model", "end_to_end", "both"]
MAX_BATCH = 4096
MEMORY_CALLS = 3
_PERCENTILE_KEYS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms")
_SUMMARY_KEYS = _PERCENTILE_KEYS + ("mean_ms", "std_ms", "iqr_ms", "throughput")


class LatencyParams(CheckParams):
    """Latency, throughput and memory of the suite's model."""

    kind: str = "latency"
    device: Literal["cpu", "cuda", "auto"] = Field(
        default="cpu", description="Where to time the model; 'cuda' skips without a GPU.")
    batch_sizes: list[int] = Field(default_factory=lambda: [1], min_length=1,
                                   description=f"Batch sizes to time, each in [1, {MAX_BATCH}].")
    sequence_lengths: list[int] | None = Field(
        default=None, min_length=1,
        description="Exact token lengths of synthetic inputs (special tokens included).")
    dataset: str | None = Field(default=None, description="Time real texts from this dataset.")
    samples: int = Field(default=64, ge=1, le=100_000, description="Texts taken from 'dataset'.")
    threads: int | None = Field(default=None, ge=1, le=1024,
                                description="torch.set_num_threads for the check (restored).")
    warmup: int | str = Field(default="auto",
                              description="'auto' (until stable) or a fixed number of calls.")
    min_iterations: int = Field(default=64, ge=1, le=1_000_000)
    min_seconds: float = Field(default=1.0, ge=0, le=3600)
    max_iterations: int = Field(default=10_000, ge=1, le=10_000_000)
    max_seconds: float = Field(default=30.0, gt=0, le=3600)
    mode: Mode = Field(default="both", description="model, end_to_end or both.")
    baseline: str | None = Field(default=None,
                                 description="An earlier reports/modeltests.json to compare with.")
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

    @field_validator("batch_sizes")
    @classmethod
    def _batch_range(cls, value: list[int]) -> list[int]:
        if any(b < 1 or b > MAX_BATCH for b in value):
            raise ValueError(f"each batch size must be an integer in [1, {MAX_BATCH}]")
        return value

    @field_validator("sequence_lengths")
    @classmethod
    def _length_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(n < 1 or n > 65_536 for n in value):
            raise ValueError("each sequence length must be an integer in [1, 65536]")
        return value

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup_value(cls, value: Any) -> int | str:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                               and 0 <= value <= 10_000):
            return value
        raise ValueError("must be 'auto' or a number of calls in [0, 10000]")

    @model_validator(mode="after")
    def _consistent(self) -> LatencyParams:
        if self.sequence_lengths is not None and self.dataset is not None:
            raise ValueError("give either 'sequence_lengths' (synthetic inputs) or 'dataset', "
                             "not both")
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
        if self.device == "cpu" and self.max_peak_cuda_mb is not None:
            raise ValueError("'max_peak_cuda_mb' needs device 'cuda' or 'auto' (got 'cpu')")
        if self.device == "cuda" and self.max_peak_rss_mb is not None:
            raise ValueError("'max_peak_rss_mb' is measured on device 'cpu' only (got 'cuda')")

    def plan(self) -> Any:
        """The :class:`modeltests.timing.TimingPlan` these parameters describe."""
        from modeltests.timing import TimingPlan

        return TimingPlan(warmup=self.warmup if self.warmup == "auto" else int(self.warmup),
                          min_iterations=self.min_iterations, min_seconds=self.min_seconds,
                          max_iterations=self.max_iterations, max_seconds=self.max_seconds,
                          warmup_seconds=max(2.0, self.max_seconds / 2))


def run_latency(context: CheckContext, params: LatencyParams) -> CheckResult:
    """Time every configuration and mode, then gate on the headline configuration."""
    from modeltests.timing import torch_threads

    device, reason = resolve_device(params.device)
    if reason:
        return CheckResult(skip_reason=reason)
    baseline = _baseline_entry(context, params) if params.baseline else None
    adapter = _on_device(context, context.model(), device)
    try:
        with torch_threads(params.threads) as threads:
            run = _measure_all(context, params, adapter, device, threads)
    finally:
        _release(adapter, context.model(), device)
    return build_result(context, params, run, baseline)


def resolve_device(requested: str) -> tuple[str, str | None]:
    """``(device, skip_reason)``: ``auto`` picks CUDA when present; a missing GPU skips."""
    import torch

    available = torch.cuda.is_available()
    if requested == "auto":
        return ("cuda" if available else "cpu"), None
    if requested == "cuda" and not available:
        return "cuda", ("device 'cuda' requested but CUDA is not available on this machine "
                        "(torch.cuda.is_available() is False)")
    return requested, None


def _on_device(context: CheckContext, adapter: Any, device: str) -> Any:
    """The adapter itself when it already runs on ``device``, else a copy moved there."""
    if str(adapter.device).split(":")[0] == device:
        return adapter
    import copy

    try:
        module = copy.deepcopy(adapter.torch_module()).to(device)
        return adapter.with_module(module)
    except UnsupportedCapabilityError as exc:
        raise context.error("device", f"the model runs on {adapter.device!r} and cannot be "
                                      f"moved to {device!r}: {exc}") from None


def _release(adapter: Any, original: Any, device: str) -> None:
    if adapter is not original and device == "cuda":
        import torch

        adapter.close()
        torch.cuda.empty_cache()


def _measure_all(context: CheckContext, params: LatencyParams, adapter: Any, device: str,
                 threads: int) -> dict[str, Any]:
    from modeltests.timing import CpuTimer, CudaTimer

    timer = CudaTimer() if device == "cuda" else CpuTimer()
    configs = build_configs(context, params, adapter)
    modes, warnings = _modes(params.mode, adapter, configs[0])
    if not modes:
        return {"skip_reason": warnings[0]}
    was_used = context.model_was_used(adapter)
    cold_ms = timer.time_call(lambda: context.run_model(adapter, configs[0].batches[0]))
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    records = [_time_config(config, mode, adapter, timer, params, threads, device)
               for config in configs for mode in modes]
    memory = _memory(adapter, configs[-1], device, modes[0])
    return {"device": device, "threads": threads, "modes": modes, "configs": configs,
            "records": records, "memory": memory, "warnings": warnings,
            "cold_start": {"ms": cold_ms, "config": configs[0].label,
                           "first_use_of_model": not was_used}}


def _modes(requested: str, adapter: Any, config: Config) -> tuple[list[str], list[str]]:
    """Modes that this adapter supports (primary first), and warnings for dropped ones."""
    wanted = ["end_to_end", "model"] if requested == "both" else [requested]
    if "model" not in wanted:
        return wanted, []
    try:
        adapter.encode(config.batches[0])
    except UnsupportedCapabilityError as exc:
        reason = f"model-only timing is not available: {exc}"
        if requested == "model":
            return [], [reason]
        return ["end_to_end"], [reason + "; timed end-to-end only"]
    return wanted, []


def _time_config(config: Config, mode: str, adapter: Any, timer: Any, params: LatencyParams,
                 threads: int, device: str) -> dict[str, Any]:
    from modeltests.timing import summarize, time_callable

    fn = _callable(config, mode, adapter)
    run = time_callable(fn, timer, params.plan())
    record: dict[str, Any] = {"config": config.label, "batch_size": config.batch_size,
                              "sequence_length": config.sequence_length, "mode": mode,
                              "threads": threads, "device": device}
    record.update(summarize(run.samples_ms, config.batch_size))
    record.update(warmup_iterations=run.warmup.iterations, warmup_stable=run.warmup.stable,
                  seconds=run.seconds, stop_reason=run.stop_reason)
    record["_samples"] = run.samples_ms
    return record


def _callable(config: Config, mode: str, adapter: Any) -> Any:
    """A zero-argument function cycling through the configuration's batches."""
    if mode == "model":
        payloads = [adapter.encode(texts) for texts in config.batches]
        call = adapter.forward
    else:
        payloads = list(config.batches)
        call = adapter.predict
    state = {"i": 0}

    def fn() -> Any:
        payload = payloads[state["i"] % len(payloads)]
        state["i"] += 1
        return call(payload)

    return fn


def _memory(adapter: Any, config: Config, device: str, mode: str) -> dict[str, Any]:
    """Peak memory and parameter bytes (see the module docstring for the method)."""
    from modeltests.timing import RssSampler

    memory: dict[str, Any] = {"parameter_bytes": _parameter_bytes(adapter)}
    if device == "cuda":
        import torch

        memory["peak_cuda_bytes"] = int(torch.cuda.max_memory_allocated())
        memory["peak_cuda_reserved_bytes"] = int(torch.cuda.max_memory_reserved())
        memory["method"] = "torch.cuda.max_memory_allocated/reserved over the whole check"
        return memory
    fn = _callable(config, mode, adapter)
    with RssSampler() as sampler:
        for _ in range(MEMORY_CALLS):
            fn()
    memory.update(peak_rss_bytes=sampler.peak_bytes, rss_before_bytes=sampler.start_bytes,
                  method=f"process RSS (psutil) sampled every 2 ms over {MEMORY_CALLS} "
                         f"{mode} calls of {config.label}")
    return memory


def _parameter_bytes(adapter: Any) -> int | None:
    try:
        module = adapter.torch_module()
    except UnsupportedCapabilityError:
        return None
    return int(sum(p.numel() * p.element_size() for p in module.parameters()))


# ------------------------------------------------------------------------------ result


def build_result(context: CheckContext, params: LatencyParams, run: dict[str, Any],
                 baseline: tuple[Path, dict | str] | None = None) -> CheckResult:
    """Headline metrics, intervals, thresholds, baseline verdict, warnings and details."""
    from modeltests.environment import timing_fingerprint

    if "skip_reason" in run:
        return CheckResult(skip_reason=run["skip_reason"])
    head_config: Config = run["configs"][-1]
    head = _record(run["records"], head_config.label, run["modes"][0])
    metrics, intervals = _headline_metrics(head)
    metrics["cold_start_ms"] = float(run["cold_start"]["ms"])
    scaling = _scaling(run["records"], head_config.batch_size, run["modes"][0])
    if scaling is not None:
        metrics["scaling_exponent"] = scaling["exponent"]
        metrics["scaling_ratio"] = scaling["ratio"]
    metrics.update(_memory_metrics(run["memory"]))
    result = CheckResult(metrics=metrics, sample_size=head["n"], intervals=intervals,
                         warnings=list(run["warnings"]))
    result.thresholds = context.evaluate(metrics, intervals)
    _check_percentile_claims(context, result, head)
    current = {"config": head["config"], "mode": head["mode"], "p50_ms": head["p50_ms"],
               "iqr_ms": head["iqr_ms"], "fingerprint": timing_fingerprint(run["threads"], run["device"])}
    comparison = _compare(params, head, current, result, baseline, context) if baseline else None
    result.warnings.extend(_loop_warnings(run, context, params))
    result.details = {
        "device": run["device"], "threads": run["threads"], "modes": run["modes"],
        "headline": current, "cold_start": run["cold_start"], "scaling": scaling,
        "memory": run["memory"], "baseline": comparison,
        "configs": [{k: v for k, v in r.items() if k != "_samples"} for r in run["records"]],
    }
    result.headline = _headline_text(result, head, run)
    return result


def _record(records: list[dict[str, Any]], label: str, mode: str) -> dict[str, Any]:
    return next(r for r in records if r["config"] == label and r["mode"] == mode)


def _headline_metrics(head: dict[str, Any]) -> tuple[dict[str, float], dict[str, tuple]]:
    metrics = {k: float(head[k]) for k in _SUMMARY_KEYS if head.get(k) is not None}
    intervals: dict[str, tuple[float, float]] = {}
    for key in _PERCENTILE_KEYS:
        upper = head[key.replace("_ms", "_upper_ms")]
        if upper is not None:
            intervals[key] = (float(head[key]), float(upper))
    if head.get("throughput_interval") is not None:
        intervals["throughput"] = tuple(head["throughput_interval"])
    return metrics, intervals


def _scaling(records: list[dict[str, Any]], batch: int, mode: str) -> dict[str, Any] | None:
    from modeltests.timing import scaling

    rows = [r for r in records if r["batch_size"] == batch and r["mode"] == mode
            and r["sequence_length"] is not None]
    found = scaling([r["sequence_length"] for r in rows], [r["p50_ms"] for r in rows])
    if found is not None:
        found.update(batch_size=batch, mode=mode)
    return found


def _memory_metrics(memory: dict[str, Any]) -> dict[str, float]:
    names = {"peak_rss_bytes": "peak_rss_mb", "peak_cuda_bytes": "peak_cuda_mb",
             "peak_cuda_reserved_bytes": "peak_cuda_reserved_mb", "parameter_bytes": "parameter_mb"}
    return {metric: memory[key] / 2**20 for key, metric in names.items()
            if memory.get(key) is not None}


def _check_percentile_claims(context: CheckContext, result: CheckResult, head: dict) -> None:
    """Warn on gated percentiles below MLPerf's count; a 'bound' gate without a bound fails."""
    for t in result.thresholds:
        if t.metric not in _PERCENTILE_KEYS:
            continue
        name = t.metric[:-3]
        if not head[f"{name}_supported"]:
            result.warnings.append(
                f"{t.metric}: {head['n']} timed calls are fewer than the {head[f'{name}_min_samples']} "
                f"MLPerf requires for a {name} claim; increase min_iterations")
        if context.gate == "bound" and t.interval is None:
            t.passed, t.resolved, t.value = False, False, None  # the gated bound is n/a
            result.warnings.append(f"{t.metric}: {head['n']} calls are too few for a 95% upper "
                                   "bound, so gate 'bound' cannot pass; increase min_iterations")


def _compare(params: LatencyParams, head: dict[str, Any], current: dict[str, Any],
             result: CheckResult, baseline: tuple[Path, dict | str], context: CheckContext
             ) -> dict[str, Any]:
    """Compare with the saved headline; a regression adds a failing ``baseline`` threshold."""
    from modeltests.timing import compare_to_baseline

    path, saved = baseline
    if isinstance(saved, str):
        comparison = {"compared": False, "reason": saved}
    else:
        comparison = compare_to_baseline(head["_samples"], current, saved, params.max_slowdown)
    comparison["path"] = str(path)
    if not comparison["compared"]:
        result.warnings.append(f"baseline not compared: {comparison['reason']}")
        return comparison
    limits = [("p50_ms", "<=", comparison["limit_ms"])]
    result.thresholds += context.evaluate({"p50_ms": head["p50_ms"]}, scope="baseline",
                                          limits=limits)
    return comparison


def _baseline_entry(context: CheckContext, params: LatencyParams) -> tuple[Path, dict | str]:
    """The saved headline of this check in the baseline file, or why there is none."""
    import json

    path = context.resolve_path(str(params.baseline))
    if not path.is_file():
        raise context.error("baseline", f"baseline results file not found: {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        checks = [c for c in document.get("checks", []) if isinstance(c, dict)]
    except (ValueError, AttributeError) as exc:
        raise context.error("baseline", f"not a modeltests JSON results file: {path} "
                                        f"({exc})") from None
    name = context.identity.name
    found = [c for c in checks if c.get("kind") == "latency" and c.get("name") == name]
    found.sort(key=lambda c: not str(c.get("suite", "")).endswith(context.identity.suite_path.name))
    if not found:
        return path, f"{path.name} has no latency check named {name}"
    saved = (found[0].get("details") or {}).get("headline")
    if not saved:
        return path, f"the baseline's {name} measured nothing (outcome {found[0].get('outcome')})"
    return path, saved


def _loop_warnings(run: dict[str, Any], context: CheckContext, params: LatencyParams) -> list[str]:
    """One line per kind of trouble, listing the configurations it hit."""
    records = run["records"]
    unsettled = [f"{r['config']} {r['mode']} ({r['warmup_iterations']} calls)"
                 for r in records if not r["warmup_stable"]]
    short = [f"{r['config']} {r['mode']} ({r['n']} calls, {r['stop_reason']})"
             for r in records if r["stop_reason"] in ("max_seconds", "max_iterations")]
    warnings = []
    if unsettled:
        warnings.append(f"warm-up did not settle (median still moving by more than 5%) in "
                        f"{len(unsettled)} of {len(records)} runs: {', '.join(unsettled)}")
    if short:
        warnings.append(f"{len(short)} of {len(records)} runs stopped before min_iterations "
                        f"{params.min_iterations} and min_seconds {params.min_seconds:g}: "
                        f"{', '.join(short)}; increase max_seconds or shrink the sweep")
    if params.max_cold_start_ms is not None and not run["cold_start"]["first_use_of_model"]:
        warnings.append("cold_start_ms: the model had already answered other checks, so the "
                        "first call of this check is not the first call after load")
    return warnings


def _headline_text(result: CheckResult, head: dict[str, Any], run: dict[str, Any]) -> str:
    from modeltests.text import format_number as fmt

    shown = result.failed_thresholds() or result.thresholds
    text = "; ".join(t.describe() for t in shown[:2]) if shown else (
        f"p50 {fmt(head['p50_ms'])} ms, p95 {fmt(head['p95_ms'])} ms, "
        f"{fmt(head['throughput'])} ex/s")
    return f"{text} [{head['config']} {head['mode']}, {run['device']}, {run['threads']} threads]"


CHECK_KINDS = [CheckKind("latency", LatencyParams, run_latency,
                         "latency percentiles, throughput, cold start, scaling and memory")]
