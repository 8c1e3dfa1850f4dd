"""Outcomes: a failed threshold is FAILED with a short message, a model that cannot load makes
its checks ERROR while other suites go on, ``xfail:`` is an expected failure, a summary table."""

from __future__ import annotations

import os
import sys

import pytest

from .helpers import (CALLABLE_HEAD, PASSING_SUITE, assert_no_traceback, lit, make_project, read_report,
                      write_suite)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_failed_threshold_message(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace("min_accuracy: 0.5",
                                                 "min_accuracy: 0.95\n    min_f1_macro: 0.9"))
    result = pytester.runpytest("suites/")
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml F.*",
        "*= FAILURES =*",
        "_*_ " + lit("accuracy[dev] (accuracy check)") + " _*_",
        "accuracy[dev] failed (suites/sentiment.yaml:10, n=8)",
        "  accuracy 0.875 < 0.950 (95% CI 0.529 to 0.978)  [[]min_accuracy]",
        "  f1_macro 0.873 < 0.900 (95% CI 0.500 to 1.000)  [[]min_f1_macro]",
        "  recall per class: negative 0.800 (n=5), positive 1.000 (n=3)",
        "  failing examples (1 of 1; one per class first, most confident first):",
        "    - 'not good at all' expected negative predicted positive (p=0.80)",
        "  warning: accuracy: n=8 cannot separate 0.875 from 0.950 at 95%; about n=33 would "
        "(95% interval 0.529-0.978 contains the threshold 0.95)",
        "  warning: f1_macro: n=8 cannot separate 0.873 from 0.900 at 95%; about n=* would "
        "(95% interval 0.500-1.000 contains the threshold 0.9)",
    ])
    result.stdout.fnmatch_lines([
        "FAILED suites/sentiment.yaml::accuracy[[]dev] - accuracy[[]dev] failed *",
    ])
    result.assert_outcomes(passed=1, failed=1, warnings=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert_no_traceback(result.stdout.str())


def test_slice_threshold_failure_names_the_slice(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace("min_accuracy: 0.5", """min_accuracy: 0.5
    slices:
      - name: food
        column: topic
        equals: food
        min_accuracy: 0.9
      - name: tiny
        max_words: 1
        min_samples: 2"""))
    result = pytester.runpytest("suites/", "-m", "accuracy")
    result.stdout.fnmatch_lines([
        "accuracy[[]dev] failed (suites/sentiment.yaml:10, n=8)",
        "  food accuracy 0.667 < 0.900 (95% CI 0.208 to 0.939)  [[]food.min_accuracy]",
        "  tiny samples 1.000 < 2.000  [[]tiny.min_samples]",
    ])


def test_model_load_failure_errors_every_check_once_without_traceback(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    write_suite(pytester, "suites/broken.yaml", """model:
  adapter: callable
  target: fakemodel:no_such_function
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
  - kind: availability
    name: smoke
""")
    result = pytester.runpytest("suites/")
    message = ("suites/broken.yaml:1: model.target: module 'fakemodel' has no attribute "
               "'no_such_function'")
    result.stdout.fnmatch_lines([
        "suites/broken.yaml EE*",
        "suites/sentiment.yaml ..*",
        lit("*_ ERROR at setup of accuracy[dev] (accuracy check) _*"),
        message,
        lit("*_ ERROR at setup of availability[smoke] (availability check) _*"),
        message,
    ])
    result.assert_outcomes(passed=2, errors=2)
    assert_no_traceback(result.stdout.str())


def test_model_loads_once_whatever_the_number_of_checks(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace("target: fakemodel:predict",
                                                 "target: fakemodel:counted_factory\n"
                                                 "  factory: true") + """  - kind: accuracy
    name: again
    dataset: dev
""")
    pytester.runpytest("suites/").assert_outcomes(passed=3)
    assert (pytester.path / "loads.txt").read_text() == "load\n"


def test_model_raising_at_load_errors_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(failing_load="""
def factory():
    raise MemoryError("not enough RAM for 7B parameters")
""")
    make_project(pytester)
    write_suite(pytester, "suites/broken.yaml", """model:
  adapter: callable
  target: failing_load:factory
  factory: true
  labels: [negative, positive]
checks:
  - kind: availability
""")
    result = pytester.runpytest("suites/")
    result.stdout.fnmatch_lines([
        "suites/broken.yaml:1: model failed to load: MemoryError: "
        "not enough RAM for 7B parameters",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_xfail_check_is_xfailed_and_exit_code_zero(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace(
        "min_accuracy: 0.5", "min_accuracy: 0.99\n    xfail: negation is a known weakness"))
    result = pytester.runpytest("suites/", "-rx")
    result.assert_outcomes(passed=1, xfailed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml  accuracy[[]dev]  * XFAIL  *accuracy 0.875 < 0.990*",
        "XFAIL suites/sentiment.yaml::accuracy[[]dev] - negation is a known weakness",
    ])


def test_xfail_check_that_passes_is_a_strict_failure(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace(
        "min_accuracy: 0.5", "min_accuracy: 0.5\n    xfail: should fail"))
    result = pytester.runpytest("suites/")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*[[]XPASS(strict)] should fail*"])


def test_summary_table_after_the_run(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.95"))
    result = pytester.runpytest("suites/")
    result.stdout.fnmatch_lines([
        "*= modeltests summary =*",
        "suite                  check                verdict  key metric vs threshold",
        "suites/sentiment.yaml  accuracy[[]dev]        FAIL     accuracy 0.875 < 0.950 "
        "(95% CI 0.529 to 0.978)",
        "suites/sentiment.yaml  availability[[]smoke]  PASS     smoke_pass_rate 1.000 >= 1.000; "
        "edge_pass_rate 1.000 >= 1.000",
        "modeltests: 2 checks: 1 failed, 1 passed, 1 undecided",
        "modeltests: wrote */reports/modeltests.json",
        "modeltests: wrote */reports/modeltests.html",
    ])


def test_no_summary_when_no_check_ran(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "modeltests summary" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()


def test_a_slice_compares_typed_values_and_one_that_matches_nothing_is_a_setup_error(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace("min_accuracy: 0.5", """min_accuracy: 0.5
    slices:
      - {name: ones, column: stars, equals: 1.0, min_samples: 4}
      - {name: twos, column: stars, in: [2, "2.0"], min_samples: 1}"""))
    (pytester.path / "suites" / "data.csv").write_text(
        "text,label,stars\ngood movie,positive,1\ngreat acting,positive,1\n"
        "a good meal,positive,1\nbad movie,negative,0\nawful service,negative,0\n"
        "terrible plot,negative,0\nnot good at all,negative,1\nboring,negative,0\n")
    result = pytester.runpytest("suites/", "-m", "accuracy")
    result.stdout.fnmatch_lines([
        "*ERROR at setup of accuracy[[]dev]*",
        "suites/sentiment.yaml:15: slice 'twos' matches no row: no row of dataset 'dev' has "
        "column 'stars' a value in [[]2, '2.0'[]] (column 'stars' holds: 0, 1)",
    ])
    result.assert_outcomes(errors=1)
    assert_no_traceback(result.stdout.str())
    validated = pytester.run(sys.executable, "-m", "modeltests", "validate", "suites/")
    assert validated.ret == 1
    assert validated.outlines == [
        "suites/sentiment.yaml:15: slice 'twos' matches no row: no row of dataset 'dev' has "
        "column 'stars' a value in [2, '2.0'] (column 'stars' holds: 0, 1)",
        "modeltests: 1 suite(s), 2 check(s): 1 problem(s)"]
    (pytester.path / "suites" / "sentiment.yaml").write_text(
        PASSING_SUITE.replace("min_accuracy: 0.5", """min_accuracy: 0.5
    slices:
      - {name: ones, column: stars, equals: 1.0, min_samples: 4}"""))
    passed = pytester.runpytest("suites/", "-m", "accuracy")
    passed.assert_outcomes(passed=1)
    details = read_report(pytester)["checks"][0]["details"]["slices"]
    assert [(s["name"], s["n"]) for s in details] == [("ones", 4)]


GRADED = """
def predict(texts):
    # "says negative 0.95": that label with that probability
    out = []
    for text in texts:
        _, label, p = text.split()
        p = float(p)
        out.append([p, 1 - p] if label == "negative" else [1 - p, p])
    return out
"""


def test_failure_shows_the_most_confident_error_of_each_class_and_recall_per_class(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(graded=GRADED)
    write_suite(pytester, "suites/data.csv", "text,label\n"
                "says negative 0.60,positive\nsays negative 0.99,positive\n"
                "says negative 0.97,positive\nsays positive 0.70,negative\n"
                "says negative 0.90,negative\nsays positive 0.90,positive\n")
    write_suite(pytester, "suites/graded.yaml", CALLABLE_HEAD.replace(
        "fakemodel:predict", "graded:predict") + "  - kind: accuracy\n    dataset: dev\n"
        "    min_accuracy: 0.9\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "accuracy[[]dev] failed (suites/graded.yaml:9, n=6)",
        "  accuracy 0.333 < 0.900 (95% CI *)  [[]min_accuracy]",
        "  recall per class: negative 0.500 (n=2), positive 0.250 (n=4)",
        "  failing examples (4 of 4; one per class first, most confident first):",
        "    - 'says negative 0.99' expected positive predicted negative (p=0.99)",
        "    - 'says positive 0.70' expected negative predicted positive (p=0.70)",
        "    - 'says negative 0.97' expected positive predicted negative (p=0.97)",
        "    - 'says negative 0.60' expected positive predicted negative (p=0.60)",
    ])
