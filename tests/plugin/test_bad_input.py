"""Bad input: each mistake gets one clear message with file, line and key, never a traceback,
and the other suites of the run still pass."""

from __future__ import annotations

import os
import sys

import pytest

from .helpers import (
    CALLABLE_MODEL,
    assert_no_traceback,
    checks_by_nodeid,
    lit,
    make_project,
    read_report,
    write_suite,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL = CALLABLE_MODEL


def run_with_good_suite(pytester: pytest.Pytester, bad_suite: str) -> pytest.RunResult:
    """Run ``suites/`` holding the bad suite and the passing ``sentiment.yaml``."""
    make_project(pytester)
    write_suite(pytester, "suites/bad.yaml", bad_suite)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines(["suites/sentiment.yaml  accuracy[[]dev]  * PASS *",
                                 "suites/sentiment.yaml  availability[[]smoke]  PASS *"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    return result


def test_yaml_syntax_error(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev: eval\n    min_accuracy: 0.9\n")
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of suite _*",
        "suites/bad.yaml:10: invalid YAML: mapping values are not allowed here",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_tab_indentation_is_a_syntax_error_at_its_line(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n\t- kind: accuracy\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:9: invalid YAML: found character '\\t' that cannot start any token",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_unknown_check_kind_suggests_the_close_match(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n  - kind: acuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        lit("*_ ERROR at setup of acuracy[dev] (acuracy check) _*"),  # its id as written
        "suites/bad.yaml:9: checks[[]0].kind: unknown check kind 'acuracy'; "
        "did you mean 'accuracy'? (allowed: *accuracy, adversarial, availability*)",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_unknown_key_suggests_the_close_match_and_lists_allowed_keys(
    pytester: pytest.Pytester,
) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n    min_acuracy: 0.9\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:11: checks[[]0].min_acuracy: unknown key 'min_acuracy'; did you mean "
        "'min_accuracy'? (allowed: dataset, description, gate, history_gate, kind, min_accuracy, *, name, slices, xfail)",
    ])


def test_unknown_key_in_model_and_in_a_dataset(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("  labels:", "  batchsize: 8\n  labels:").replace(
        "    path: data.csv\n", "    path: data.csv\n    text_col: text\n")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:4: model.batchsize: unknown key 'batchsize'; did you mean 'batch_size'? "
        "(allowed: adapter, batch_size, factory, labels, target, task)",
        "suites/bad.yaml:9: datasets.dev.text_col: unknown key 'text_col'; did you mean "
        "'text_column'? (allowed: answer_column, choices_column, document_column, encoding, "
        "executor, format, image, label_column, label_map, limit, path, prompt_column, ray, "
        "stream, tags_column, text_column, tokens_column, unlabelled)",
    ])
    # The dataset exists (its entry is invalid): no misleading "unknown dataset 'dev'".
    assert "unknown dataset" not in result.stdout.str()


def test_missing_key(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n  - kind: accuracy\n"
                                 "    min_accuracy: 0.9\n")
    result.stdout.fnmatch_lines(["suites/bad.yaml:9: checks[[]0].dataset: required key is missing"])


def test_missing_kind_and_missing_model_target(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("  target: fakemodel:predict\n", "")
    result = run_with_good_suite(pytester, bad + "checks:\n  - dataset: dev\n")
    result.stdout.fnmatch_lines([
        lit("*_ ERROR at setup of invalid[dev] (invalid check) _*"),
        "suites/bad.yaml:8: checks[[]0]: required key 'kind' is missing (allowed: *accuracy*)",
        "suites/bad.yaml:1: model.target: required key is missing",
    ])


def test_wrong_type(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n  - kind: availability\n"
                                 "    generated_examples: many\n    smoke_inputs: hello\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:10: checks[[]0].generated_examples: must be an integer in [[]0, 2000] "
        "(got 'many')",
        "suites/bad.yaml:11: checks[[]0].smoke_inputs: must be a list (got 'hello')",
    ])


@pytest.mark.parametrize("value, shown", [("'90%'", "'90%'"), ("1.5", "1.5"), ("-0.1", "-0.1")])
def test_threshold_out_of_range(pytester: pytest.Pytester, value: str, shown: str) -> None:
    result = run_with_good_suite(pytester, MODEL + "checks:\n  - kind: accuracy\n"
                                 f"    dataset: dev\n    min_accuracy: {value}\n")
    result.stdout.fnmatch_lines([
        f"suites/bad.yaml:11: checks[[]0].min_accuracy: must be a number in [[]0, 1] (got {shown})",
    ])


def test_all_problems_in_a_file_are_reported_at_once(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("  labels:", "  colour: red\n  labels:") + """checks:
  - kind: acuracy
    dataset: dev
  - kind: accuracy
    dataset: dev
    min_accuracy: '90%'
  - kind: accuracy
    dataset: dve
  - kind: availability
    name: smoke
"""
    result = run_with_good_suite(pytester, bad)
    # Every check of the file errors, each with its own problems first (the summary shows an
    # error's first line), then the file's; each keeps the id its YAML gives it.
    result.stdout.fnmatch_lines([
        lit("*_ ERROR at setup of acuracy[dev] (acuracy check) _*"),
        "suites/bad.yaml:10: checks[[]0].kind: unknown check kind 'acuracy'; did you mean "
        "'accuracy'? *",
        "suites/bad.yaml:4: model.colour: unknown key 'colour' (allowed: *)",
        lit("*_ ERROR at setup of accuracy[dev] (accuracy check) _*"),
        "suites/bad.yaml:14: checks[[]1].min_accuracy: must be a number in [[]0, 1] (got '90%')",
        "suites/bad.yaml:4: model.colour: *",
        lit("*_ ERROR at setup of accuracy[dve] (accuracy check) _*"),
        "suites/bad.yaml:16: checks[[]2].dataset: unknown dataset 'dve'; did you mean 'dev'? "
        "(allowed: dev)",
        "suites/bad.yaml:4: model.colour: *",
        lit("*_ ERROR at setup of availability[smoke] (availability check) _*"),
        "suites/bad.yaml:4: model.colour: *",
    ])
    result.assert_outcomes(passed=2, errors=4)


def test_dataset_file_that_does_not_exist(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("path: data.csv", "path: missing.csv")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    missing = pytester.path / "suites" / "missing.csv"
    result.stdout.fnmatch_lines([
        f"suites/bad.yaml:7: datasets.dev.path: dataset file not found: {missing}",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_missing_column_suggests_the_close_match(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("    path: data.csv\n", "    path: data.csv\n    label_column: labl\n")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:8: datasets.dev.label_column: column 'labl' not found in data.csv; "
        "did you mean 'label'? (columns: text, label, topic)",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_missing_slice_column_suggests_the_close_match(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, MODEL + """checks:
  - kind: accuracy
    dataset: dev
    slices:
      - name: food
        column: topc
        equals: food
""")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:12: slice 'food': column 'topc' not in dataset 'dev'; did you mean "
        "'topic'? (columns: text, label, topic)",
    ])


def test_label_the_model_does_not_know(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("labels: [negative, positive]", "labels: [neg, pos]")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:6: datasets.dev: label(s) 'negative', 'positive' are not labels of the "
        "model (model labels: neg, pos); map them with datasets.dev.label_map or set model.labels",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_label_map_fixes_unknown_labels(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    (pytester.path / "suites" / "numeric.csv").write_text("text,label\ngood,1\nbad,0\n")
    write_suite(pytester, "suites/mapped.yaml", """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
datasets:
  dev:
    path: numeric.csv
    label_map: {0: negative, 1: positive}
checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 1.0
""")
    pytester.runpytest("suites/mapped.yaml").assert_outcomes(passed=1)


def test_model_directory_that_does_not_exist(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, """model:
  adapter: transformers
  path: ./no-such-model
datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
""")
    missing = pytester.path / "suites" / "no-such-model"
    result.stdout.fnmatch_lines([
        f"suites/bad.yaml:3: model.path: model directory does not exist: {missing}",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_model_that_raises_in_predict(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("fakemodel:predict", "fakemodel:raises")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        lit("*_ accuracy[dev] (accuracy check) _*"),
        "suites/bad.yaml:1: model raised RuntimeError in predict: CUDA out of memory (simulated)",
    ])
    result.assert_outcomes(passed=2, failed=1)


@pytest.mark.parametrize("target, count, first", [("nan_outputs", 3, "good movie"),
                                                 ("infinite_outputs", 8, "good movie")])
def test_nan_or_infinite_outputs(pytester: pytest.Pytester, target: str, count: int,
                                 first: str) -> None:
    bad = MODEL.replace("fakemodel:predict", f"fakemodel:{target}")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        f"suites/bad.yaml:1: model returned NaN or infinite outputs for {count} of 8 inputs "
        f"(first: '{first}')",
    ])
    result.assert_outcomes(passed=2, failed=1)


def test_nan_outputs_fail_availability_with_the_inputs(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("fakemodel:predict", "fakemodel:infinite_outputs")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: availability\n"
                                 "    generated_examples: 0\n")
    result.stdout.fnmatch_lines([
        "availability[[]0] failed (suites/bad.yaml:9, n=*)",
        "  smoke_pass_rate 0.000 < 1.000  [[]min_smoke_pass_rate]",
        "  edge_pass_rate 0.000 < 1.000  [[]min_edge_pass_rate]",
        "*[[]smoke 0] 'This is a perfectly ordinary sentence.' error: model returned NaN or "
        "infinite outputs for 1 of 1 inputs*",
    ])
    # Infinite metrics must not stop the report from being written (JSON has no inf).
    entry = checks_by_nodeid(read_report(pytester))["suites/bad.yaml::availability[0]"]
    assert entry["outcome"] == "failed"
    assert entry["metrics"]["determinism_diff"] == "inf"


def test_model_import_path_that_does_not_import(pytester: pytest.Pytester) -> None:
    bad = MODEL.replace("fakemodel:predict", "nomodule:predict")
    result = run_with_good_suite(pytester, bad + "checks:\n  - kind: accuracy\n"
                                 "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:1: model.target: cannot import module 'nomodule': "
        "No module named 'nomodule'",
    ])
    result.assert_outcomes(passed=2, errors=1)


SHARED_PROBLEMS = """model:
  adapter: callable
  labels: [negative, positive]
datasets:
  dev:
    path: missing.csv
checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 1.5
  - kind: calibration
    dataset: dev
  - kind: robustness
    dataset: dev
    name: typos
"""


def test_a_shared_problem_is_reported_once_and_each_check_shows_its_own(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/bad.yaml", SHARED_PROBLEMS)
    missing = pytester.path / "suites" / "missing.csv"
    validated = pytester.run(sys.executable, "-m", "modeltests", "validate", "suites/")
    assert validated.ret == 1
    assert validated.outlines == [
        "suites/bad.yaml:1: model.target: required key is missing",
        f"suites/bad.yaml:6: datasets.dev.path: dataset file not found: {missing} (checks: "
        "accuracy[dev], calibration[dev], robustness[typos])",
        "suites/bad.yaml:10: checks[0].min_accuracy: must be a number in [0, 1] (got 1.5)",
        "modeltests: 1 suite(s), 3 check(s): 3 problem(s)",
    ]
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "suite            check              verdict  key metric vs threshold",
        "suites/bad.yaml  accuracy[[]dev]      ERROR    suites/bad.yaml:10: checks[[]0]."
        "min_accuracy: must be a number in [[]0, 1] (got 1.5)",
        "suites/bad.yaml  calibration[[]dev]   ERROR    suites/bad.yaml:6: datasets.dev.path: "
        "dataset file not found: *",
        "suites/bad.yaml  robustness[[]typos]  ERROR    suites/bad.yaml:6: datasets.dev.path: "
        "dataset file not found: *",
    ])
    result.assert_outcomes(errors=3)
    assert_no_traceback(result.stdout.str())
