"""``latency``'s ``compare_to`` as a user sees it: a name that is not under ``models:`` and
ratio thresholds without a model to compare with are located errors; a comparison times both
models on the same configurations and reports the ratio per configuration, both curves' data
and the crossover; without thresholds it passes with what it measured, and a ratio threshold
gates on the bootstrap interval's method.

The models are ``callable`` fakes (these tests are about the plugin); timing real BigBird and
BERT models, and the bad lengths that need a tokenizer, are in ``tests/real/test_bigbird.py``.
"""

from __future__ import annotations

import os

import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
import torch  # noqa: F401

from .helpers import DATA_CSV, FAKE_MODEL, assert_no_traceback, lit, read_report, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HEAD = """name: compare
model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
models:
  other:
    adapter: callable
    target: fakemodel:predict
    labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
  - kind: latency
    dataset: dev
    batch_sizes: [1, 4]
    warmup: 1
    min_iterations: 8
    min_seconds: 0
    max_seconds: 5
"""
# the check starts on line 15; its parameters after those above start on line 22


def run_suite(pytester: pytest.Pytester, params: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(fakemodel=FAKE_MODEL)
    write_suite(pytester, "suites/data.csv", DATA_CSV)
    write_suite(pytester, "suites/compare.yaml", HEAD + params)
    result = pytester.runpytest("suites/compare.yaml", "-p", "no:cacheprovider", "-rs", *args)
    assert_no_traceback(result.stdout.str())
    return result


def test_unknown_compare_to_model_is_a_located_error_with_a_close_match(
        pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    compare_to: othr\n")
    result.stdout.fnmatch_lines([
        "suites/compare.yaml:22: checks[[]0].compare_to: unknown model 'othr'; "
        "did you mean 'other'?*",
    ])
    result.assert_outcomes(errors=1)


def test_ratio_thresholds_need_compare_to(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    max_ratio_at_longest: 2\n")
    result.stdout.fnmatch_lines([
        "suites/compare.yaml:15: checks[[]0]: 'max_ratio_at_longest' and "
        "'min_ratio_at_longest' need 'compare_to' (a model under 'models:')",
    ])
    result.assert_outcomes(errors=1)


def test_both_models_are_timed_on_every_configuration_and_compared(
        pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    compare_to: other\n", "--modeltests-json",
                       "out.json")
    result.assert_outcomes(passed=1)  # no threshold: it reports what it measured
    result.stdout.fnmatch_lines([
        "*latency[[]dev[]]*PASS*x the p50 of other; crossover: no sequence lengths swept: "
        "no crossover length [[]b4_dev end_to_end, cpu, * threads[]]",
    ])
    entry = read_report(pytester, "out.json")["checks"][0]
    compare = entry["details"]["compare"]
    assert compare["model"] == "other"
    assert [c["config"] for c in compare["configs"]] == ["b1_dev", "b4_dev"]
    pairs = {p["config"]: p for p in compare["pairs"]}
    assert set(pairs) == {"b1_dev", "b4_dev"}
    mine = {c["config"]: c for c in entry["details"]["configs"]}
    theirs = {c["config"]: c for c in compare["configs"]}
    for config, pair in pairs.items():
        # interleaved rounds: both models got the same number of calls on the same batches
        assert mine[config]["n"] == theirs[config]["n"] == pair["rounds"] >= 8
        assert pair["ratio"] == pytest.approx(mine[config]["p50_ms"] / theirs[config]["p50_ms"])
        low, high = pair["ratio_interval"]
        assert low <= high
    assert entry["metrics"]["ratio_at_longest"] == pytest.approx(pairs["b4_dev"]["ratio"])
    assert entry["intervals"]["ratio_at_longest"] == pairs["b4_dev"]["ratio_interval"]
    assert compare["crossover"] is None and compare["curve"]["points"] == []
    assert compare["interval_method"].startswith("95% percentile bootstrap of the ratio of "
                                                 "medians")
    assert entry["details"]["attention"] is None  # no block-sparse model here


def test_a_ratio_threshold_gates_with_its_interval(pytester: pytest.Pytester) -> None:
    # limits no timing can reach either way: the test is about the wiring, not the speed
    result = run_suite(pytester, "    compare_to: other\n    max_ratio_at_longest: 1000\n"
                       "  - kind: latency\n    name: never\n    dataset: dev\n    warmup: 1\n"
                       "    min_iterations: 8\n    min_seconds: 0\n    compare_to: other\n"
                       "    min_ratio_at_longest: 1000\n", "--modeltests-json", "out.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        lit("*latency[never]*FAIL*ratio_at_longest * < 1000 (95% CI * to *)*")])
    entries = read_report(pytester, "out.json")["checks"]
    gates = [next(t for t in e["thresholds"] if t["metric"] == "ratio_at_longest")
             for e in entries]
    assert [g["held"] for g in gates] == [True, False]
    assert {g["interval_method"] for g in gates} == {"bootstrap-percentile"}
    assert all(g["interval"] is not None for g in gates)


def test_model_names_the_model_to_time_instead_of_the_suites(pytester: pytest.Pytester) -> None:
    # the suite's model raises on every call: only 'other' may be timed
    head = HEAD.replace("  target: fakemodel:predict\n  labels", "  target: fakemodel:raises\n"
                        "  labels", 1)
    pytester.makepyfile(fakemodel=FAKE_MODEL)
    write_suite(pytester, "suites/data.csv", DATA_CSV)
    write_suite(pytester, "suites/compare.yaml", head + "    model: other\n  - kind: latency\n"
                "    name: typo\n    dataset: dev\n    model: othr\n")
    result = pytester.runpytest("suites/compare.yaml", "-p", "no:cacheprovider",
                                "--modeltests-json", "out.json")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/compare.yaml:26: checks[[]1].model: unknown model 'othr'; did you mean "
        "'other'?*",
    ])
    result.assert_outcomes(passed=1, errors=1)  # the bad name errs; the other check runs
    entry = read_report(pytester, "out.json")["checks"][0]
    assert entry["details"]["model"] == "other" and entry["details"]["compare"] is None


def test_a_comparison_that_can_time_nothing_skips_and_never_passes(
        pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "    compare_to: other\n    mode: model\n")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] suites/compare.yaml:15: no timing mode that both models support: "
        "model-only timing is not available: CallableModel has no separate encode step; the "
        "compare_to model 'other': model-only timing is not available: CallableModel has no "
        "separate encode step",
    ])
