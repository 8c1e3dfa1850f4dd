"""``latency``'s messages about its own measurement: a run stopped short names the call count
it aimed at (MLPerf's minimum for a gated percentile, not just ``min_iterations``); timings
that cannot be right (a shorter input slower beyond noise, a negative scaling exponent) and
timings on a busy machine (load average) are flagged."""

from __future__ import annotations

from types import SimpleNamespace

from modeltests.checks.latency.assemble import _loop_warnings
from modeltests.checks.latency.inputs import Config
from modeltests.checks.latency.params import LatencyParams
from modeltests.checks.latency.plausibility import MachineLoad, plausibility
from modeltests.checks.latency.record import TimedConfig


def _stopped_short(params: LatencyParams) -> list[str]:
    timing = SimpleNamespace(label="b1_l32", mode="model", n=300, stop_reason="max_seconds",
                             warmup_stable=True, warmup_iterations=5)
    run = SimpleNamespace(timings=[timing], cold_start=SimpleNamespace(first_use_of_model=True))
    return _loop_warnings(run, params)  # type: ignore[arg-type]


def test_a_run_stopped_before_mlperfs_p99_count_names_that_count() -> None:
    params = LatencyParams(kind="latency", sequence_lengths=[32], max_p99_ms=50.0)
    assert _stopped_short(params) == [
        "1 of 1 runs stopped before 662 calls (MLPerf's minimum for the gated p99; "
        "min_iterations 64) and min_seconds 1: b1_l32 model (300 calls, max_seconds); increase "
        "max_seconds or shrink the sweep"]


def test_without_a_gated_percentile_the_count_is_min_iterations() -> None:
    params = LatencyParams(kind="latency", sequence_lengths=[32], max_p50_ms=50.0)
    assert _stopped_short(params)[0].startswith(
        "1 of 1 runs stopped before min_iterations 64 and min_seconds 1: ")
    capped = LatencyParams(kind="latency", sequence_lengths=[32], max_p95_ms=50.0,
                           max_iterations=100)
    assert capped.describe_required_iterations() == (
        "max_iterations 100 (below MLPerf's 130 for the gated p95)")


def _timed(length: int, p50: float, upper: float) -> TimedConfig:
    return TimedConfig(config=Config(f"b1_l{length}", 1, length, []), mode="model", threads=1,
                       device="cpu", summary={"n": 100, "p50_ms": p50, "p50_upper_ms": upper},
                       warmup_iterations=5, warmup_stable=True, seconds=1.0,
                       stop_reason="min_iterations and min_seconds reached", samples_ms=[])


def test_a_shorter_input_slower_beyond_noise_and_a_negative_exponent_are_flagged() -> None:
    from modeltests.measure.timing import scaling

    timings = [_timed(32, 8.4, 8.9), _timed(64, 5.2, 5.5), _timed(128, 4.6, 5.3)]
    found = scaling([32, 64, 128], [8.4, 5.2, 4.6])
    assert found is not None
    found.update(batch_size=1, mode="model")
    warnings, details = plausibility(timings, found, None)
    assert warnings == [
        "implausible timing: 32 tokens (p50 8.400 ms) slower than 64 tokens (p50 5.200 ms, "
        "95% upper bound 5.500 ms) at batch 1, model mode: a shorter input cannot take "
        "longer; other load, CPU frequency changes or inputs that are not the lengths stated",
        "implausible scaling exponent -0.43: latency fell as inputs grew (32 tokens p50 "
        "8.400 ms, 128 tokens p50 4.600 ms); do not read it as the model's scaling"]
    assert details == {"implausible": warnings, "contaminated": False, "load": None}
    # within noise: 64 tokens' p50 is inside the 128-token upper bound
    assert plausibility([_timed(64, 11.2, 11.8), _timed(128, 11.0, 11.4)], None, None)[0] == []


def test_a_timing_on_a_busy_machine_is_flagged_with_the_load() -> None:
    busy = MachineLoad(before=(5.2, 4.0, 3.0), after=(6.1, 4.5, 3.2), cpus=2, threads=1)
    warnings, details = plausibility([_timed(32, 10.0, 10.5)], None, busy)
    assert warnings == [
        "timings contaminated by other load: the 1-minute load average was 5.2 before and 6.1 "
        "after timing on 2 CPUs, with this check using 1 thread(s): other work wanted about "
        "5.2 CPUs where 1 were free; time on a quiet machine before trusting or gating on "
        "these figures"]
    assert details["contaminated"] is True
    assert details["load"] == {"load_before": [5.2, 4.0, 3.0], "load_after": [6.1, 4.5, 3.2],
                               "cpus": 2, "threads": 1, "other_load": 5.2,
                               "contaminated": True}
    quiet = MachineLoad(before=(0.3, 0.2, 0.1), after=(1.2, 0.5, 0.2), cpus=4, threads=2)
    assert plausibility([_timed(32, 10.0, 10.5)], None, quiet)[0] == []
