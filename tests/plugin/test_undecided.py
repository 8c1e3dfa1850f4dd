"""Undecided thresholds in a run: shown as such, counted, failed by default (``gate`` lets each
check's gate decide); a bound gate that cannot apply is an error naming the metric."""

from __future__ import annotations

import pytest

from .helpers import CALLABLE_HEAD, PASSING_SUITE, make_project, read_report

UNDECIDED_SUITE = PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.8")


def test_undecided_gate_lets_the_estimate_pass_and_reads_undecided(pytester: pytest.Pytester
                                                                    ) -> None:
    make_project(pytester, UNDECIDED_SUITE)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-undecided=gate")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml  accuracy[[]dev]        UNDECIDED  accuracy 0.875 >= 0.800 (95% CI "
        "0.529 to 0.978)",
        "modeltests: 2 checks: 2 passed, 1 undecided",
    ])
    document = read_report(pytester)
    assert document["summary"] == {"passed": 2, "undecided": 1}
    assert document["checks"][0]["undecided"] == ["min_accuracy"]


@pytest.mark.parametrize("args", [(), ("--modeltests-undecided=fail",)])
def test_by_default_undecided_fails_what_the_sample_cannot_decide(pytester: pytest.Pytester,
                                                                  args: tuple[str, ...]) -> None:
    make_project(pytester, UNDECIDED_SUITE)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1, failed=1, warnings=1)
    result.stdout.fnmatch_lines([
        "accuracy[[]dev] failed (suites/sentiment.yaml:10, n=8)",
        "  accuracy 0.875 >= 0.800 (95% CI 0.529 to 0.978), but undecided: it does not pass  "
        "[[]min_accuracy]",
        "*accuracy: n=8 cannot separate 0.875 from 0.800 at 95%; about n=* would*",
    ])


def test_the_ini_can_choose_gate(pytester: pytest.Pytester) -> None:
    make_project(pytester, UNDECIDED_SUITE)
    pytester.makeini("[pytest]\nmodeltests_undecided = gate\n")
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=2, warnings=1)


def test_a_bound_gate_on_a_metric_without_interval_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
from modeltests import CheckParams, CheckResult, threshold


class ShareParams(CheckParams):
    kind: str = "share"
    max_share: float | None = threshold("", ge=0, le=1)


def pytest_modeltests_register_checks(registry):
    @registry.check("share", params=ShareParams, needs_model=False)
    def run(context, params):
        return CheckResult(metrics={"share": 0.1}, sample_size=10)
""")
    make_project(pytester, CALLABLE_HEAD + "  - kind: share\n    gate: bound\n    max_share: 0.5\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml:11: checks[[]0].max_share: gate 'bound' needs a 95% interval for "
        "'share', and this check computes none for it; use gate: estimate for this check (the "
        "estimate then decides)",
    ])


