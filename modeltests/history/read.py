"""Reading the history: the runs, one metric's trend, one run's whole document."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from modeltests.history.store import HistoryError, connect, machine_fingerprint
from modeltests.reporting.trends import Trend, gated_metrics, same_machine
from modeltests.result import is_dynamic
from modeltests.reporting.trends import TrendPoint as ReportPoint

RUN_REFERENCES = ("last", "last-passing")


@dataclass(frozen=True)
class RunRow:
    """One recorded run, as ``modeltests history list`` shows it."""

    id: int
    started: str | None
    commit: str | None
    branch: str | None
    summary: dict[str, int]
    passing: bool
    interrupted: bool

    def describe(self) -> str:
        """``12 (2026-12-07T16:40:00+00:00, commit 1a2b3c4d5e6f)``."""
        commit = f", commit {self.commit[:12]}" if self.commit else ""
        return f"{self.id} ({self.started}{commit})"


@dataclass(frozen=True)
class TrendPoint:
    """One run's value of a metric, with its 95% interval when the check computed one."""

    run: RunRow
    value: float
    low: float | None
    high: float | None


RUN_COLUMNS = "runs.id, started, git_commit, git_branch, summary, passing, interrupted"


def _row(values: tuple[Any, ...]) -> RunRow:
    return RunRow(id=values[0], started=values[1], commit=values[2], branch=values[3],
                  summary=json.loads(values[4]), passing=bool(values[5]),
                  interrupted=bool(values[6]))


def list_runs(path: Path, last: int) -> list[RunRow]:
    """The ``last`` most recent runs, oldest first."""
    with closing(connect(path, create=False)) as connection:
        rows = connection.execute(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?",
                                  (last,)).fetchall()
    return [_row(values) for values in reversed(rows)]


def resolve_check(path: Path, check: str) -> str:
    """The node id ``check`` names: a whole node id, or what follows ``::`` when only one
    recorded check ends so (``accuracy[dev]``)."""
    with closing(connect(path, create=False)) as connection:
        nodeids = [str(row[0]) for row in connection.execute("SELECT DISTINCT nodeid FROM checks")]
    if check in nodeids:
        return check
    matches = sorted(n for n in nodeids if n.endswith(f"::{check}"))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise HistoryError(f"check {check!r} is ambiguous in {path}: "
                           f"{', '.join(matches)}; name one by its node id")
    raise HistoryError(f"no recorded run has the check {check!r} (recorded: "
                       f"{', '.join(sorted(nodeids)) or 'none'})")


def trend(path: Path, nodeid: str, metric: str, last: int) -> list[TrendPoint]:
    """``metric`` of check ``nodeid`` over the ``last`` runs that measured it, oldest first."""
    with closing(connect(path, create=False)) as connection:
        rows = connection.execute(
            f"SELECT {RUN_COLUMNS}, value, low, high FROM metrics JOIN runs ON runs.id = run_id "
            "WHERE nodeid = ? AND metric = ? ORDER BY runs.id DESC LIMIT ?",
            (nodeid, metric, last)).fetchall()
        if not rows:
            known = [r[0] for r in connection.execute(
                "SELECT DISTINCT metric FROM metrics WHERE nodeid = ? ORDER BY metric",
                (nodeid,))]
            raise HistoryError(f"no recorded value of {metric!r} for {nodeid} (recorded "
                               f"metrics: {', '.join(known) or 'none'})")
    return [TrendPoint(_row(values[:7]), values[7], values[8], values[9])
            for values in reversed(rows)]


