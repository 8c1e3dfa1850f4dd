"""``latency``'s messages about its own measurement: a run stopped short names the call count
it aimed at (MLPerf's minimum for a gated percentile, not just ``min_iterations``)."""

from __future__ import annotations

from types import SimpleNamespace

from modeltests.checks.latency.assemble import _loop_warnings
from modeltests.checks.latency.params import LatencyParams


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
