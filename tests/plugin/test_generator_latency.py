"""``latency`` on a text generator as a user sees it: the sweep of prompt x output lengths,
the decode tokens counted, the clock used (the generator's own ``generate_timed`` or two
``generate`` calls), ``compare_to`` ratios, and located errors for keys that time classifiers.
No timed assertions: structure and consistency only."""

from __future__ import annotations

import os

import pytest
import torch  # noqa: F401  (imported here once: pytester's in-process runs cannot re-import it)

from .helpers import CYCLE_GENERATOR, checks_by_nodeid, read_report, run_suite_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HEADER = """model:
  adapter: cycle
models:
  timed:
    adapter: cycle
    timed: true
checks:
"""  # checks[0] starts on line 7

SWEEP = ("  - kind: latency\n    name: {name}\n    model: {model}\n    prompt_lengths: [4, 9]\n"
         "    output_lengths: [1, 5]\n    threads: 1\n    warmup: 1\n    min_iterations: 5\n"
         "    min_seconds: 0\n")


def run_suite(pytester: pytest.Pytester, checks: str) -> pytest.RunResult:
    pytester.makeconftest(CYCLE_GENERATOR)
    return run_suite_text(pytester, "suites/l.yaml", HEADER + checks, "-v")


def test_sweep_counts_tokens_and_names_its_clock(pytester: pytest.Pytester) -> None:
    checks = (SWEEP.replace("    model: {model}\n", "").format(name="fallback")
              + SWEEP.format(name="own", model="timed")
              + SWEEP.replace("    model: {model}\n", "    compare_to: timed\n")
              .format(name="versus") + "    max_ttft_ratio: 1000\n    max_tpot_ratio: 1000\n")
    result = run_suite(pytester, checks)
    result.stdout.fnmatch_lines(["*latency?fallback? PASSED*", "*latency?own? PASSED*",
                                 "*latency?versus? PASSED*"])
    checks_ = checks_by_nodeid(read_report(pytester))
    fallback = checks_["suites/l.yaml::latency[fallback]"]
    own = checks_["suites/l.yaml::latency[own]"]
    versus = checks_["suites/l.yaml::latency[versus]"]
    assert fallback["details"]["timing"].startswith("two generate calls per round")
    assert own["details"]["timing"].startswith("generate_timed")
    for entry in (fallback, own):
        configs = entry["details"]["configs"]
        assert [(c["prompt_tokens"], c["max_new_tokens"]) for c in configs] == \
            [(4, 1), (4, 5), (9, 1), (9, 5)]
        for config in configs:
            assert config["calls"] >= 5 and config["calls"] == config["ttft"]["n"]
            assert config["new_tokens"] == {"min": config["max_new_tokens"],
                                            "max": config["max_new_tokens"],
                                            "mean": config["max_new_tokens"]}
            # one output token has no decode step; five have four, timed on every call
            assert config["tpot"]["n"] == (0 if config["max_new_tokens"] == 1 else
                                           config["calls"])
        assert entry["details"]["headline"] == {"prompt_tokens": 9, "max_new_tokens": 5}
        assert entry["details"]["threads"] == 1
        metrics = entry["metrics"]
        assert metrics["ttft_p50_ms"] <= metrics["ttft_p90_ms"] <= metrics["ttft_p99_ms"]
        assert metrics["tpot_p50_ms"] <= metrics["tpot_p99_ms"]
        assert metrics["tokens_per_second"] > 0 and metrics["peak_rss_mb"] > 0
    # the own clock puts the first token at a tenth of the call: tpot = 0.9 total / 4
    head = own["details"]["configs"][-1]
    assert own["metrics"]["ttft_p50_ms"] == pytest.approx(head["total"]["p50_ms"] / 10)
    assert set(versus["details"]["compare"]) >= {"ttft_ratio", "tpot_ratio", "configs"}
    # The fake decodes in microseconds: on a busy machine the two-call clock's whole request can
    # come back faster than its one-token call, a decode time of 0 (CI saw tpot_ratio 0.0).
    assert versus["metrics"]["ttft_ratio"] > 0 and versus["metrics"]["tpot_ratio"] >= 0
    assert len(versus["details"]["compare"]["configs"]) == 4


def test_p99_on_few_calls_is_undecided(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, SWEEP.replace("    model: {model}\n", "").format(name="p99")
                       + "    max_iterations: 5\n    max_ttft_p99_ms: 100000\n")
    result.stdout.fnmatch_lines(["*ttft_p99_ms: 5 timed calls; MLPerf requires 662 for a p99 "
                                 "claim; set min_iterations to at least 662*"])
    result.assert_outcomes(failed=1)


def test_classifier_keys_and_long_prompts_are_located_errors(pytester: pytest.Pytester
                                                              ) -> None:
    result = run_suite(pytester, "  - kind: latency\n    sequence_lengths: [8]\n"
                       "  - kind: latency\n    prompt_lengths: [60]\n    output_lengths: [8]\n"
                       "  - kind: latency\n    batch_sizes: [1, 4]\n")
    result.stdout.fnmatch_lines([
        "*suites/l.yaml:9: checks[[]0].sequence_lengths: does not apply to a text generator "
        "(time it with prompt_lengths, output_lengths and the ttft/tpot thresholds)",
        "*suites/l.yaml:11: checks[[]1].prompt_lengths: the longest prompt plus output is 68 "
        "tokens, beyond the 64 tokens the model takes",
        "*suites/l.yaml:14: checks[[]2].batch_sizes: a text generator is timed one prompt at a "
        "time (batch size 1)",
    ])
    result.assert_outcomes(errors=3)


def test_a_gated_tpot_without_a_decode_step_is_undecided(pytester: pytest.Pytester) -> None:
    # One output token has no time per output token: the gate has no figure, which is no pass.
    sweep = SWEEP.replace("    model: {model}\n", "").replace("[1, 5]", "[1]")
    result = run_suite(pytester, sweep.format(name="one") + "    max_tpot_p50_ms: 100000\n")
    result.stdout.fnmatch_lines([
        "*latency?one? FAILED*",
        "  tpot_p50_ms n/a > 100000 (none of the 5 headline calls generated 2 or more tokens: no "
        "time per output token (ask for output_lengths of 2 or more, with prompts the model "
        "continues))  [[]max_tpot_p50_ms]",
        "modeltests: 1 checks: 1 failed, 1 undecided"])
    result.assert_outcomes(failed=1)