def load_document(path: Path, reference: str) -> tuple[RunRow, dict[str, Any]]:
    """The run ``reference`` names (a run id, ``last`` or ``last-passing``) and its JSON
    document."""
    args: tuple[int, ...] = ()
    if reference == "last":
        where = ""
    elif reference == "last-passing":
        where = "WHERE passing = 1"
    elif reference.isdigit():
        where, args = "WHERE runs.id = ?", (int(reference),)
    else:
        raise HistoryError(f"a run is named by its id or {' or '.join(RUN_REFERENCES)}, "
                           f"got {reference!r}")
    with closing(connect(path, create=False)) as connection:
        found = connection.execute(f"SELECT {RUN_COLUMNS}, document FROM runs {where} "
                                   "ORDER BY runs.id DESC LIMIT 1", args).fetchone()
    if found is None:
        raise HistoryError(f"no recorded run is {reference!r} in {path}")
    document: dict[str, Any] = json.loads(found[7])
    return _row(found[:7]), document


GIT_COMMIT = re.compile(r"[0-9a-f]{7,40}")


def find_check(path: Path, suite: str, name: str, reference: str,
               counts: Callable[[dict[str, Any]], bool]
               ) -> tuple[RunRow, dict[str, Any], str | None] | str:
    """The latest recorded run that ``reference`` names and that has check ``name`` of
    ``suite``, with that check's entry and the run's machine kind; or why there is none (a
    sentence).

    ``reference``: ``last-passing`` (the latest run whose entry of the check ``counts`` accepts),
    ``last``, a run id, or a git commit (7 to 40 hex digits, a prefix) or branch recorded with
    a run."""
    if not path.is_file():
        return f"no run history at {path} yet"
    where, args = _where(reference)
    suffix = f"::{name}"
    with closing(connect(path, create=False)) as connection:
        candidates = connection.execute(
            f"SELECT {RUN_COLUMNS}, document FROM checks JOIN runs ON runs.id = checks.run_id "
            f"WHERE substr(checks.nodeid, -?) = ? AND runs.interrupted = 0 {where} "
            "ORDER BY runs.id DESC", (len(suffix), suffix, *args))
        for values in candidates:
            document = json.loads(values[7])
            entry = next((c for c in document.get("checks") or []
                          if c.get("suite") == suite and c.get("name") == name), None)
            if entry is None:
                continue
            if reference == "last-passing" and not counts(entry):
                continue
            return _row(values[:7]), entry, machine_fingerprint(document)
    what = {"last": "recorded", "last-passing": "passing"}.get(reference)
    if what is not None:
        return f"no {what} run of {suite}::{name} in {path}"
    return f"no run of {suite}::{name} recorded as {reference!r} in {path}"


def _where(reference: str) -> tuple[str, tuple[Any, ...]]:
    if reference in RUN_REFERENCES:
        return "", ()
    if reference.isdigit():
        return "AND runs.id = ?", (int(reference),)
    if GIT_COMMIT.fullmatch(reference):
        return "AND (substr(runs.git_commit, 1, ?) = ? OR runs.git_branch = ?)", (
            len(reference), reference, reference)
    return "AND runs.git_branch = ?", (reference,)


def check_trends(path: Path, document: dict[str, Any], last: int, recorded_as: int = 0
                 ) -> dict[str, list[Trend]]:
    """For each check of ``document`` (the run being reported; ``recorded_as``, its run id
    once recorded), each gated metric over the ``last - 1`` latest recorded runs of the same
    check and this run, oldest first; a dynamic metric (latency, throughput) only over runs on
    this run's machine kind.

    Two queries per metric read its values and whether its threshold held, one per check its
    verdicts, all through covering indexes; the runs' rows hold whole documents, so their facts
    (time, commit, machine) are read once each, never per metric."""
    wanted = [(entry, threshold) for entry in document.get("checks") or []
              for threshold in gated_metrics(entry)]
    with closing(connect(path, create=False)) as connection:
        values = [_values(connection, entry, threshold, last, recorded_as)
                  for entry, threshold in wanted]
        oldest = min((rows[-1][0] for rows, _ in values if rows), default=0)
        outcomes = {nodeid: _outcomes(connection, nodeid, oldest)
                    for nodeid in {str(entry.get("nodeid")) for entry, _ in wanted}}
        runs = _runs(connection, oldest)
    machine = machine_fingerprint(document)
    trends: dict[str, list[Trend]] = {}
    for (entry, threshold), found in zip(wanted, values):
        nodeid = str(entry.get("nodeid"))
        points = _points(found, runs, outcomes[nodeid])
        trends.setdefault(nodeid, []).append(_trend(entry, threshold, points, machine))
    return trends


