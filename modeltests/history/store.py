"""Writing a run into the history file, and opening one safely.

One file, many writers: two CI jobs on one runner may finish at the same moment. SQLite's
write-ahead log lets readers go on while one writer writes, a busy timeout makes the second
writer wait instead of failing, and each run is one ``BEGIN IMMEDIATE`` transaction: a run is
in the file whole or not at all. A file that is not ours (no SQLite, another application's
database, a damaged page) raises :class:`HistoryError`; the plugin turns it into a warning and
the run goes on.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any, Iterator

from modeltests.errors import ModelTestsError
from modeltests.result import PASSING_OUTCOMES
from modeltests.reporting.json_report import document_text
from modeltests.support.environment import machine_digest

APPLICATION_ID = 0x4D544854
"""``PRAGMA application_id`` of a modeltests history ("MTHT"): a foreign SQLite file is told
apart before anything is written into it."""
SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT, finished TEXT, duration_s REAL,
    fingerprint TEXT, git_commit TEXT, git_branch TEXT,
    models TEXT NOT NULL,           -- JSON list of the models' sha256
    summary TEXT NOT NULL,          -- JSON {outcome: count}
    passing INTEGER NOT NULL,       -- every check passed, xfailed or skipped, and not interrupted
    interrupted INTEGER NOT NULL,
    document TEXT NOT NULL          -- the whole JSON document (modeltests compare reads it)
);
CREATE TABLE IF NOT EXISTS machines (  -- apart from runs: a column after the document would be
    run_id INTEGER PRIMARY KEY,        -- read through the document's overflow pages
    machine TEXT                       -- digest of the platform, CPU and GPU (machine_fingerprint)
);
CREATE TABLE IF NOT EXISTS checks (
    run_id INTEGER NOT NULL REFERENCES runs(id), nodeid TEXT NOT NULL,
    kind TEXT, outcome TEXT, PRIMARY KEY (run_id, nodeid)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL, nodeid TEXT NOT NULL, metric TEXT NOT NULL,
    value REAL, low REAL, high REAL, PRIMARY KEY (run_id, nodeid, metric)
);
CREATE TABLE IF NOT EXISTS thresholds (
    run_id INTEGER NOT NULL, nodeid TEXT NOT NULL, key TEXT NOT NULL, metric TEXT,
    operator TEXT, limit_value REAL, value REAL, held INTEGER, low REAL, high REAL
);
-- Covering indexes: a metric's trend over 1,000 runs reads them alone, never the tables.
CREATE INDEX IF NOT EXISTS metrics_trend ON metrics (nodeid, metric, run_id, value, low, high);
CREATE INDEX IF NOT EXISTS thresholds_trend ON thresholds (nodeid, key, run_id, held);
CREATE INDEX IF NOT EXISTS checks_trend ON checks (nodeid, run_id, outcome);
"""



class HistoryError(ModelTestsError):
    """The history file cannot be used: not SQLite, damaged, or another application's."""


def connect(path: Path, create: bool) -> sqlite3.Connection:
    """An open history (``create``: make the file and its tables when missing); raises
    :class:`HistoryError` for a file that is not a modeltests history."""
    if not create and not path.is_file():
        raise HistoryError(f"no run history at {path} (pytest records one per run; "
                           "--modeltests-history PATH or the ini key modeltests_history moves it)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot open {path}: {exc}") from None
    try:
        _check_file(connection, path)
        if create:
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last run.
            connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise HistoryError(f"{path} is not a modeltests run history: damaged or not a SQLite "
                           f"file ({exc})") from None
    except HistoryError:
        connection.close()
        raise
    return connection


def _check_file(connection: sqlite3.Connection, path: Path) -> None:
    application = connection.execute("PRAGMA application_id").fetchone()[0]
    tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application == APPLICATION_ID or (application == 0 and tables == 0):
        return
    raise HistoryError(f"{path} is a SQLite file of another application (application_id "
                       f"{application:#x}, {tables} tables), not a modeltests run history")


