"""The ``latency`` check kind: resolve the device, read the baseline, time, assemble."""

from __future__ import annotations

from modeltests.checks.latency.assemble import build_result
from modeltests.adapters.generation import is_generator
from modeltests.checks.latency.baseline import read_baseline
from modeltests.checks.latency.generation import (generator_latency, prepare_generator,
                                                  refuse_keys)
from modeltests.checks.latency.inputs import prepare_lengths
from modeltests.checks.latency.measure import measure_all, on_device, release
from modeltests.checks.latency.params import LatencyParams
from modeltests.checks.latency.plausibility import MachineLoad, load_average, usable_cpus
from modeltests.context import CheckContext
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult


def run_latency(context: CheckContext, params: LatencyParams) -> CheckResult:
    """Time every configuration and mode (on both models with ``compare_to``), then gate on
    the headline configuration."""
    from modeltests.adapters.torch_utils import resolve_device
    from modeltests.measure.timing import torch_threads

    device, missing = resolve_device(params.device)
    if missing:
        return CheckResult(skip_reason=f"device {device!r} requested but {missing}")
    generator = is_generator(context.model(params.model))
    refuse_keys(context, params, generator)
    baseline = read_baseline(context, params.baseline) if params.baseline else None
    adapter = on_device(context, context.model(params.model), device)
    other = None
    try:
        if params.compare_to is not None:
            other = on_device(context, context.model(params.compare_to), device)
        before = load_average()
        with torch_threads(params.threads) as threads:
            if generator:  # time to first token and per output token: .generation
                assert is_generator(adapter) and (other is None or is_generator(other))
                return generator_latency(context, params, adapter, device, threads, other)
            run = measure_all(context, params, adapter, device, threads, other)
        load = MachineLoad(before, load_average(), usable_cpus(), threads)
    finally:
        release(adapter, context.model(params.model), device)
        if other is not None:
            release(other, context.model(params.compare_to), device)
    return build_result(context, params, run, baseline, load)


def prepare_latency(context: CheckContext, params: LatencyParams) -> None:
    """At setup: keys the model's task does not time, and lengths beyond the models' limits,
    are located ERRORs."""
    model = context.model(params.model)
    if not is_generator(model):
        refuse_keys(context, params, False)
        prepare_lengths(context, params)
        return
    refuse_keys(context, params, True)
    prepare_generator(context, params, model, "the model")
    if params.compare_to is not None:
        other = context.generator(params.compare_to, "compare_to")
        prepare_generator(context, params, other, f"the compare_to model {params.compare_to!r}")


CHECK_KINDS = [CheckKind("latency", LatencyParams, run_latency,
                         "latency percentiles, throughput, cold start, scaling and memory (text "
                         "generators: time to first token and per output token)",
                         prepare=prepare_latency, task="any", inputs="any")]
