"""One JSON-ready entry per check or user test: the record every report is built from.

The pytest path builds entries from test reports (:mod:`modeltests.plugin.entries`); they travel on
``report.modeltests``, which pytest-xdist serialises, so the controller receives the same entries
as a serial run and only the controller writes files. :func:`modeltests.run` builds the same
entries with :func:`build_entry` directly. Reporting never sees pytest items: collection stashes
an :class:`ItemInfo` for each, and that is all an entry needs to know about the item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modeltests.result import CheckResult

Entry = dict[str, Any]

MAX_EXAMPLE_CHARS = 1000
"""A text in a report example longer than this is clipped, with its full length noted."""


@dataclass(frozen=True)
class ItemInfo:
    """What the reports say about a test: its suite (as shown), kind, name and YAML line.

    ``kind`` is the check kind, ``"suite"`` for a suite that could not be read, or ``"python"``
    for a plain Python test that used the ``modeltests`` fixture.
    """

    suite: str | None
    kind: str
    name: str
    line: int | None = None
    description: str | None = None


def build_entry(info: ItemInfo, *, nodeid: str, outcome: str, when: str, duration: float,
                message: str, result: CheckResult | None = None,
                user_fields: dict[str, Any] | None = None) -> Entry:
    """The JSON entry of one test (format: docs/reference/json-report.md)."""
    entry: Entry = {
        "nodeid": nodeid,
        "suite": info.suite,
        "kind": info.kind,
        "name": info.name,
        "line": info.line,
        "outcome": outcome,
        "when": when,
        "metrics": {},
        "thresholds": [],
        "sample_size": None,
        "duration_s": round(float(duration), 4),
        "message": message,
        "examples": [],
        "details": {},
        "warnings": [],
        "intervals": {},
        "description": info.description,
    }
    if result is not None:
        entry.update(_result_fields(result))
    if user_fields is not None:
        entry.update(user_fields)
    return entry


def _result_fields(result: CheckResult) -> Entry:
    fields = _outcome_fields(result)
    return fields | {
        "metrics": {k: json_number(v) for k, v in result.metrics.items()},
        "thresholds": [t.to_json() for t in result.thresholds],
        "sample_size": result.sample_size,
        "examples": [clip_example(example) for example in result.examples],
        "details": result.details,
        "warnings": list(result.warnings),
        "intervals": {k: list(v) for k, v in result.intervals.items()},
        "interval_methods": dict(result.interval_methods),
        "headline": result.key_metric(),
        "undecided": [t.key for t in result.undecided()],
        "waived": dict(result.waived),
        "torch_threads": result.torch_threads,
    }


def _outcome_fields(result: CheckResult) -> Entry:
    """``outcomes``: the per-example outcomes behind a metric as a string of 0 and 1 (a later
    run's ``history_gate`` pairs with them), with the dataset's sha256; only when kept."""
    if not result.outcomes:
        return {}
    return {"outcomes": {"dataset_sha256": result.outcomes_digest,
                         "per_example": {metric: "".join("1" if b else "0" for b in bits)
                                         for metric, bits in result.outcomes.items()}}}


def clip_example(example: dict[str, Any]) -> dict[str, Any]:
    """``example`` with every text longer than :data:`MAX_EXAMPLE_CHARS` clipped: a 1 MB input
    must not be copied whole into the JSON and the HTML."""
    return {key: _clip_long(value) for key, value in example.items()}


def _clip_long(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_EXAMPLE_CHARS:
        return f"{value[:MAX_EXAMPLE_CHARS]}… [clipped: {len(value):,} characters in all]"
    return value


def json_number(value: Any) -> Any:
    """JSON has no NaN or infinity: NaN becomes null, infinities the strings "inf" / "-inf"."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    return value


@dataclass
class ResultCollector:
    """Keeps the latest entry per node id, in the order tests ran."""

    started: float
    entries: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        previous = self.entries.get(entry["nodeid"])
        if previous is not None and previous["outcome"] in ("failed", "error") \
                and entry["when"] == "teardown":
            return
        if previous is not None and entry["when"] == "teardown":
            entry = {**previous, "outcome": "error", "message": entry["message"]}
        self.entries[entry["nodeid"]] = entry

    def ordered(self) -> list[Entry]:
        return list(self.entries.values())

    def counts(self) -> dict[str, int]:
        """Checks by outcome, and ``undecided``: how many (of any outcome) had a threshold their
        sample could not decide."""
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
        undecided = sum(1 for entry in self.entries.values() if entry.get("undecided"))
        if undecided:
            counts["undecided"] = undecided
        return counts
