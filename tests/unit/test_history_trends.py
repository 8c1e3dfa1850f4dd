"""Trends in the HTML report, read from the run history: each gated metric over the last runs
of its check; a dynamic metric (latency) only over runs on the same machine kind. Also the
unpaired interval a history gate falls back to."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from modeltests.history.read import check_trends
from modeltests.history.store import machine_fingerprint, record_run
from modeltests.reporting.html import render_html
from modeltests.stats.paired import unpaired_difference_interval
from modeltests.stats.proportions import wilson_interval

NODE = "suites/s.yaml::latency[cpu]"
MACHINE_A = {"platform": "Linux-a", "machine": "x86_64", "processor": "", "cpu_count": 2}
MACHINE_B = {**MACHINE_A, "cpu_count": 16}


def document(p95: float, accuracy: float, environment: dict[str, Any]) -> dict[str, Any]:
    checks = [
        {"nodeid": NODE, "suite": "suites/s.yaml", "name": "latency[cpu]", "kind": "latency",
         "outcome": "passed", "metrics": {"p95_ms": p95}, "intervals": {"p95_ms": [p95, p95 + 1]},
         "thresholds": [{"metric": "p95_ms", "key": "max_p95_ms", "operator": "<=",
                         "limit": 50.0, "value": p95, "held": p95 <= 50, "scope": None}]},
        {"nodeid": "suites/s.yaml::accuracy[dev]", "suite": "suites/s.yaml",
         "name": "accuracy[dev]", "kind": "accuracy", "outcome": "passed",
         "metrics": {"accuracy": accuracy, "f1_macro": 0.5},
         "intervals": {"accuracy": [accuracy - 0.05, accuracy + 0.05]},
         "thresholds": [{"metric": "accuracy", "key": "min_accuracy", "operator": ">=",
                         "limit": 0.8, "value": accuracy, "held": accuracy >= 0.8},
                        {"metric": "accuracy", "key": "negation.min_accuracy", "operator": ">=",
                         "limit": 0.7, "value": 0.75, "held": True, "scope": "negation"}]}]
    return {"format_version": 1, "run": {"started": "2026-12-07T10:00:00+00:00",
                                         "environment": environment, "models": []},
            "summary": {"passed": 2}, "checks": checks}


def test_trends_keep_every_run_of_a_static_metric_and_one_machine_of_a_dynamic_one(
        tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    runs = [(40.0, 0.9, MACHINE_A), (90.0, 0.85, MACHINE_B), (42.0, 0.78, MACHINE_A)]
    for p95, accuracy, machine in runs:
        record_run(history, document(p95, accuracy, machine), {"commit": "c0ffee" * 6,
                                                              "branch": "main"})
    now = document(44.0, 0.88, MACHINE_A)
    trends = check_trends(history, now, last=3)  # the last 2 recorded runs and this one
    [latency] = trends[NODE]
    machine = machine_fingerprint(now)
    assert (latency.metric, latency.dynamic, latency.limit) == ("p95_ms", True, 50.0)
    assert [(p.run, p.value, p.machine) for p in latency.points] == [
        ("3", 42.0, machine), ("this run", 44.0, machine)]
    assert latency.note == (f"only runs on this machine kind ({machine}); 1 on other machines "
                            "left out")
    [accuracy] = trends["suites/s.yaml::accuracy[dev]"]  # the scoped slice threshold has none
    assert [(p.run, p.value, p.held, p.low) for p in accuracy.points] == [
        ("2", 0.85, True, 0.85 - 0.05), ("3", 0.78, False, 0.78 - 0.05),
        ("this run", 0.88, True, 0.88 - 0.05)]
    assert not accuracy.dynamic and accuracy.note == ""

    html = render_html(now, trends=trends)
    tables = re.findall(r'<div class="trend" data-metric="(\w+)">.*?</table></div>', html, re.S)
    assert tables == ["p95_ms", "accuracy"]
    assert "(a dynamic indicator: only runs on this machine kind" in html
    assert html.count('<table class="trend-runs">') == 2
    assert '<svg class="chart" viewBox="0 0 540 220"' in html


def test_the_unpaired_interval_of_two_wilson_intervals_is_newcombes() -> None:
    """Newcombe (1998), method 10, example (a): 56/70 against 48/80 gives 0.0524 to 0.3339."""
    first, second = wilson_interval(56, 70), wilson_interval(48, 80)
    low, high = unpaired_difference_interval(56 / 70, first, 48 / 80, second)
    assert math.isclose(low, 0.0524, abs_tol=5e-5) and math.isclose(high, 0.3339, abs_tol=5e-5)


def test_a_schema_1_history_gains_the_machines_table(tmp_path: Path) -> None:
    import sqlite3

    from modeltests.history.store import APPLICATION_ID, SCHEMA

    history = tmp_path / "history.sqlite"
    connection = sqlite3.connect(history)
    version_1 = re.sub(r"CREATE TABLE IF NOT EXISTS machines.*?\);", "", SCHEMA, flags=re.S)
    connection.executescript(version_1.split("-- Covering indexes")[0]
        + f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=1;")
    connection.close()
    now = document(44.0, 0.88, MACHINE_A)
    assert [p.run for p in check_trends(history, now, last=5)[NODE][0].points] == ["this run"]
    record_run(history, now, {})
    connection = sqlite3.connect(history)
    try:
        assert connection.execute("SELECT run_id, machine FROM machines").fetchall() == [
            (1, machine_fingerprint(now))]
        assert connection.execute("PRAGMA user_version").fetchone() == (3,)
    finally:
        connection.close()


def test_a_latency_gate_compares_only_with_a_baseline_on_the_same_machine() -> None:
    from modeltests.result import CheckResult, HistoryGate
    from modeltests.session.past import Baseline, gate_against_past

    gate = HistoryGate(max_rise={"p95_ms": 5})
    result = CheckResult(metrics={"p95_ms": 44.0}, intervals={"p95_ms": (44.0, 46.0)})
    past = {"metrics": {"p95_ms": 40.0}, "intervals": {"p95_ms": [40.0, 41.0]}}
    [other] = gate_against_past(gate, result, Baseline("run 3", past, "aaaaaaaaaaaa"),
                                "estimate", "latency", "bbbbbbbbbbbb")
    assert (other.key, other.state, other.value, other.note) == (
        "history_gate.max_rise.p95_ms", "undecided", None,
        "no baseline: run 3 ran on another machine kind (aaaaaaaaaaaa, this one bbbbbbbbbbbb); "
        "p95_ms compares only on the same one")
    [same] = gate_against_past(gate, result, Baseline("run 3", past, "bbbbbbbbbbbb"),
                               "estimate", "latency", "bbbbbbbbbbbb")
    low, high = unpaired_difference_interval(44.0, (44.0, 46.0), 40.0, (40.0, 41.0))
    assert (same.metric, same.value, same.interval, same.state) == (
        "p95_ms_rise", 4.0, (low, high), "undecided")  # 95% interval 2.9 to 6.2 contains 5


def reference_points(recorded: list[dict[str, Any]], commits: list[str], nodeid: str,
                     metric: str, key: str, last: int) -> list[tuple[Any, ...]]:
    """The trend's recorded points read straight from the documents, the slow obvious way."""
    points = []
    for run_id, (run, commit) in enumerate(zip(recorded, commits), start=1):
        entry = next((c for c in run["checks"] if c["nodeid"] == nodeid), None)
        if entry is None or metric not in entry["metrics"]:
            continue
        low, high = (entry.get("intervals") or {}).get(metric) or (None, None)
        held = next((t["held"] for t in entry["thresholds"] if t["key"] == key), None)
        points.append((str(run_id), run["run"]["started"], commit, entry["metrics"][metric],
                       low, high, held, machine_fingerprint(run), entry["outcome"]))
    return points[-(last - 1):]


def test_trends_read_from_the_history_equal_those_read_from_the_documents(
        tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    recorded, commits = [], []
    for index in range(9):
        run = document(40.0 + index, 0.75 + index / 50, MACHINE_A if index % 3 else MACHINE_B)
        run["run"]["started"] = f"2026-12-07T10:0{index}:00+00:00"
        if index == 4:  # a run without the accuracy check
            run["checks"] = run["checks"][:1]
        if index == 6:  # the check failed although min_accuracy held: another threshold broke
            run["checks"][1]["outcome"] = "failed"
            del run["checks"][1]["intervals"]
        recorded.append(run)
        commits.append(f"{index:040x}")
        record_run(history, run, {"commit": commits[-1], "branch": "main"})
    now = document(44.0, 0.9, MACHINE_A)
    accuracy = "suites/s.yaml::accuracy[dev]"
    for last in (3, 6, 100):
        [trend] = check_trends(history, now, last=last)[accuracy]
        assert [tuple(p) for p in trend.points[:-1]] == reference_points(
            recorded, commits, accuracy, "accuracy", "min_accuracy", last)
        assert trend.points[-1].run == "this run" and trend.points[-1].outcome == "passed"
