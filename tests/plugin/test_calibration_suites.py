"""``calibration``, ``coverage`` and ``footprint`` as a user sees them: a model that gives labels
only skips with what it lacks, bad parameters and an empty slice get one located message, the
reports carry the reliability diagram and the risk-coverage curve.

The models are ``callable`` fakes (these tests are about the plugin); the metrics against an
independent computation on a real model live in ``tests/real/test_calibration_real.py``.
"""

from __future__ import annotations

import os

import pytest

from .helpers import CALLABLE_HEAD, checks_by_nodeid, lit, read_report, run_suite_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LABELS_ONLY = '''
def predict(texts):
    return ["positive" if "good" in t else "negative" for t in texts]
'''


def run_checks(pytester: pytest.Pytester, checks: str, *args: str,
               target: str = "fakemodel:predict") -> pytest.RunResult:
    """The fake model's suite with ``checks`` appended (the first check starts on line 9)."""
    pytester.makepyfile(labelsonly=LABELS_ONLY)
    head = CALLABLE_HEAD.replace("fakemodel:predict", target)
    return run_suite_text(pytester, "suites/c.yaml", head + checks, *args)


def test_a_labels_only_model_skips_calibration_and_coverage_saying_what_it_lacks(
        pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: calibration\n    dataset: dev\n    max_ece: 0.1\n"
                        "  - kind: coverage\n    dataset: dev\n    confidence_threshold: 0.8\n"
                        "    min_coverage: 0.5\n"
                        "  - kind: footprint\n", "-rs", target="labelsonly:predict")
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1] suites/c.yaml:9: calibration needs class probabilities, and the "
        "'callable' model returns labels only (no probabilities); return one probability per "
        "label from the model to measure it",
        "SKIPPED [[]1] suites/c.yaml:12: coverage needs class probabilities, and the "
        "'callable' model returns labels only (no probabilities); return one probability per "
        "label from the model to measure it",
        "SKIPPED [[]1] suites/c.yaml:16: footprint needs the model's torch module "
        "(CallableModel exposes no torch module)",
    ])
    result.assert_outcomes(skipped=3)


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2"])
def test_target_accuracy_outside_zero_one(pytester: pytest.Pytester, value: str) -> None:
    result = run_checks(pytester, "  - kind: coverage\n    dataset: dev\n"
                        f"    target_accuracy: {value}\n")
    result.stdout.fnmatch_lines([
        f"suites/c.yaml:11: checks[[]0].target_accuracy: must be a number in (0, 1] "
        f"(got {value})"])
    result.assert_outcomes(errors=1)


