"""What changed between two runs (``modeltests compare A.json B.json``), read from their JSON.

First the gate itself (:mod:`modeltests.reporting.gate_changes`): thresholds, ``gate:`` and the
undecided policy loosened or removed (**weakened**, its own section at the top), tightened or
added, and the suite, model and run fingerprints that differ. Then three kinds of change, in the
order a reviewer needs them:

1. **Setup**: library versions, platform, CPU count, torch threads, device, seeds, the models
   loaded (adapter, source, parameters, dtype) and the datasets read (by digest). When these
   differ, a metric that moved may have moved because of them.
2. **Verdicts**: checks whose outcome changed, checks only one run has, and thresholds that held
   in one run and not in the other.
3. **Metrics beyond noise**: a metric both runs measured *with a 95% interval* changed beyond
   noise when either run's value lies outside the other run's interval (for latency
   percentiles, the one-sided interval up to the upper bound). A metric without an interval has
   no measure of its noise: it is listed apart, only when it moved by more than
   :data:`UNTESTED_CHANGE` (relative).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modeltests.reporting.gate_changes import GateChanges, gate_changes
from modeltests.result import PASSING_OUTCOMES
from modeltests.support.text import format_number

Document = dict[str, Any]
UNTESTED_CHANGE = 0.10
SETUP_MODEL_KEYS = ("adapter", "source", "architecture", "parameters", "dtype", "device")
EXIT_REGRESSED = 1
"""A check that passed in A fails or errors in B."""
EXIT_WEAKENED = 3
"""B's gate is weaker than A's (a threshold loosened or removed, a check removed or no longer
gating, a looser ``gate:`` or undecided policy), and ``--allow-weakened`` was not given. By
default, not behind a flag: a CI job that forgot the flag would let a weakened gate through
silently, which is the failure this exit code exists to prevent; a deliberate loosening is
accepted by saying so on the command line, where the job's history keeps it."""


@dataclass
class Comparison:
    """The differences between run A and run B, each as a line of text."""

    setup: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)
    regressed: bool = False
    """A check that passed in A fails or errors in B."""
    gate: GateChanges = field(default_factory=GateChanges)
    """Thresholds, gates and policy loosened, tightened, added or removed; fingerprints."""

    def lines(self) -> list[str]:
        out = self.gate.lines()
        for title, items in (("setup", self.setup), ("verdicts", self.verdicts),
                             ("metrics beyond noise (95% intervals)", self.metrics),
                             (f"other metrics that moved more than {UNTESTED_CHANGE:.0%} (no "
                              "interval: noise unknown)", self.untested)):
            out.append(f"{title}:" if items else f"{title}: no change")
            out.extend(f"  {item}" for item in items)
        return out


def compare_documents(a: Document, b: Document) -> Comparison:
    """Compare two JSON results documents (``a`` the earlier run)."""
    result = Comparison(gate=gate_changes(a, b))
    result.setup = _setup(a.get("run", {}), b.get("run", {}))
    checks_a = {c["nodeid"]: c for c in a.get("checks", [])}
    checks_b = {c["nodeid"]: c for c in b.get("checks", [])}
    for nodeid in list(checks_a) + [n for n in checks_b if n not in checks_a]:
        before, after = checks_a.get(nodeid), checks_b.get(nodeid)
        if before is None or after is None:
            result.verdicts.append(f"{nodeid}: only in {'B' if before is None else 'A'} "
                                   f"({(after or before or {}).get('outcome')})")
            continue
        _compare_check(nodeid, before, after, result)
    return result


def exit_code(comparison: Comparison, allow_weakened: bool = False) -> int:
    """:data:`EXIT_REGRESSED` when a check regressed, else :data:`EXIT_WEAKENED` when the gate
    was weakened (unless ``allow_weakened``), else 0."""
    if comparison.regressed:
        return EXIT_REGRESSED
    if comparison.gate.weakened and not allow_weakened:
        return EXIT_WEAKENED
    return 0