HELD: dict[int | None, bool | None] = {None: None, 0: False, 1: True}


Values = tuple[list[tuple[Any, ...]], dict[int, int]]
"""A metric's (run id, value, low, high) rows, newest first, and its threshold's stored held
(0 or 1) by run id."""


def _values(connection: sqlite3.Connection, entry: dict[str, Any], threshold: dict[str, Any],
            last: int, recorded_as: int) -> Values:
    """The metric's values in the latest ``last - 1`` recorded runs of the check, and whether
    its threshold held in each."""
    nodeid = entry.get("nodeid")
    rows = connection.execute(
        "SELECT run_id, value, low, high FROM metrics WHERE nodeid = ? AND metric = ? "
        "AND run_id != ? ORDER BY run_id DESC LIMIT ?",
        (nodeid, threshold["metric"], recorded_as, max(last - 1, 0))).fetchall()
    if not rows:
        return [], {}
    held = dict(connection.execute(
        "SELECT run_id, held FROM thresholds WHERE nodeid = ? AND key = ? AND run_id >= ?",
        (nodeid, threshold.get("key"), rows[-1][0])).fetchall())
    return rows, held


def _outcomes(connection: sqlite3.Connection, nodeid: str, oldest: int) -> dict[int, str]:
    """The check's verdict in each run from run ``oldest`` on."""
    rows = connection.execute("SELECT run_id, outcome FROM checks WHERE nodeid = ? "
                              "AND run_id >= ?", (nodeid, oldest))
    return dict(rows.fetchall())


def _runs(connection: sqlite3.Connection, oldest: int
          ) -> dict[int, tuple[str, str | None, str | None, str | None]]:
    """(run id as text, started, git commit, machine) of the runs from ``oldest`` on."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    machine = "machines.machine" if "machines" in tables else "NULL"  # schema 1 kept none
    join = "LEFT JOIN machines ON machines.run_id = runs.id" if "machines" in tables else ""
    rows = connection.execute(f"SELECT runs.id, started, git_commit, {machine} FROM runs {join} "
                              "WHERE runs.id >= ?", (oldest,))
    return {row[0]: (str(row[0]), row[1], row[2], row[3]) for row in rows}


def _points(values: Values, runs: dict[int, tuple[str, str | None, str | None, str | None]],
            outcomes: dict[int, str]) -> list[ReportPoint]:
    """The points of ``values``, oldest first; the named tuples are made through
    ``tuple.__new__``: a trend over 1,000 runs x 80 metrics makes 80,000 of them."""
    rows, held = values
    new, unknown, state = tuple.__new__, (None, None, None, None), held.get
    rows.reverse()
    return [new(ReportPoint, (run[0] or str(i), run[1], run[2], value, low, high,
                              HELD[state(i)], run[3], outcomes.get(i)))
            for i, value, low, high in rows for run in (runs.get(i, unknown),)]


def _trend(entry: dict[str, Any], threshold: dict[str, Any], points: list[ReportPoint],
           machine: str | None) -> Trend:
    metric = str(threshold["metric"])
    interval = (entry.get("intervals") or {}).get(metric) or (None, None)
    points.append(ReportPoint("this run", None, None, float(entry["metrics"][metric]),
                              interval[0], interval[1], threshold.get("held"), machine,
                              entry.get("outcome")))
    dynamic = is_dynamic(entry.get("kind"), metric)
    note = ""
    if dynamic:
        points, note = same_machine(points, machine)
    return Trend(metric, str(threshold.get("key")), str(threshold.get("operator")),
                 threshold.get("limit"), dynamic, points, note)
