"""The run history: each pytest run recorded in ``reports/history.sqlite`` (controller only),
read back by ``modeltests history list / trend / diff``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from .helpers import PASSING_SUITE, lit, make_project, read_report

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HISTORY = "reports/history.sqlite"


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def test_two_runs_are_two_rows_with_checks_metrics_thresholds(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    first = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines([f"modeltests: recorded run 1 in {pytester.path / HISTORY}"])
    document = read_report(pytester)
    second = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    second.stdout.fnmatch_lines([f"modeltests: recorded run 2 in {pytester.path / HISTORY}"])
    path = pytester.path / HISTORY
    runs = rows(path, "SELECT id, fingerprint, git_commit, git_branch, models, summary, passing, "
                      "interrupted FROM runs ORDER BY id")
    model = document["run"]["models"][0]["fingerprint"]["sha256"]
    expected = (document["run"]["fingerprint"]["sha256"], None, None, json.dumps([model]),
                '{"passed": 2}', 1, 0)
    assert runs == [(1, *expected), (2, *expected)]
    assert rows(path, "SELECT nodeid, kind, outcome FROM checks WHERE run_id = 2") == [
        ("suites/sentiment.yaml::accuracy[dev]", "accuracy", "passed"),
        ("suites/sentiment.yaml::availability[smoke]", "availability", "passed")]
    accuracy = document["checks"][0]
    low, high = accuracy["intervals"]["accuracy"]
    assert rows(path, "SELECT value, low, high FROM metrics WHERE run_id = 1 AND nodeid = "
                      "'suites/sentiment.yaml::accuracy[dev]' AND metric = 'accuracy'") == [
        (0.875, low, high)]
    threshold = accuracy["thresholds"][0]
    assert rows(path, "SELECT key, metric, operator, limit_value, value, held, low, high FROM "
                      "thresholds WHERE run_id = 1 AND key = 'min_accuracy'") == [
        ("min_accuracy", "accuracy", ">=", 0.5, 0.875, 1, *threshold["interval"])]
    stored = json.loads(rows(path, "SELECT document FROM runs WHERE id = 2")[0][0])
    written = read_report(pytester)
    for timed in (stored, written):  # pytest writes the JSON twice: the session's end, the summary
        del timed["run"]["finished"], timed["run"]["duration_s"]
    assert stored == written


def test_git_commit_and_branch_are_recorded(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    for args in (["init", "-q", "-b", "release"], ["add", "."], ["commit", "-q", "-m", "one"]):
        subprocess.run([*git, *args], cwd=pytester.path, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pytester.path, check=True,
                            capture_output=True, text=True).stdout.strip()
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert rows(pytester.path / HISTORY, "SELECT git_commit, git_branch FROM runs") == [
        (commit, "release")]


@pytest.mark.parametrize("content, reason", [
    (b"not a database at all, just text" * 100, "damaged or not a SQLite file (file is not a "
                                                "database)"),
    (None, "is a SQLite file of another application (application_id 0x0, 1 tables)"),
])
def test_a_damaged_or_foreign_file_is_a_warning_and_the_run_goes_on(
        pytester: pytest.Pytester, content: bytes | None, reason: str) -> None:
    make_project(pytester)
    path = pytester.path / HISTORY
    path.parent.mkdir()
    if content is None:
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE songs (title TEXT)")
        connection.commit()
        connection.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    problem = ("damaged or not a SQLite file (file is not a database)" if content else
               "is a SQLite file of another application (application_id 0x0, 1 tables), not a "
               "modeltests run history")
    result.stdout.fnmatch_lines([
        f"modeltests: wrote {pytester.path / 'reports/modeltests.html'}",
        lit(f"modeltests: WARNING: run history not recorded: {path} *{problem}*; the verdicts "
            "above stand")])
    assert reason.split(" (")[0] in result.stdout.str()
    assert path.read_bytes() == before


def test_no_history_option_records_nothing(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-no-history")
    result.assert_outcomes(passed=2)
    assert "recorded run" not in result.stdout.str()
    assert not (pytester.path / HISTORY).exists()


def test_the_option_and_the_ini_key_move_the_history(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makeini("[pytest]\nmodeltests_history = keep/runs.sqlite\n")
    pytester.runpytest("suites/", "-p", "no:cacheprovider").stdout.fnmatch_lines([
        f"modeltests: recorded run 1 in {pytester.path / 'keep/runs.sqlite'}"])
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-history",
                       "other.sqlite").stdout.fnmatch_lines([
                           f"modeltests: recorded run 1 in {pytester.path / 'other.sqlite'}"])
    assert not (pytester.path / HISTORY).exists()


def test_xdist_workers_record_nothing_the_controller_one_run(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE)
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=2)
    assert rows(pytester.path / HISTORY, "SELECT id FROM runs") == [(1,)]
    assert rows(pytester.path / HISTORY, "SELECT count(*) FROM checks") == [(2,)]


def modeltests(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, list[str]]:
    from modeltests.cli import main

    code = main(["--rootdir", str(root), *args])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def test_history_list_trend_and_diff(pytester: pytest.Pytester,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "a.json")
    (pytester.path / "suites" / "sentiment.yaml").write_text(
        PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.9"))
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "b.json")
    capsys.readouterr()
    a, b = (read_report(pytester, name) for name in ("a.json", "b.json"))
    started = [document["run"]["started"] for document in (a, b)]
    low, high = a["checks"][0]["intervals"]["accuracy"]
    assert modeltests(capsys, pytester.path, "history", "list") == (0, [
        f"modeltests: 2 run(s) in {pytester.path / HISTORY} (oldest first)",
        " run  started                    commit        branch  checks",
        f"   1  {started[0]}  -             -  2 passed",
        f"   2  {started[1]}  -             -  1 failed, 1 passed, 1 undecided",
    ])
    assert modeltests(capsys, pytester.path, "history", "list", "-n", "1")[1][2:] == [
        f"   2  {started[1]}  -             -  1 failed, 1 passed, 1 undecided"]
    ci = f"(95% CI {low:.3f} to {high:.3f})"
    assert modeltests(capsys, pytester.path, "history", "trend", "accuracy[dev]",
                      "accuracy") == (0, [
        "modeltests: suites/sentiment.yaml::accuracy[dev] accuracy, last 2 run(s) (oldest first)",
        f"   1  {started[0]}  -             -  0.875  {ci}",
        f"   2  {started[1]}  -             -  0.875  {ci}",
    ])
    code, diff = modeltests(capsys, pytester.path, "history", "diff", "last-passing", "last")
    compare_code, compared = modeltests(capsys, pytester.path, "compare", "a.json", "b.json")
    assert (code, compare_code) == (1, 1)  # a check that passed fails now
    assert diff[0] == f"modeltests: A = run 1 ({started[0]}), B = run 2 ({started[1]})"
    assert diff[1:] == compared[1:]
    assert "  suites/sentiment.yaml::accuracy[dev]: passed -> failed" in diff


def test_history_errors_read_as_messages(pytester: pytest.Pytester,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert modeltests(capsys, pytester.path, "history", "list") == (2, [
        f"modeltests: error: no run history at {pytester.path / HISTORY} (pytest records one "
        "per run; --modeltests-history PATH or the ini key modeltests_history moves it)"])
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider")
    capsys.readouterr()
    assert modeltests(capsys, pytester.path, "history", "diff", "1", "7") == (2, [
        f"modeltests: error: no recorded run is '7' in {pytester.path / HISTORY}"])
    assert modeltests(capsys, pytester.path, "history", "trend", "accuracy[dev]", "recall") == (
        2, ["modeltests: error: no recorded value of 'recall' for "
            "suites/sentiment.yaml::accuracy[dev] (recorded metrics: accuracy, f1_macro, f1_micro, "
            "f1_weighted, precision_macro, recall_macro, worst_class_f1, worst_class_recall)"])
    assert modeltests(capsys, pytester.path, "history", "trend", "nothing", "accuracy") == (
        2, ["modeltests: error: no recorded run has the check 'nothing' (recorded: "
            "suites/sentiment.yaml::accuracy[dev], suites/sentiment.yaml::availability[smoke])"])