def weakened_notice(comparison: Comparison, allow_weakened: bool) -> str | None:
    """The last line when the gate was weakened: what the exit code means and how to accept."""
    if not comparison.gate.weakened:
        return None
    if allow_weakened:
        return (f"modeltests: the gate was weakened ({len(comparison.gate.weakened)} change(s)), "
                "accepted by --allow-weakened")
    return (f"modeltests: the gate was weakened ({len(comparison.gate.weakened)} change(s)): "
            f"exit {EXIT_WEAKENED}; if this is intended, run again with --allow-weakened")


def print_comparison(a: Document, b: Document, allow_weakened: bool) -> int:
    """Print what changed from ``a`` to ``b`` (and the weakened notice); returns the exit
    code (``modeltests compare`` and ``modeltests history diff``)."""
    comparison = compare_documents(a, b)
    for line in comparison.lines():
        print(line)
    notice = weakened_notice(comparison, allow_weakened)
    if notice:
        print(notice)
    return exit_code(comparison, allow_weakened)


def _setup(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    lines = _differences("", _flat_environment(a), _flat_environment(b))
    for key in ("device", "seeds"):
        if a.get(key) != b.get(key):
            lines.append(f"{key}: {_shown(a.get(key))} -> {_shown(b.get(key))}")
    models_a, models_b = _models(a), _models(b)
    for model in models_a:
        if model not in models_b:
            lines.append(f"model only in A: {_shown(model)}")
    for model in models_b:
        if model not in models_a:
            lines.append(f"model only in B: {_shown(model)}")
    data_a, data_b = _datasets(a), _datasets(b)
    for name in sorted(set(data_a) | set(data_b)):
        if data_a.get(name) != data_b.get(name):
            lines.append(f"dataset {name}: sha256 {str(data_a.get(name))[:12]} -> "
                         f"{str(data_b.get(name))[:12]}")
    return lines


def _flat_environment(run: dict[str, Any]) -> dict[str, Any]:
    environment = dict(run.get("environment") or {})
    versions = environment.pop("versions", None) or {}
    environment.update({f"version {k}": v for k, v in versions.items()})
    return environment


def _models(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: m.get(k) for k in SETUP_MODEL_KEYS if m.get(k) is not None}
            for m in run.get("models") or []]


def _datasets(run: dict[str, Any]) -> dict[str, Any]:
    return {f"{d.get('suite')}:{d.get('name')}": d.get("sha256") for d in run.get("datasets") or []}


