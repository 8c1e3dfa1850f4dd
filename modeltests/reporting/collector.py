"""One JSON-ready entry per test, built from pytest's reports (so it survives pytest-xdist).

Entries travel on ``report.modeltests``: xdist serialises a report's extra attributes, so the
controller receives the same entries as a serial run, and only the controller writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from modeltests.checks.base import CheckResult



def entry_for(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
              result: CheckResult | None, user_record: Callable[[], dict] | None
              ) -> dict[str, Any] | None:
    """The JSON entry for ``item`` after one phase, or None when there is nothing to record."""
    from modeltests.collect import CheckItem, SuiteErrorItem

    is_check = isinstance(item, (CheckItem, SuiteErrorItem))
    if not is_check and user_record is None:
        return None
    if report.when == "teardown" and not report.failed:
        return None
    if report.when == "setup" and report.passed:
        return None
    entry: dict[str, Any] = {
        "nodeid": report.nodeid,
        "suite": _suite_path(item),
        "kind": getattr(getattr(item, "entry", None), "kind", None) or
        ("suite" if is_check else "python"),
        "name": item.name,
        "line": item.reportinfo()[1] + 1 if is_check else None,
        "outcome": outcome_word(report),
        "when": report.when,
        "metrics": {},
        "thresholds": [],
        "sample_size": None,
        "duration_s": round(float(report.duration), 4),
        "message": _message(report),
        "examples": [],
        "details": {},
        "warnings": [],
        "intervals": {},
        "description": _description(item),
    }
    if result is not None:
        entry.update(_result_fields(result))
    if user_record is not None:
        entry.update(user_record())
    return entry


def _result_fields(result: CheckResult) -> dict[str, Any]:
    return {
        "metrics": {k: _number(v) for k, v in result.metrics.items()},
        "thresholds": [t.to_json() for t in result.thresholds],
        "sample_size": result.sample_size,
        "examples": result.examples,
        "details": result.details,
        "warnings": list(result.warnings),
        "intervals": {k: list(v) for k, v in result.intervals.items()},
        "headline": result.key_metric(),
    }


def _number(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    return value


def outcome_word(report: pytest.TestReport) -> str:
    """pytest's word for the outcome: passed, failed, error, skipped, xfailed, xpassed."""
    if hasattr(report, "wasxfail"):
        return "xpassed" if report.passed or report.failed else "xfailed"
    if report.when != "call" and report.failed:
        return "error"
    return report.outcome


def _message(report: pytest.TestReport) -> str:
    if report.passed and not hasattr(report, "wasxfail"):
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = report.longreprtext or ""
    if hasattr(report, "wasxfail") and not text:
        return f"expected failure: {report.wasxfail}"
    return text.strip()


def _suite_path(item: pytest.Item) -> str | None:
    suite = getattr(item, "suite", None)
    path = suite.path if suite is not None else getattr(item, "path", None)
    if path is None:
        return None
    try:
        return str(path.relative_to(item.config.rootpath))
    except ValueError:
        return str(path)


def _description(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "entry", None), "params", None)
    return getattr(params, "description", None)


@dataclass
class ResultCollector:
    """Keeps the latest entry per node id, in the order tests ran."""

    started: float
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, entry: dict[str, Any]) -> None:
        previous = self.entries.get(entry["nodeid"])
        if previous is not None and previous["outcome"] in ("failed", "error") \
                and entry["when"] == "teardown":
            return
        if previous is not None and entry["when"] == "teardown":
            entry = {**previous, "outcome": "error", "message": entry["message"]}
        self.entries[entry["nodeid"]] = entry

    def ordered(self) -> list[dict[str, Any]]:
        return list(self.entries.values())

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
        return counts
