"""Entries from pytest's test reports: the pytest side of :mod:`modeltests.reporting.entries`."""

from __future__ import annotations

from typing import Any

import pytest

from modeltests.reporting.entries import Entry, ItemInfo, build_entry
from modeltests.result import CheckResult


def entry_from_report(info: ItemInfo, report: pytest.TestReport, result: CheckResult | None,
                      user_fields: dict[str, Any] | None) -> Entry | None:
    """The entry after one phase of a pytest run, or None when the phase adds nothing."""
    if report.when == "teardown" and not report.failed:
        return None
    if report.when == "setup" and report.passed:
        return None
    return build_entry(info, nodeid=report.nodeid, outcome=outcome_word(report),
                       when=str(report.when), duration=report.duration,
                       message=_message(report), result=result, user_fields=user_fields)


def outcome_word(report: pytest.TestReport) -> str:
    """pytest's word for the outcome: passed, failed, error, skipped, xfailed, xpassed."""
    if hasattr(report, "wasxfail"):
        return "xpassed" if report.passed or report.failed else "xfailed"
    if report.when != "call" and report.failed:
        return "error"
    return str(report.outcome)


def _message(report: pytest.TestReport) -> str:
    if report.passed and not hasattr(report, "wasxfail"):
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = report.longreprtext or ""
    if hasattr(report, "wasxfail") and not text:
        return f"expected failure: {report.wasxfail}"
    return text.strip()
