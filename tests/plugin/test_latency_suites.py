"""``latency`` as a user sees it: bad parameters get one located message, ``device: cuda`` skips
with its reason where there is no GPU, and a baseline is compared only on the same machine.

The model is the ``callable`` fake of :mod:`tests.plugin.helpers` (these tests are about the
plugin); timing a real transformers model lives in ``tests/real/test_latency.py``.
"""

from __future__ import annotations

import json
import os

import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
# (a second import of torch in one process fails)
import torch

from .helpers import CALLABLE_HEAD, checks_by_nodeid, lit, read_report, run_suite_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HEADER = CALLABLE_HEAD + "  - kind: latency\n"  # the check starts on line 9; its first parameter is on line 10

FAST = """    dataset: dev
    batch_sizes: [1, 4]
    warmup: 2
    min_iterations: 30
    min_seconds: 0
    max_seconds: 5
"""


def run_suite(pytester: pytest.Pytester, params: str, *args: str) -> pytest.RunResult:
    return run_suite_text(pytester, "suites/latency.yaml", HEADER + params, "-rs", *args)


def test_unknown_mode_lists_the_modes_with_a_close_match(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    mode: end-to-end\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:10: checks[[]0].mode: must be one of 'model', 'end_to_end' or "
        "'both' (got 'end-to-end'); did you mean 'end_to_end'?",
    ])
    result.assert_outcomes(errors=1)


def test_batch_size_out_of_range(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    dataset: dev\n    batch_sizes: [1, 0]\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:11: checks[[]0].batch_sizes: each batch size must be an integer "
        "in [[]1, 4096] (got [[]1, 0])",
    ])
    result.assert_outcomes(errors=1)


def test_device_not_in_the_allowed_list(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    device: gpu\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:10: checks[[]0].device: must be one of 'cpu', 'cuda' or 'auto' "
        "(got 'gpu'); did you mean 'cpu'?",
    ])
    result.assert_outcomes(errors=1)


def test_every_problem_of_the_check_is_reported_at_once(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    max_p95: 10\n    warmup: -1\n    threads: 0\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:10: checks[[]0].max_p95: unknown key 'max_p95'; "
        "did you mean 'max_p95_ms'? (allowed: *",
        "suites/latency.yaml:11: checks[[]0].warmup: must be 'auto' or a number of calls in "
        "[[]0, 10000] (got -1)",
        "suites/latency.yaml:12: checks[[]0].threads: must be an integer in [[]1, 1024] (got 0)",
    ])


def test_scaling_threshold_needs_two_lengths(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    sequence_lengths: [64]\n    max_scaling_exponent: 2\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:9: checks[[]0]: 'max_scaling_exponent' and 'max_scaling_ratio' "
        "need at least two different 'sequence_lengths'",
    ])


def test_exact_token_lengths_need_a_tokenizer(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    sequence_lengths: [16]\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:10: checks[[]0].sequence_lengths: synthetic inputs of exact token "
        "lengths need the model's tokenizer, and this adapter has none; time real texts with "
        "'dataset:' instead",
    ])
    result.assert_outcomes(failed=1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_skips_with_its_reason(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    device: cuda\n    max_p95_ms: 50\n")
    result.stdout.fnmatch_lines([
        lit("suites/latency.yaml  latency[0]  SKIP     device 'cuda' requested but CUDA is not") + "*",
        "SKIPPED [[]1] *: device 'cuda' requested but CUDA is not available on this machine "
        "(torch.cuda.is_available() is False)",
    ])
    result.assert_outcomes(skipped=1)


def test_model_only_timing_skips_for_an_adapter_without_encode(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, FAST + "    mode: model\n")
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1] *: model-only timing is not available: CallableModel has no separate "
        "encode step",
    ])


