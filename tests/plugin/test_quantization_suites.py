"""``quantization`` / ``pruning`` as a user sees them: bad parameters get one located message,
a model without reachable weights skips with a reason, ``compare_to`` compares two suite models.

The models are the ``callable`` fakes of :mod:`tests.plugin.helpers`: these tests are about the
plugin. Real quantization of a real model lives in ``tests/real/test_quantization.py``.
"""

from __future__ import annotations

import os

import pytest

from .helpers import checks_by_nodeid, lit, make_project, read_report, run_suite_text, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# A second fake: also right on "not good at all" (it reads the negation), so it disagrees with
# the reference on exactly that row of the 8 and gets all 8 right.
CANDIDATE = '''
def predict(texts):
    return [[0.9, 0.1] if "not" in t else
            [0.3, 0.7] if ("good" in t or "great" in t) else [0.8, 0.2] for t in texts]
'''

HEADER = """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
models:
  int8:
    adapter: callable
    target: candidate:predict
    labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
"""  # checks[0] starts on line 14


def run_suite(pytester: pytest.Pytester, checks: str) -> pytest.RunResult:
    pytester.makepyfile(candidate=CANDIDATE)
    return run_suite_text(pytester, "suites/q.yaml", HEADER + checks)


def test_unknown_scheme_lists_the_valid_ones_with_a_close_match(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n"
                                 "    scheme: int8_dynamc\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:16: checks[[]0].scheme: must be one of 'int8_dynamic', "
        "'int8_dynamic_per_channel', 'bf16', 'fp16', 'torchao_int8_weight_only' or "
        "'torchao_int8_dynamic' (got 'int8_dynamc'); "
        "did you mean 'int8_dynamic'?",
    ])
    result.assert_outcomes(errors=1)


def test_sparsity_out_of_range(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: pruning\n    dataset: dev\n    sparsity: 1.5\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:16: checks[[]0].sparsity: must be a number in (0, 1) (got 1.5)",
    ])
    result.assert_outcomes(errors=1)


def test_unknown_compare_to_model(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n"
                                 "    compare_to: int9\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:16: checks[[]0].compare_to: unknown model 'int9'; did you mean 'int8'?*",
    ])
    result.assert_outcomes(errors=1)


def test_scheme_or_compare_to_is_required(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:14: checks[[]0]: set exactly one of 'scheme' (quantize a copy of the "
        "model) or 'compare_to' (a model under 'models:')",
    ])
    result.assert_outcomes(errors=1)


def test_min_speedup_needs_timing(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n    scheme: bf16\n"
                                 "    speed_examples: 0\n    min_speedup: 1.5\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:14: checks[[]0]: min_speedup needs speed_examples > 0 "
        "(speed_examples: 0 turns timing off)",
    ])


def test_callable_model_skips_with_a_reason(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n"
                                 "    scheme: int8_dynamic\n"
                                 "  - kind: pruning\n    dataset: dev\n    sparsity: 0.5\n")
    result.stdout.fnmatch_lines([
        lit("suites/q.yaml  quantization[int8_dynamic]  SKIP     int8_dynamic needs the model's "
            "torch weights (CallableModel exposes no torch module); nam*"),
        lit("suites/q.yaml  pruning[l1-0.5]             SKIP     prune_l1 0.5 needs the model's "
            "torch weights*"),
    ])
    entry = checks_by_nodeid(read_report(pytester))["suites/q.yaml::quantization[int8_dynamic]"]
    assert entry["outcome"] == "skipped"
    assert entry["message"].endswith(
        "int8_dynamic needs the model's torch weights (CallableModel exposes no torch module); "
        "name an already-compressed model under 'models:' and set compare_to instead")
    result.assert_outcomes(skipped=2)


def test_compare_to_gives_paired_metrics(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n    compare_to: int8\n"
                                 "    min_agreement: 0.9\n    max_accuracy_drop: 0.0\n")
    result.stdout.fnmatch_lines([
        "quantization[[]int8] failed (suites/q.yaml:14, n=8)",
        "  agreement 0.875 < 0.900 (95% CI 0.529 to 0.978)  [[]min_agreement]",
        "  changed predictions (1 of 1; 0 broken, 1 fixed):",
        "    - 'not good at all' expected negative: reference positive (p=0.80) -> compressed "
        "negative (p=0.90) (fixed)",
    ])
    entry = checks_by_nodeid(read_report(pytester))["suites/q.yaml::quantization[int8]"]
    metrics = entry["metrics"]
    assert metrics["accuracy_reference"] == 7 / 8
    assert metrics["accuracy_compressed"] == 1.0
    assert metrics["accuracy_drop"] == pytest.approx(-1 / 8)
    assert metrics["agreement"] == 7 / 8
    assert metrics["relative_accuracy"] == pytest.approx(8 / 7)
    assert metrics["max_prob_change"] == pytest.approx(0.7)
    assert "size_ratio" not in metrics  # callables have no weights to measure
    assert entry["details"]["timing"]["mode"] == "predict"
    assert entry["examples"][0]["reference"] == "positive"
    assert entry["examples"][0]["change"] == "fixed"
    assert (entry["details"]["broke"], entry["details"]["fixed"]) == (0, 1)