def _differences(prefix: str, a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{prefix}{key}: {_shown(a.get(key))} -> {_shown(b.get(key))}"
            for key in list(a) + [k for k in b if k not in a] if a.get(key) != b.get(key)]


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return format_number(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _compare_check(nodeid: str, a: dict[str, Any], b: dict[str, Any], out: Comparison) -> None:
    if a.get("outcome") != b.get("outcome"):
        out.verdicts.append(f"{nodeid}: {a.get('outcome')} -> {b.get('outcome')}")
        if a.get("outcome") in PASSING_OUTCOMES and b.get("outcome") not in PASSING_OUTCOMES:
            out.regressed = True
    held_a = {t["key"]: t for t in a.get("thresholds", [])}
    for t in b.get("thresholds", []):
        old = held_a.get(t["key"])
        if old is not None and old.get("held") != t.get("held"):
            verb = "now holds" if t.get("held") else "no longer holds"
            out.verdicts.append(f"{nodeid}: {t['key']} {verb} ({_shown(old.get('value'))} -> "
                                f"{_shown(t.get('value'))}, limit {_shown(t.get('limit'))})")
    metrics_a, metrics_b = a.get("metrics") or {}, b.get("metrics") or {}
    intervals_a, intervals_b = a.get("intervals") or {}, b.get("intervals") or {}
    for name, value_b in metrics_b.items():
        value_a = metrics_a.get(name)
        if not isinstance(value_a, (int, float)) or not isinstance(value_b, (int, float)):
            continue
        line = _metric_change(nodeid, name, value_a, value_b, intervals_a.get(name),
                              intervals_b.get(name))
        if line is None:
            continue
        (out.metrics if intervals_a.get(name) and intervals_b.get(name) else
         out.untested).append(line)


def _metric_change(nodeid: str, name: str, a: float, b: float, interval_a: Any,
                   interval_b: Any) -> str | None:
    shown = f"{nodeid} {name}: {format_number(a)} -> {format_number(b)}"
    if interval_a and interval_b:
        outside = not _inside(b, interval_a) or not _inside(a, interval_b)
        if not outside:
            return None
        return (f"{shown} (A {_interval(interval_a)}, B {_interval(interval_b)})")
    if a == b or (a and abs(b - a) / abs(a) <= UNTESTED_CHANGE) or (not a and abs(b) < 1e-9):
        return None
    return f"{shown} ({(b - a) / a:+.0%})" if a else shown


def _inside(value: float, interval: Any) -> bool:
    low, high = float(interval[0]), float(interval[1])
    return low - 1e-12 <= value <= high + 1e-12


def _interval(interval: Any) -> str:
    return f"{format_number(float(interval[0]))} to {format_number(float(interval[1]))}"


# -- input -------------------------------------------------------------------------------------
EXIT_SAME = 0
"""Compared; no check that passed in A fails in B, and the gate was not weakened."""
EXIT_INPUT_ERROR = 2
"""Bad usage or input: unreadable, not a results file of a version this modeltests reads, or
two runs of different suites (argparse's usage errors exit 2 too)."""
EXIT_NOTHING_TO_COMPARE = 4
"""Both files are valid results, but no check ran in both."""


def input_problem(document: Any, name: str) -> str | None:
    """Why ``document`` (read from ``name``) is not a results file ``compare`` can read, or
    None. Checked before comparing, so that valid JSON of the wrong shape is a message, not a
    traceback (and never passes for a comparison)."""
    from modeltests.reporting.json_report import FORMAT_VERSION

    if not isinstance(document, dict):
        return f"{name} is not a modeltests JSON results file (a {type(document).__name__}, " \
               "not an object)"
    version = document.get("format_version")
    if version is None:
        return f"{name} is not a modeltests JSON results file (no 'format_version')"
    if version != FORMAT_VERSION:
        return (f"{name} has format_version {version!r}; this modeltests reads "
                f"{FORMAT_VERSION} (compare files written by the same modeltests version)")
    checks = document.get("checks")
    if not isinstance(checks, list):
        return f"{name}: 'checks' must be a list (got {type(checks).__name__})"
    for index, check in enumerate(checks):
        if not (isinstance(check, dict) and isinstance(check.get("nodeid"), str)
                and isinstance(check.get("outcome"), str)):
            return f"{name}: checks[{index}] needs a 'nodeid' and an 'outcome' (strings)"
    if not isinstance(document.get("run", {}), dict):
        return f"{name}: 'run' must be an object"
    return None


def suites_problem(a: Document, b: Document) -> str | None:
    """Two runs that share no suite are not two runs of one gate: comparing them would list
    every check as 'only in A' / 'only in B' and exit as if nothing regressed."""
    suites_a, suites_b = _suites(a), _suites(b)
    if suites_a and suites_b and not suites_a & suites_b:
        return (f"A and B ran different suites (A: {', '.join(sorted(suites_a))}; B: "
                f"{', '.join(sorted(suites_b))}): compare two runs of the same suites")
    return None


def nothing_in_common(a: Document, b: Document) -> bool:
    """No check ran in both runs (either has none, or their node ids differ entirely)."""
    nodeids_a = {c["nodeid"] for c in a["checks"]}
    return not nodeids_a & {c["nodeid"] for c in b["checks"]}


def _suites(document: Document) -> set[str]:
    return {str(c.get("suite")) for c in document["checks"] if c.get("suite")}