def test_end_to_end_on_dataset_texts_reports_every_configuration(
        pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, FAST + "    max_p50_ms: 10000\n    min_throughput: 0.001\n")
    result.assert_outcomes(passed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/latency.yaml::latency[dev]"]
    details = entry["details"]
    assert [c["config"] for c in details["configs"]] == ["b1_dev", "b4_dev"]
    assert details["modes"] == ["end_to_end"]
    assert details["headline"]["config"] == "b4_dev"
    assert all(c["threads"] == details["threads"] >= 1 for c in details["configs"])
    assert entry["sample_size"] >= 30
    assert {"p50_ms", "p95_ms", "p99_ms", "throughput", "cold_start_ms", "peak_rss_mb"} \
        <= set(entry["metrics"])
    assert entry["metrics"]["p50_ms"] <= entry["intervals"]["p50_ms"][1]


def test_baseline_is_compared_only_with_the_same_fingerprint(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, FAST)
    result.assert_outcomes(passed=1)
    saved = read_report(pytester)
    (pytester.path / "base.json").write_text(json.dumps(saved))
    params = FAST + "    baseline: ../base.json\n    max_slowdown: 100\n"
    result = run_suite(pytester, params)
    result.assert_outcomes(passed=1)
    comparison = read_report(pytester)["checks"][0]["details"]["baseline"]
    assert comparison["compared"] is True and comparison["regression"] is False

    headline = saved["checks"][0]["details"]["headline"]
    headline["fingerprint"]["threads"] += 7
    (pytester.path / "base.json").write_text(json.dumps(saved))
    result = run_suite(pytester, params)
    result.assert_outcomes(passed=1)
    threads = headline["fingerprint"]["threads"]
    result.stdout.fnmatch_lines([
        f"*baseline not compared: hardware/library fingerprint differs (threads: {threads} -> "
        f"{threads - 7})",
    ])


def test_missing_baseline_file_is_a_located_error(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, FAST + "    baseline: nowhere.json\n")
    result.stdout.fnmatch_lines([
        "suites/latency.yaml:16: checks[[]0].baseline: baseline results file not found: "
        "*suites/nowhere.json",
    ])
    result.assert_outcomes(failed=1)


def test_slowdown_beyond_tolerance_and_spread_fails_against_the_baseline(
        pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, FAST)
    saved = read_report(pytester)
    headline = saved["checks"][0]["details"]["headline"]
    headline.update(p50_ms=headline["p50_ms"] / 1000, iqr_ms=0.0)  # a 1000x faster past
    (pytester.path / "base.json").write_text(json.dumps(saved))
    result = run_suite(pytester, FAST + "    baseline: ../base.json\n    max_slowdown: 0.5\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "latency[[]dev] failed (suites/latency.yaml:9, n=30)",
        "  baseline p50_ms * > *  [[]baseline.max_p50_ms]",
    ])
    comparison = read_report(pytester)["checks"][0]["details"]["baseline"]
    assert comparison["regression"] is True and comparison["slowdown"] > 0.5


def test_a_gated_p99_raises_the_call_count_to_mlperfs_minimum(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, FAST + "    gate: bound\n    max_p99_ms: 100000\n")
    result.assert_outcomes(passed=1)
    entry = read_report(pytester)["checks"][0]
    assert entry["sample_size"] >= 662 and entry["thresholds"][0]["state"] == "held"


@pytest.mark.parametrize("gate", ["bound", "estimate"])
def test_a_percentile_short_of_mlperfs_count_is_undecided_and_never_passes(
        pytester: pytest.Pytester, gate: str) -> None:
    result = run_suite(pytester, FAST + f"    max_iterations: 40\n    gate: {gate}\n"
                       "    max_p99_ms: 100000\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "  p99_ms * <= 100000, but undecided: it does not pass (40 timed calls; MLPerf requires "
        "662 for a p99 claim)  [[]max_p99_ms]",
        "  warning: p99_ms: 40 timed calls are fewer than the 662 MLPerf requires for a p99 "
        "claim; allow more max_seconds or max_iterations *",
    ])
    (threshold,) = read_report(pytester)["checks"][0]["thresholds"]
    assert (threshold["state"], threshold["held"]) == ("undecided", False)
