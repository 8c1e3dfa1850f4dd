"""Reports: the JSON results file, the self-contained HTML report, JUnit XML properties,
pytest-xdist parity, and reports written by interrupted runs."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest

from .helpers import PASSING_SUITE, checks_by_nodeid, make_project, read_report, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENTRY_KEYS = {"nodeid", "suite", "kind", "name", "outcome", "metrics", "thresholds",
              "sample_size", "duration_s", "message", "examples"}
FAILING_SUITE = PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.95")


def test_json_has_run_metadata_and_the_documented_keys(pytester: pytest.Pytester) -> None:
    make_project(pytester, FAILING_SUITE)
    pytester.runpytest("suites/").assert_outcomes(passed=1, failed=1, warnings=1)
    document = read_report(pytester)
    run = document["run"]
    assert {"started", "finished", "duration_s", "environment", "device", "seeds"} <= set(run)
    assert run["device"] == "cpu"
    assert run["seeds"] == {"suites/sentiment.yaml": 0}
    versions = run["environment"]["versions"]
    assert {"modeltests", "torch", "transformers"} <= set(versions)
    assert run["environment"]["python"]
    assert document["summary"] == {"failed": 1, "passed": 1, "undecided": 1}
    checks = checks_by_nodeid(document)
    assert list(checks) == ["suites/sentiment.yaml::accuracy[dev]",
                            "suites/sentiment.yaml::availability[smoke]"]
    for entry in checks.values():
        assert ENTRY_KEYS <= set(entry)
    accuracy = checks["suites/sentiment.yaml::accuracy[dev]"]
    assert accuracy["suite"] == "suites/sentiment.yaml"
    assert (accuracy["kind"], accuracy["name"], accuracy["outcome"]) == \
        ("accuracy", "accuracy[dev]", "failed")
    assert accuracy["metrics"]["accuracy"] == pytest.approx(0.875)
    assert accuracy["sample_size"] == 8
    assert accuracy["thresholds"] == [{
        "metric": "accuracy", "key": "min_accuracy", "operator": ">=", "limit": 0.95,
        "value": 0.875, "held": False, "interval": pytest.approx([0.529, 0.978], abs=1e-3),
        "resolved": False, "scope": None, "note": None, "state": "undecided",
        "gate": "estimate", "interval_method": "wilson", "decided_by": "estimate",
        "needed_sample_size": 33,
        # At n=8 even 8 of 8 has a Wilson lower bound of 0.676: nothing passes 0.95; a true
        # 0.97 would pass 80% of runs at about n=826.
        "power": {"probability": 0.8, "n": 8, "passing_value": None, "margin": 0.02,
                  "target": pytest.approx(0.97), "n_for_margin": 826,
                  "method": "exact binomial (Wilson gate)"},
    }]
    assert accuracy["message"].startswith("accuracy[dev] failed (suites/sentiment.yaml:10, n=8)")
    assert accuracy["examples"] == [{"text": "not good at all", "expected": "negative",
                                     "predicted": "positive", "confidence": 0.8}]
    assert accuracy["details"]["confusion_matrix"] == [[4, 1], [0, 3]]
    assert isinstance(accuracy["duration_s"], float)
    availability = checks["suites/sentiment.yaml::availability[smoke]"]
    assert availability["outcome"] == "passed" and availability["message"] == ""
    assert all(t["held"] for t in availability["thresholds"])


def test_error_entries_carry_the_message(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    write_suite(pytester, "suites/bad.yaml", "model:\n  adapter: callable\nchecks:\n"
                "  - kind: acuracy\n")
    pytester.runpytest("suites/")
    entry = checks_by_nodeid(read_report(pytester))["suites/bad.yaml::acuracy[0]"]
    assert entry["outcome"] == "error"
    assert "suites/bad.yaml:4: checks[0].kind: unknown check kind 'acuracy'; did you mean " \
           "'accuracy'?" in entry["message"]


def test_json_and_html_paths_are_options(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.runpytest("suites/", "--modeltests-json", "out/results.json",
                       "--modeltests-html", "out/page.html").assert_outcomes(passed=2)
    assert read_report(pytester, "out/results.json")["summary"] == {"passed": 2}
    assert (pytester.path / "out" / "page.html").is_file()
    # reports/ holds only the run history now (tests/plugin/test_history.py)
    assert [p.name for p in (pytester.path / "reports").iterdir()] == ["history.sqlite"]


def test_json_path_ini_option_and_no_reports(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makeini("[pytest]\nmodeltests_json = gate/modeltests.json\n")
    pytester.runpytest("suites/").assert_outcomes(passed=2)
    assert read_report(pytester, "gate/modeltests.json")["summary"] == {"passed": 2}
    (pytester.path / "gate" / "modeltests.json").unlink()
    result = pytester.runpytest("suites/", "--modeltests-no-reports")
    assert not (pytester.path / "gate" / "modeltests.json").exists()
    assert "modeltests: wrote" not in result.stdout.str()


ADVERSARIAL = "<script>alert(1)</script> good <img src=x onerror=alert(2)>"


def test_html_is_self_contained_and_escapes_model_inputs(pytester: pytest.Pytester) -> None:
    make_project(pytester, FAILING_SUITE)
    with open(pytester.path / "suites" / "data.csv", "a") as handle:
        handle.write(f'"{ADVERSARIAL}",negative,film\n')
    pytester.runpytest("suites/").assert_outcomes(passed=1, failed=1)
    html = (pytester.path / "reports" / "modeltests.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"<link[^>]*href=[\"'](?!data:)", html) and "@import" not in html
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "accuracy[dev]" in html and "availability[smoke]" in html
    assert "onfusion matrix" in html
    assert "min_accuracy" in html


def test_junitxml_carries_metrics_as_properties(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.runpytest("suites/", "--junitxml=junit.xml").assert_outcomes(passed=2)
    tree = ET.parse(pytester.path / "junit.xml")
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in cases["accuracy[dev]"].iter("property")}
    assert float(properties["modeltests.accuracy"]) == pytest.approx(0.875)
    assert "modeltests.f1_macro" in properties
    assert float(properties["modeltests.threshold.min_accuracy.limit"]) == 0.5
    assert properties["modeltests.threshold.min_accuracy.held"] == "true"
    smoke = {p.get("name") for p in cases["availability[smoke]"].iter("property")}
    assert "modeltests.smoke_pass_rate" in smoke
    assert "modeltests.threshold.min_smoke_pass_rate.held" in smoke


def test_junitxml_says_which_threshold_failed(pytester: pytest.Pytester) -> None:
    make_project(pytester, FAILING_SUITE.replace("    min_accuracy: 0.95\n", "    min_accuracy: "
                                                 "0.95\n    slices:\n      - {name: film, "
                                                 "column: topic, equals: film, "
                                                 "min_accuracy: 0.5}\n"))
    pytester.runpytest("suites/", "--junitxml=junit.xml").assert_outcomes(passed=1, failed=1,
                                                                          warnings=1)
    case = {c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in case["accuracy[dev]"].iter("property")}
    assert properties["modeltests.threshold.min_accuracy.held"] == "false"
    assert float(properties["modeltests.threshold.min_accuracy.limit"]) == 0.95
    assert properties["modeltests.threshold.film.min_accuracy.held"] == "true"
    assert float(properties["modeltests.threshold.film.min_accuracy.limit"]) == 0.5


def _comparable(document: dict) -> dict:
    return {e["nodeid"]: (e["outcome"], e["metrics"], e["sample_size"],
                          [(t["metric"], t["limit"], t["held"]) for t in e["thresholds"]],
                          e["examples"]) for e in document["checks"]}


def test_xdist_gives_the_same_json_checks_as_a_serial_run(pytester: pytest.Pytester) -> None:
    make_project(pytester, FAILING_SUITE)
    write_suite(pytester, "suites/second.yaml", PASSING_SUITE.replace("name: sentiment",
                                                                      "name: second"))
    load_time = {"load_seconds", "load_rss_mb"}
    serial = pytester.runpytest("suites/")
    serial.assert_outcomes(passed=3, failed=1)
    expected = _comparable(read_report(pytester))
    parallel = pytester.runpytest("suites/", "-n", "2", "-p", "no:benchmark")
    parallel.assert_outcomes(passed=3, failed=1)
    parallel.stdout.fnmatch_lines(["*= modeltests summary =*", "modeltests: 4 checks: *"])
    got = _comparable(read_report(pytester))
    assert sorted(got) == sorted(expected)
    for nodeid, (outcome, metrics, n, thresholds, examples) in expected.items():
        other = got[nodeid]
        assert other[0] == outcome and other[2] == n and other[4] == examples, nodeid
        assert other[3] == [t for t in thresholds if t[0] not in load_time], nodeid
        assert {k: v for k, v in other[1].items() if k not in load_time} == \
            {k: v for k, v in metrics.items() if k not in load_time}, nodeid


INTERRUPTING_CONFTEST = """
from modeltests import CheckParams, CheckResult


