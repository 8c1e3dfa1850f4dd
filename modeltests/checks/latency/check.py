"""The ``latency`` check kind: resolve the device, read the baseline, time, assemble."""

from __future__ import annotations

from modeltests.checks.latency.assemble import build_result
from modeltests.checks.latency.baseline import read_baseline
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
    baseline = read_baseline(context, params.baseline) if params.baseline else None
    adapter = on_device(context, context.model(params.model), device)
    other = None
    try:
        if params.compare_to is not None:
            other = on_device(context, context.model(params.compare_to), device)
        before = load_average()
        with torch_threads(params.threads) as threads:
            run = measure_all(context, params, adapter, device, threads, other)
        load = MachineLoad(before, load_average(), usable_cpus(), threads)
    finally:
        release(adapter, context.model(params.model), device)
        if other is not None:
            release(other, context.model(params.compare_to), device)
    return build_result(context, params, run, baseline, load)


CHECK_KINDS = [CheckKind("latency", LatencyParams, run_latency,
                         "latency percentiles, throughput, cold start, scaling and memory",
                         prepare=prepare_lengths)]