def test_fewer_than_two_bins(pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: calibration\n    dataset: dev\n    bins: 1\n")
    result.stdout.fnmatch_lines([
        "suites/c.yaml:11: checks[[]0].bins: must be an integer in [[]2, 1000] (got 1)"])
    result.assert_outcomes(errors=1)


def test_a_gate_without_what_it_is_measured_at(pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: coverage\n    dataset: dev\n    min_coverage: 0.5\n"
                        "    min_coverage_at_target_accuracy: 0.5\n")
    result.stdout.fnmatch_lines([
        "suites/c.yaml:9: checks[[]0]: 'min_coverage' needs 'confidence_threshold' (the "
        "threshold it is measured at)"])
    result.assert_outcomes(errors=1)


def test_an_empty_slice_is_a_located_error(pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: calibration\n    dataset: dev\n    slices:\n"
                        "      - name: sport\n        column: topic\n        equals: sport\n"
                        "        max_ece: 0.2\n")
    result.stdout.fnmatch_lines([
        "*ERROR at setup of calibration[[]dev] (calibration check)*",
        "suites/c.yaml:12: slice 'sport' matches no row: no row of dataset 'dev' has column "
        "'topic' equal to 'sport' (column 'topic' holds: 'film', 'food')"])
    result.assert_outcomes(errors=1)


def test_calibration_and_coverage_reach_the_reports(pytester: pytest.Pytester) -> None:
    # The fake says 0.8 on the 4 rows with "good"/"great" (3 right) and 0.9 on the 4 others
    # (all right): 5 equal-width bins hold them in (0.6, 0.8] and (0.8, 1.0].
    # Limits the 8 rows decide: beyond each 95% interval.
    result = run_checks(pytester, "  - kind: calibration\n    dataset: dev\n    bins: 5\n"
                        "    max_ece: 0.5\n"
                        "  - kind: coverage\n    dataset: dev\n    confidence_threshold: 0.85\n"
                        "    target_accuracy: 1.0\n    min_coverage: 0.2\n")
    result.stdout.fnmatch_lines([
        lit("suites/c.yaml  calibration[dev]  PASS     ece 0.000 <= 0.500 (95% upper bound "
            "0.117)"),
        lit("suites/c.yaml  coverage[dev]     PASS     coverage 0.500 >= 0.200 (95% CI 0.215 "
            "to 0.785)"),
    ])
    result.assert_outcomes(passed=2)
    entries = checks_by_nodeid(read_report(pytester))
    calibration = entries["suites/c.yaml::calibration[dev]"]
    # The plain ECE (torchmetrics): half the rows 0.05 off, half 0.1 off.
    assert calibration["metrics"]["ece_width"] == pytest.approx(0.075)
    # The gated, debiased one: bin (0.6, 0.8]: gap -0.05, gap variance 0.25 / 4 (sample
    # variance of 0.2, 0.2, 0.2, -0.8 over 4); bin (0.8, 1.0]: gap 0.1, variance 0. Half the
    # rows each: 0.5 (0.0025 - 0.0625) + 0.5 (0.01) < 0, so 0.
    assert calibration["metrics"]["ece"] == 0.0
    # 3 right at 0.8: 0.08 each; "not good at all" wrong at 0.8: 1.28; 4 right at 0.9: 0.02 each.
    assert calibration["metrics"]["brier"] == pytest.approx((3 * 0.08 + 1.28 + 4 * 0.02) / 8)
    assert [(b["n"], b["accuracy"]) for b in calibration["details"]["reliability"]["width"]] \
        == [(4, 0.75), (4, 1.0)]
    assert calibration["thresholds"][0]["interval_method"] == "debiased-basic-bootstrap"
    coverage = entries["suites/c.yaml::coverage[dev]"]
    assert coverage["details"]["risk_coverage"] == [[0.5, 0.0, 0.9], [1.0, 0.125, 0.8]]
    assert coverage["metrics"]["aurc"] == pytest.approx(0.5 * 0.125)
    assert coverage["metrics"]["coverage_at_target_accuracy"] == 0.5
    html = (pytester.path / "reports" / "modeltests.html").read_text()
    assert "Reliability diagram (2 non-empty equal-width bins)" in html
    assert "Risk-coverage curve" in html


def test_footprint_lengths_and_limits_out_of_range(pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: footprint\n    sequence_lengths: [0, 16]\n"
                        "    max_gflops: -1\n")
    result.stdout.fnmatch_lines([
        "suites/c.yaml:10: checks[[]0].sequence_lengths: sequence lengths must be positive "
        "integers (got [[]0, 16])",
        "suites/c.yaml:11: checks[[]0].max_gflops: must be a number >= 0 (got -1)",
    ])
    result.assert_outcomes(errors=1)


def test_a_threshold_that_answers_nothing_fails_the_accuracy_gate(
        pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: coverage\n    dataset: dev\n"
                        "    confidence_threshold: 0.95\n    min_accuracy_at_coverage: 0.5\n")
    result.stdout.fnmatch_lines([
        lit("suites/c.yaml  coverage[dev]  FAIL     accuracy_at_coverage n/a < 0.500 (no row "
            "reaches confidence_threshold 0.95: nothing answered, so no accuracy was measured)"),
    ])
    result.assert_outcomes(failed=1)


def test_footprint_of_a_model_the_suite_does_not_declare(pytester: pytest.Pytester) -> None:
    result = run_checks(pytester, "  - kind: footprint\n    model: pruned\n")
    result.stdout.fnmatch_lines([
        "suites/c.yaml:10: checks[[]0].model: unknown model 'pruned' (the suite declares no "
        "'models:')"])
    result.assert_outcomes(errors=1)