class StopParams(CheckParams):
    kind: str = "stop"


def pytest_modeltests_register_checks(registry):
    @registry.check("stop", params=StopParams, needs_model=False)
    def run(context, params):
        raise KeyboardInterrupt
"""


def test_interrupted_run_still_writes_the_json(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE + "  - kind: stop\n  - kind: accuracy\n"
                 "    name: never\n    dataset: dev\n")
    pytester.makeconftest(INTERRUPTING_CONFTEST)
    result = pytester.runpytest("suites/", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    checks = checks_by_nodeid(read_report(pytester))
    assert [e["outcome"] for e in checks.values()] == ["passed", "passed"]
    assert "suites/sentiment.yaml::accuracy[never]" not in checks


def test_exitfirst_run_writes_what_it_has(pytester: pytest.Pytester) -> None:
    make_project(pytester, FAILING_SUITE)
    result = pytester.runpytest("suites/", "-x")
    result.assert_outcomes(failed=1, warnings=1)
    document = read_report(pytester)
    assert [e["outcome"] for e in document["checks"]] == ["failed"]
    assert (pytester.path / "reports" / "modeltests.html").is_file()


def test_crash_inside_a_check_is_a_traceback_and_the_json_is_written(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(INTERRUPTING_CONFTEST.replace("raise KeyboardInterrupt",
                                                        "return {}['missing']"))
    make_project(pytester, PASSING_SUITE + "  - kind: stop\n")
    result = pytester.runpytest("suites/")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'missing'*"])  # a real bug keeps its traceback
    entry = checks_by_nodeid(read_report(pytester))["suites/sentiment.yaml::stop[2]"]
    assert entry["outcome"] == "failed" and "KeyError" in entry["message"]


@pytest.mark.parametrize("blocker", ["file", "read-only folder"])
def test_an_unwritable_reports_folder_is_a_warning_and_keeps_the_verdicts(
        pytester: pytest.Pytester, blocker: str) -> None:
    """Issue 25, case 4: the exit code and the terminal summary are those of a run whose
    reports were written; the warning names the path."""
    make_project(pytester, FAILING_SUITE)
    reports = pytester.path / "reports"
    if blocker == "file":
        reports.write_text("not a folder\n")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        reports.mkdir()
        reports.chmod(0o555)
    try:
        result = pytester.runpytest("suites/")
    finally:
        if reports.is_dir():
            reports.chmod(0o755)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*= FAILURES =*",
        "*modeltests summary*",
        f"modeltests: WARNING: could not write {reports}/modeltests.json: * (at {reports}*); "
        "the verdicts above stand",
        f"modeltests: WARNING: could not write {reports}/modeltests.html: *",
        "*short test summary info*",
        "*1 failed, 1 passed*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_each_threshold_says_what_its_n_can_decide(pytester: pytest.Pytester) -> None:
    # Issue 26: before loosening a rule, a user sees what the gate can decide at this n. The
    # fake suite's min_accuracy 0.5 on n=8: 7 of 8 is the fewest right answers whose Wilson
    # lower bound reaches 0.5, and a binomial of 8 reaches 7 with probability 0.8 at 0.896.
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    entry = checks_by_nodeid(read_report(pytester))["suites/sentiment.yaml::accuracy[dev]"]
    [threshold] = entry["thresholds"]
    power = threshold["power"]
    assert power == {"probability": 0.8, "n": 8, "passing_value": pytest.approx(0.896, abs=5e-4),
                     "margin": 0.02, "target": pytest.approx(0.52), "n_for_margin": 4896,
                     "method": "exact binomial (Wilson gate)"}
    html = (pytester.path / "reports/modeltests.html").read_text()
    assert '<td class="num power">true &gt;= 0.896 <span class="muted">(0.520 needs ' \
           'n≈4,896)</span></td>' in html
