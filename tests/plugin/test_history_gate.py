"""Gates against the past: ``history_gate: {baseline: ..., max_drop: {...}}`` compares a check
with an earlier run of it recorded in the run history (paired when the dataset is unchanged);
no such run yet is undecided, never a pass."""

from __future__ import annotations

import os
import re

import pytest

from .helpers import CALLABLE_HEAD, assert_no_traceback, lit, read_report

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HISTORY = "reports/history.sqlite"

# 95 "good" rows and 100 "bad" rows each model gets right, 5 "not good" rows both get wrong;
# the worse model also calls the 19 "bad thing" rows with a 1 in them positive.
GATE_MODEL = '''
def good(texts):
    return [[0.2, 0.8] if "good" in t else [0.9, 0.1] for t in texts]


def worse(texts):
    return [[0.2, 0.8] if ("good" in t or "1" in t) else [0.9, 0.1] for t in texts]
'''
ROWS = ([f"good thing {i},positive" for i in range(95)]
        + [f"not good {i},negative" for i in range(5)]
        + [f"bad thing {i},negative" for i in range(100)])

SUITE = "name: gate\n" + CALLABLE_HEAD.replace("fakemodel:predict", "gatemodel:{model}") + """\
  - kind: accuracy
    dataset: dev
    min_accuracy: 0.3
    history_gate:
      baseline: {baseline}
      {way}:
        {metric}: 0.05
"""
NODE = "suites/gate.yaml  accuracy[[]dev]"


def write(pytester: pytest.Pytester, model: str = "good", baseline: str = "last-passing",
          way: str = "max_drop", metric: str = "accuracy", rows: list[str] = ROWS) -> None:
    pytester.makepyfile(gatemodel=GATE_MODEL)
    folder = pytester.path / "suites"
    folder.mkdir(exist_ok=True)
    (folder / "data.csv").write_text("\n".join(["text,label", *rows]) + "\n")
    (folder / "gate.yaml").write_text(SUITE.format(model=model, baseline=baseline, way=way,
                                                   metric=metric))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", *args)
    assert_no_traceback(result.stdout.str())
    return result


def test_no_baseline_is_undecided_the_same_model_passes_a_worse_one_fails(
        pytester: pytest.Pytester) -> None:
    write(pytester)
    history = pytester.path / HISTORY
    first = run(pytester)
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines([
        f"{NODE}  FAIL     accuracy_drop n/a > 0.050 (no baseline: no run history at "
        f"{history} yet)",
        "modeltests: 1 checks: 1 failed, 1 undecided"])
    [gate] = [t for t in read_report(pytester)["checks"][0]["thresholds"]
              if t["key"] == "history_gate.max_drop.accuracy"]
    assert (gate["state"], gate["value"], gate["held"]) == ("undecided", None, False)

    same = run(pytester)  # run 1 serves as a baseline: only its history gate lacked one
    same.assert_outcomes(passed=1)
    same.stdout.fnmatch_lines([
        f"{NODE}  PASS     accuracy 0.975 >= 0.300 (95% CI 0.943 to 0.989); accuracy_drop "
        "0.000 <= 0.050 (95% CI -0.020 to 0.020) (against run 1 (*): accuracy 0.975 -> 0.975; "
        "paired on the same 200 examples (dataset unchanged))"])
    assert read_report(pytester)["checks"][0]["outcomes"]["per_example"]["accuracy"] == (
        "1" * 95 + "0" * 5 + "1" * 100)

    write(pytester, model="worse")
    for _ in range(2):  # a failed run is no baseline: the second worse run still meets run 2
        worse = run(pytester)
        worse.assert_outcomes(failed=1)
        worse.stdout.fnmatch_lines([
            f"{NODE}  FAIL     accuracy_drop 0.095 > 0.050 (95% CI 0.056 to 0.144) (against "
            "run 2 (*): accuracy 0.975 -> 0.880; paired on the same 200 examples (dataset "
            "unchanged))",
            "modeltests: 1 checks: 1 failed"])
    write(pytester)  # the same model again: gated against run 2, not the failed runs 3 and 4
    back = run(pytester)
    back.assert_outcomes(passed=1)
    back.stdout.fnmatch_lines(["*accuracy_drop 0.000 <= 0.050 (95% CI -0.020 to 0.020) (against "
                               "run 2 (*): accuracy 0.975 -> 0.975; paired *"])
    html = (pytester.path / "reports/modeltests.html").read_text()
    [trend] = re.findall(r'<div class="trend" data-metric="accuracy">.*?</table></div>', html,
                         re.S)
    assert "accuracy over the last 5 run(s) of this check" in trend
    # the runs' table says each run's verdict; the chart rings the two failed worse runs and run 1
    assert re.findall(r'<tr><td>(this run|\d+)</td>.*?<span class="pill (\w+)">', trend,
                      re.S) == [("this run", "passed"), ("4", "failed"), ("3", "failed"),
                                ("2", "passed"), ("1", "failed")]
    assert trend.count('r="6.5" fill="none"') == 3


def test_a_changed_dataset_is_compared_unpaired_against_a_run_id(
        pytester: pytest.Pytester) -> None:
    write(pytester)
    run(pytester).assert_outcomes(failed=1)
    write(pytester, baseline="1", rows=[*ROWS, "extra row,negative"])
    changed = run(pytester)
    changed.assert_outcomes(passed=1)
    changed.stdout.fnmatch_lines([
        "*accuracy_drop -1.24e-04 <= 0.050 (95% CI -0.035 to 0.035) (against run 1 (*): "
        "accuracy 0.975 -> 0.975; unpaired: the dataset changed since)"])
    [gate] = [t for t in read_report(pytester)["checks"][0]["thresholds"]
              if t["key"] == "history_gate.max_drop.accuracy"]
    assert gate["interval_method"] == "square-and-add (unpaired)"


def test_without_the_history_the_gate_is_undecided(pytester: pytest.Pytester) -> None:
    write(pytester)
    run(pytester).assert_outcomes(failed=1)
    result = run(pytester, "--modeltests-no-history")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"{NODE}  FAIL     accuracy_drop n/a > 0.050 (no baseline: this session reads no run "
        "history (pytest --modeltests-no-history, or modeltests.run))"])


@pytest.mark.parametrize("way, metric, message", [
    ("max_drop", "acuracy", "max_drop.acuracy: not a metric this kind gates with a min_ "
     "threshold (allowed: accuracy, f1_macro, f1_micro, f1_weighted, precision_macro, "
     "recall_macro, worst_class_f1, worst_class_recall)"),
    ("max_rise", "accuracy", "max_rise.accuracy: not a metric this kind gates with a max_ "
     "threshold (allowed: none); accuracy gets worse as it drops: use max_drop"),
], ids=["unknown-metric", "wrong-direction"])
def test_a_metric_the_kind_does_not_gate_is_a_located_error(
        pytester: pytest.Pytester, way: str, metric: str, message: str) -> None:
    write(pytester, way=way, metric=metric)
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([lit(f"*suites/gate.yaml:13: checks[0].history_gate: {message}*")])