def record_run(path: Path, document: dict[str, Any], git: dict[str, str | None]) -> int:
    """Add one run (the JSON report's ``document``) in one transaction; returns its run id."""
    text = document_text(document)  # NaN and infinities made JSON-safe, as the report has them
    with closing(connect(path, create=True)) as connection:
        try:
            connection.execute("BEGIN IMMEDIATE")
            _create_schema(connection)
            run_id = _insert_run(connection, document, text, git)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise HistoryError(f"could not record the run in {path}: {exc}") from None
    return run_id


def _create_schema(connection: sqlite3.Connection) -> None:
    # Version 1 lacks the machines table and the covering indexes, version 2 the checks'
    # covering index: IF NOT EXISTS adds them.
    if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    for statement in SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _insert_run(connection: sqlite3.Connection, document: dict[str, Any], text: str,
                git: dict[str, str | None]) -> int:
    run = document.get("run") or {}
    checks = document.get("checks") or []
    interrupted = bool(run.get("interrupted"))
    passing = bool(checks) and not interrupted and all(c.get("outcome") in PASSING_OUTCOMES
                                                       for c in checks)
    models = [(m.get("fingerprint") or {}).get("sha256") for m in run.get("models") or []]
    cursor = connection.execute(
        "INSERT INTO runs (started, finished, duration_s, fingerprint, git_commit, git_branch, "
        "models, summary, passing, interrupted, document) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (run.get("started"), run.get("finished"), run.get("duration_s"),
         (run.get("fingerprint") or {}).get("sha256"), git.get("commit"), git.get("branch"),
         json.dumps(models), json.dumps(document.get("summary") or {}, sort_keys=True),
         int(passing), int(interrupted), text))
    run_id = int(cursor.lastrowid or 0)
    connection.execute("INSERT INTO machines VALUES (?,?)", (run_id, machine_fingerprint(document)))
    connection.executemany("INSERT OR REPLACE INTO checks VALUES (?,?,?,?)",
                           [(run_id, c.get("nodeid"), c.get("kind"), c.get("outcome"))
                            for c in checks])
    connection.executemany("INSERT OR REPLACE INTO metrics VALUES (?,?,?,?,?,?)",
                           list(_metric_rows(run_id, checks)))
    connection.executemany("INSERT INTO thresholds VALUES (?,?,?,?,?,?,?,?,?,?)",
                           list(_threshold_rows(run_id, checks)))
    return run_id


def machine_fingerprint(document: dict[str, Any]) -> str | None:
    """The run's machine kind (:func:`~modeltests.support.environment.machine_digest` of the
    report's ``run.environment``; None when the run recorded none)."""
    return machine_digest((document.get("run") or {}).get("environment") or {})


def _metric_rows(run_id: int, checks: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for check in checks:
        intervals = check.get("intervals") or {}
        for name, value in (check.get("metrics") or {}).items():
            number = _number(value)
            if number is None:
                continue
            low, high = _ends(intervals.get(name))
            yield (run_id, check.get("nodeid"), name, number, low, high)


def _threshold_rows(run_id: int, checks: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for check in checks:
        for threshold in check.get("thresholds") or []:
            low, high = _ends(threshold.get("interval"))
            held = threshold.get("held")
            yield (run_id, check.get("nodeid"), threshold.get("key"), threshold.get("metric"),
                   threshold.get("operator"), _number(threshold.get("limit")),
                   _number(threshold.get("value")), None if held is None else int(bool(held)),
                   low, high)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _ends(interval: Any) -> tuple[float | None, float | None]:
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        return _number(interval[0]), _number(interval[1])
    return None, None


def git_revision(folder: Path) -> dict[str, str | None]:
    """The git commit and branch ``folder`` is at (``None`` each outside a git work tree, with
    no git installed, or on a detached HEAD for the branch)."""
    commit = _git(folder, "rev-parse", "HEAD")
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD") if commit else None
    return {"commit": commit, "branch": None if branch == "HEAD" else branch}


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