def test_compare_to_aligns_a_different_label_order(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    pytester.makepyfile(reordered="def predict(texts):\n"
                                  "    return [[0.8, 0.2] if ('good' in t or 'great' in t) "
                                  "else [0.1, 0.9] for t in texts]\n")
    suite = HEADER.replace("    target: candidate:predict\n    labels: [negative, positive]",
                           "    target: reordered:predict\n    labels: [positive, negative]")
    write_suite(pytester, "suites/q.yaml", suite + "  - kind: quantization\n    dataset: dev\n"
                                                  "    compare_to: int8\n    max_mean_kl: 0\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    metrics = read_report(pytester)["checks"][0]["metrics"]
    assert metrics["agreement"] == 1.0
    assert metrics["max_prob_change"] == pytest.approx(0.0, abs=1e-12)


# Calls "boring" positive when "good movie" shares its batch: a stand-in for dynamic int8, whose
# activation scales come from the whole batch. In file order (batches of 4: rows 1-4, 5-8) the
# two are apart; the seed-0 shuffle (rows 5 2 6 3 | 1 4 8 7) puts them together, so exactly one
# of the 8 predictions moves.
BATCH_DEPENDENT = '''
def predict(texts):
    together = "good movie" in texts
    return [[0.3, 0.7] if ("good" in t or "great" in t or (t == "boring" and together))
            else [0.8, 0.2] for t in texts]
'''


def run_batch_dependent(pytester: pytest.Pytester, limit: str) -> pytest.RunResult:
    """The suite comparing BATCH_DEPENDENT (batches of 4) with the fake, gated by ``limit``."""
    make_project(pytester, suite=None)
    pytester.makepyfile(batchy=BATCH_DEPENDENT)
    suite = HEADER.replace("    target: candidate:predict\n",
                           "    target: batchy:predict\n    batch_size: 4\n")
    write_suite(pytester, "suites/q.yaml", suite + "  - kind: quantization\n    dataset: dev\n"
                                                  "    compare_to: int8\n    speed_examples: 0\n"
                                                  f"    {limit}\n")
    return pytester.runpytest("suites/", "-p", "no:cacheprovider")


def test_batch_agreement_compares_a_second_shuffled_batching(pytester: pytest.Pytester) -> None:
    result = run_batch_dependent(pytester, "min_batch_agreement: 0.9")
    result.stdout.fnmatch_lines(["  batch_agreement 0.875 < 0.900 (95% CI 0.529 to 0.978)  "
                                 "[[]min_batch_agreement]"])
    result.assert_outcomes(failed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/q.yaml::quantization[int8]"]
    assert entry["metrics"]["batch_agreement"] == 7 / 8
    assert entry["details"]["batching"] == {
        "reference": {"batch_size": 32, "order": "file order"},
        "compressed": {"batch_size": 4, "order": "file order"},
        "second": {"seed": 0, "order": "seeded shuffle, batched as given", "batch_size": 4,
                   "changed": 1, "max_prob_change": pytest.approx(0.5)}}


def test_min_batch_agreement_needs_the_second_batching(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: dev\n    compare_to: int8\n"
                                 "    shuffled_batching: false\n    min_batch_agreement: 0.99\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:14: checks[[]0]: min_batch_agreement needs shuffled_batching: true "
        "(false turns the second batching off)",
    ])
    result.assert_outcomes(errors=1)


def test_the_spread_over_batchings_is_the_figures_uncertainty(pytester: pytest.Pytester) -> None:
    """As configured (file order, batches of 4) the candidate agrees on all 8 rows; the seeded
    shuffle puts "boring" beside "good movie" and it agrees on 7. The estimate stays the
    configured batching's, its interval covers every batching's, so min_agreement 0.9 is
    undecided (and fails by default), with a warning that the batchings split it."""
    result = run_batch_dependent(pytester, "min_agreement: 0.9")
    result.stdout.fnmatch_lines([
        "  agreement 1.000 >= 0.900 (95% lower bound 0.529), but undecided: it does not pass "
        "(3 batchings: 0.875 to 1.000)  [[]min_agreement]",
        "  warning: agreement: 0.875 to 1.000 over 3 batchings, on both sides of the limit "
        "0.900: the model's dependence on batch composition decides this threshold, not the "
        "sample size (details.batchings lists each batching)",
    ])
    result.assert_outcomes(failed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/q.yaml::quantization[int8]"]
    assert [(b["name"], b["batch_size"], b["agreement"]) for b in entry["details"]["batchings"]] \
        == [("as configured", 4, 1.0), ("seeded shuffle", 4, 7 / 8),
            ("seeded shuffle, batches of 2", 2, pytest.approx(entry["details"]["batchings"][2]
                                                              ["agreement"]))]
    assert entry["details"]["batching_spread"]["agreement"] == [7 / 8, 1.0]
    (threshold,) = entry["thresholds"]
    assert threshold["interval_method"] == "wilson, union over 3 batchings"
