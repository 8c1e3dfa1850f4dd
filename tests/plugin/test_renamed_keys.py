"""Names that say what they are: the worst class's recall and F1 (old keys still read, with a
located deprecation warning), and the class that is worst named in the message."""

from __future__ import annotations

import os

import pytest

from .helpers import CALLABLE_HEAD, checks_by_nodeid, lit, read_report, run_suite_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_worst_class_recall_names_the_class_and_every_class(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/s.yaml", CALLABLE_HEAD + "  - kind: accuracy\n"
                            "    dataset: dev\n    min_worst_class_recall: 0.9\n")
    # The interval holds the minimum of both classes' recalls at 95%: Wilson at 97.5% for each
    # (Bonferroni over 2 classes), from the smallest lower bound (negative 4/5: 0.329) to the
    # smallest upper bound (negative 0.970; positive 3/3: 1).
    result.stdout.fnmatch_lines([
        lit("  worst_class_recall 0.800 < 0.900 (95% CI 0.329 to 0.970) (class 'negative', n=5; "
            "recall per class: negative 0.800, positive 1.000)  [min_worst_class_recall]"),
    ])
    entry = checks_by_nodeid(read_report(pytester))["suites/s.yaml::accuracy[dev]"]
    assert entry["metrics"]["worst_class_recall"] == 0.8
    assert entry["metrics"]["worst_class_f1"] == pytest.approx(6 / 7)  # positive: P 3/4, R 1
    assert "class_recall" not in entry["metrics"]
    assert entry["thresholds"][0]["interval_method"] == "wilson-bonferroni"


def test_the_old_key_still_gates_with_a_located_warning(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/s.yaml", CALLABLE_HEAD + "  - kind: accuracy\n"
                            "    dataset: dev\n    min_class_recall: 0.9\n")
    result.assert_outcomes(failed=1, warnings=2)
    result.stdout.fnmatch_lines([
        "*worst_class_recall 0.800 < 0.900 *[[]min_worst_class_recall]",
        "*: PytestWarning: suites/s.yaml:11: checks[[]0].min_class_recall: renamed "
        "'min_worst_class_recall' (same meaning); the old name still works for now: rename it",
    ])


def test_old_and_new_key_together_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/s.yaml", CALLABLE_HEAD + "  - kind: accuracy\n"
                            "    dataset: dev\n    min_class_f1: 0.9\n"
                            "    min_worst_class_f1: 0.8\n")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "suites/s.yaml:11: checks[[]0].min_class_f1: give either 'min_worst_class_f1' or its old "
        "name 'min_class_f1', not both",
    ])
