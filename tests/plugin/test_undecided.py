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




FOUR_OF_400 = '''
def baseline(texts):
    return [[0.9, 0.1] if t.startswith("neg") else [0.1, 0.9] for t in texts]


def candidate(texts):
    # wrong on the 4 rows marked "slip": 4 of 400 lost, none gained
    return [[0.1, 0.9] if "slip" in t else row for t, row in zip(texts, baseline(texts))]
'''

FOUR_OF_400_SUITE = """model:
  adapter: callable
  target: twomodels:candidate
  labels: [negative, positive]
models:
  production:
    adapter: callable
    target: twomodels:baseline
    labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
  - kind: regression
    dataset: dev
    baseline: production
    max_accuracy_drop: 0.01
"""


@pytest.mark.parametrize(("args", "verdict"), [
    ((), "failed"), (("--modeltests-undecided=gate",), "passed")])
def test_a_drop_of_exactly_4_of_400_meets_0_01_and_is_undecided(
        pytester: pytest.Pytester, args: tuple[str, ...], verdict: str) -> None:
    """The README's sentence: the drop equals its limit (limits are exact), its interval
    contains the limit, so it holds only under gate: estimate with undecided gating."""
    pytester.makepyfile(twomodels=FOUR_OF_400)
    rows = [f"neg row {i}{' slip' if i < 4 else ''},negative" for i in range(200)]
    rows += [f"pos row {i},positive" for i in range(200)]
    (pytester.mkdir("suites") / "data.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    (pytester.path / "suites" / "r.yaml").write_text(FOUR_OF_400_SUITE)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(**{verdict: 1})
    (threshold,) = read_report(pytester)["checks"][0]["thresholds"]
    assert (threshold["value"], threshold["state"], threshold["held"]) == (
        pytest.approx(0.01), "undecided", verdict == "passed")
    if verdict == "failed":
        result.stdout.fnmatch_lines([
            "  accuracy_drop 0.010 <= 0.010 (95% CI * to *), but undecided: it does not pass  "
            "[[]max_accuracy_drop]"])
