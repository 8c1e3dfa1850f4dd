"""Timing the ``latency`` check's configurations: modes, the timed loop per configuration, cold
start and memory. Returns a :class:`~.record.LatencyRun`; nothing here decides a verdict."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable

from modeltests.checks.latency.inputs import Config, build_configs
from modeltests.checks.latency.record import (
    ColdStart,
    Compared,
    LatencyRun,
    MemoryFacts,
    NotMeasured,
    TimedConfig,
    TimedMode,
)
from modeltests.errors import UnsupportedCapabilityError
from modeltests.data.tags import is_tagger

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.checks.latency.attention import SparseAttention
    from modeltests.checks.latency.params import LatencyParams
    from modeltests.context import CheckContext
    from modeltests.measure.timing import Timer, TimingRun

MEMORY_CALLS = 3


def on_device(context: CheckContext, adapter: ModelAdapter, device: str) -> ModelAdapter:
    """The adapter itself when it already runs on ``device`` or on a server (``remote``: the
    server decides where it runs), else a copy moved there."""
    if str(adapter.device).split(":")[0] in (device, "remote"):
        return adapter
    import copy

    try:
        module = copy.deepcopy(adapter.torch_module()).to(device)
        return adapter.with_module(module)
    except UnsupportedCapabilityError as exc:
        raise context.error("device", f"the model runs on {adapter.device!r} and cannot be "
                                      f"moved to {device!r}: {exc}") from None


def release(adapter: ModelAdapter, original: ModelAdapter, device: str) -> None:
    """Free a copy made for a GPU (the session's own model stays)."""
    if adapter is not original and device == "cuda":
        import torch

        adapter.close()
        torch.cuda.empty_cache()


def measure_all(context: CheckContext, params: LatencyParams, adapter: ModelAdapter,
                device: str, threads: int, other: ModelAdapter | None = None
                ) -> LatencyRun | NotMeasured:
    """Cold start, then every configuration in every supported mode, then memory.

    With ``other`` (the ``compare_to`` model), each configuration and mode is timed on both
    models in interleaved rounds, in the modes both support. Inputs of both are built (and
    their lengths checked) before anything runs.
    """
    from modeltests.checks.latency.attention import captured_bigbird_warnings, sparse_attention
    from modeltests.measure.timing import CpuTimer, CudaTimer

    timer: Timer = CudaTimer() if device == "cuda" else CpuTimer()
    configs = build_configs(context, params, adapter, "the model" if params.model is None
                            else f"the model {params.model!r}")
    other_configs = (None if other is None else
                     build_configs(context, params, other, f"the compare_to model "
                                                       f"{params.compare_to!r}"))
    modes, warnings = supported_modes(params.mode, adapter, configs[0])
    if other is not None and other_configs is not None:
        modes, warnings = _common_modes(params, modes, warnings, other, other_configs[0])
    if not modes:
        return NotMeasured(warnings[0])
    switches = {"model": sparse_attention(adapter)}
    if other is not None:
        switches[str(params.compare_to)] = sparse_attention(other)
    with captured_bigbird_warnings() as held_back, restored(list(switches.values())):
        # A tagger is called directly by the token checks, not through the session: it counts
        # its own calls (``tagged``), so that a first call here is not taken for a cold one.
        # Image sizes were probed on one image each before timing: not a cold first call.
        was_used = (context.model_was_used(adapter) or bool(getattr(adapter, "tagged", 0))
                    or configs[0].probed)
        first = configs[0].batches[0]
        cold_ms = timer.time_call(
            (lambda: context.run_tagger(adapter, [str(t).split() for t in first]))
            if is_tagger(adapter) else lambda: context.run_model(adapter, first))
        if device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        sweep = [(i, mode) for i in range(len(configs)) for mode in modes]
        timings: list[TimedConfig] = []
        compared: list[TimedConfig] = []
        for i, mode in context.progress(sweep, "timing configurations"):
            if other is None or other_configs is None:
                timings.append(time_config(configs[i], mode, adapter, timer, params, threads,
                                           device, switches["model"]))
                continue
            pair = time_pair((configs[i], other_configs[i]), mode, (adapter, other), timer,
                             params, threads, device, list(switches.values()))
            timings.append(pair[0])
            compared.append(pair[1])
        _restore(switches["model"])
        memory = measure_memory(adapter, configs[-1], device, modes[0])
    return LatencyRun(device=device, threads=threads, modes=modes, configs=configs,
                      timings=timings, memory=memory, warnings=warnings,
                      cold_start=ColdStart(cold_ms, configs[0].label, not was_used),
                      compared=None if other is None else Compared(str(params.compare_to),
                                                                   compared),
                      attention_rules={name: switch.facts() for name, switch in
                                       switches.items() if switch is not None},
                      held_back=held_back.messages)


def _common_modes(params: LatencyParams, modes: list[TimedMode], warnings: list[str],
                  other: ModelAdapter, first: Config) -> tuple[list[TimedMode], list[str]]:
    """The modes both models support, primary first; a mode only one supports is dropped
    with a warning (a comparison needs both)."""
    theirs, their_warnings = supported_modes(params.mode, other, first)
    common = [mode for mode in modes if mode in theirs]
    dropped = [f"the compare_to model {params.compare_to!r}: {w}" for w in their_warnings]
    if not common:
        return [], ["no timing mode that both models support: "
                    + "; ".join([*warnings, *dropped])]
    return common, [*warnings, *dropped]


@contextmanager
def restored(switches: Sequence[SparseAttention | None]) -> Iterator[None]:
    """Leave every block-sparse model with its configured attention type, whatever ran."""
    try:
        yield
    finally:
        for switch in switches:
            _restore(switch)


def _restore(switch: SparseAttention | None) -> None:
    if switch is not None:
        switch.restore()


def supported_modes(requested: str, adapter: ModelAdapter, config: Config
                    ) -> tuple[list[TimedMode], list[str]]:
    """Modes that this adapter supports (primary first), and warnings for dropped ones."""
    wanted: list[TimedMode] = (["end_to_end", "model"] if requested == "both"
                               else ["model"] if requested == "model" else ["end_to_end"])
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


def time_config(config: Config, mode: TimedMode, adapter: ModelAdapter, timer: Timer,
                params: LatencyParams, threads: int, device: str,
                switch: SparseAttention | None = None) -> TimedConfig:
    """Warm up and time one configuration in one mode."""
    from modeltests.measure.timing import time_callable

    _restore(switch)
    run = time_callable(cycling_call(config, mode, adapter), timer, params.plan())
    return _timed(config, mode, run, threads, device, switch)


def time_pair(configs: tuple[Config, Config], mode: TimedMode,
              adapters: tuple[ModelAdapter, ModelAdapter], timer: Timer, params: LatencyParams,
              threads: int, device: str, switches: Sequence[SparseAttention | None]
              ) -> tuple[TimedConfig, TimedConfig]:
    """One configuration in one mode on both models, in interleaved rounds."""
    from modeltests.measure.timing import time_interleaved

    for switch in switches:
        _restore(switch)
    runs = time_interleaved([cycling_call(c, mode, a) for c, a in zip(configs, adapters)],
                            timer, params.plan())
    return (_timed(configs[0], mode, runs[0], threads, device, switches[0]),
            _timed(configs[1], mode, runs[1], threads, device, switches[1]))


def _timed(config: Config, mode: TimedMode, run: TimingRun, threads: int, device: str,
           switch: SparseAttention | None) -> TimedConfig:
    from modeltests.checks.latency.attention import attention_entry
    from modeltests.measure.timing import summarize

    return TimedConfig(config=config, mode=mode, threads=threads, device=device,
                       summary=summarize(run.samples_ms, config.batch_size),
                       warmup_iterations=run.warmup.iterations,
                       warmup_stable=run.warmup.stable, seconds=run.seconds,
                       stop_reason=run.stop_reason, samples_ms=run.samples_ms,
                       attention=None if switch is None
                       else attention_entry(switch, config.sequence_length))


def cycling_call(config: Config, mode: TimedMode, adapter: ModelAdapter) -> Callable[[], object]:
    """A zero-argument function cycling through the configuration's batches."""
    call: Callable[[Any], object]
    if mode == "model":
        payloads: list[Any] = [adapter.encode(texts) for texts in config.batches]
        call = adapter.forward
    elif is_tagger(adapter):  # a token classifier: the texts' words tagged, end to end
        payloads = [[str(text).split() for text in texts] for texts in config.batches]
        call = adapter.predict_tags
    else:
        payloads = list(config.batches)
        call = adapter.predict
    calls = 0

    def fn() -> object:
        nonlocal calls
        payload = payloads[calls % len(payloads)]
        calls += 1
        return call(payload)

    return fn


def measure_memory(adapter: ModelAdapter, config: Config, device: str, mode: TimedMode
                   ) -> MemoryFacts:
    """Peak memory and parameter bytes (see the package docstring for the method)."""
    from modeltests.adapters.torch_utils import torch_module_or_none
    from modeltests.measure.compress import parameter_bytes

    module = torch_module_or_none(adapter)
    weights = None if module is None else parameter_bytes(module)
    if device == "cuda":
        import torch

        return MemoryFacts(
            parameter_bytes=weights,
            peak_cuda_bytes=int(torch.cuda.max_memory_allocated()),
            peak_cuda_reserved_bytes=int(torch.cuda.max_memory_reserved()),
            method="torch.cuda.max_memory_allocated/reserved over the whole check")
    from modeltests.measure.timing import RssSampler

    fn = cycling_call(config, mode, adapter)
    with RssSampler() as sampler:
        for _ in range(MEMORY_CALLS):
            fn()
    return MemoryFacts(parameter_bytes=weights, peak_rss_bytes=sampler.peak_bytes,
                       rss_before_bytes=sampler.start_bytes,
                       method=f"process RSS (psutil) sampled every 2 ms over {MEMORY_CALLS} "
                              f"{mode} calls of {config.label}")
