"""How the gate itself changed between two runs, read from their JSON results documents.

A release gate that can be weakened without a trace is the worst failure a gate can have, so
every change to what decides a verdict is listed, and the ones that let more through are set
apart as *weakened*:

* a threshold loosened (``min_*`` lowered, ``max_*`` raised) or removed (deleted, or waived),
  a check removed, a check that gated and no longer does (now skipped, or expected to fail),
  a ``gate:`` changed from ``bound`` to ``estimate``, and the run's undecided policy changed
  from ``fail`` to ``gate``: **weakened**;
* the opposite of each (tightened, added, ``estimate`` -> ``bound``, ``gate`` -> ``fail``):
  **tightened**;
* the suite files, models and the whole run's fingerprint (``run.fingerprint``) that differ:
  **fingerprints** (a dataset's digest is in ``modeltests compare``'s setup).

Thresholds are compared only between runs where the check ran (an error or a skip records
none): a check that errors in B is a regression, which the verdicts already show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modeltests.support.text import format_number

Document = dict[str, Any]
Check = dict[str, Any]
RAN = ("passed", "failed", "xfailed", "xpassed")
"""Outcomes of a check whose thresholds were evaluated (and so recorded)."""
GATING = ("passed", "failed", "error", "xpassed")
"""Outcomes of a check whose failure fails the run."""
STRICTER_GATE = {"estimate": 0, "bound": 1}
STRICTER_POLICY = {"gate": 0, "fail": 1}


@dataclass
class GateChanges:
    """Every change to the gate between run A (earlier) and run B, one line of text each."""

    weakened: list[str] = field(default_factory=list)
    tightened: list[str] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The three sections, the weakened one first, as ``modeltests compare`` prints them."""
        out = [f"GATE WEAKENED ({len(self.weakened)}): B lets through what A did not check or "
               "stopped"] if self.weakened else ["gate weakened: no change"]
        out.extend(f"  {line}" for line in self.weakened)
        for title, items in (("gate tightened or added", self.tightened),
                             ("fingerprints", self.fingerprints)):
            out.append(f"{title}:" if items else f"{title}: no change")
            out.extend(f"  {line}" for line in items)
        return out


def gate_changes(a: Document, b: Document) -> GateChanges:
    """The changes to the gate from ``a`` (the earlier run) to ``b``."""
    changes = GateChanges()
    _policy(a.get("run") or {}, b.get("run") or {}, changes)
    checks_a = {c["nodeid"]: c for c in a.get("checks", [])}
    checks_b = {c["nodeid"]: c for c in b.get("checks", [])}
    for nodeid, before in checks_a.items():
        after = checks_b.get(nodeid)
        if after is None:
            changes.weakened.append(f"{nodeid}: check removed ({_gated(before)})")
        else:
            _check(nodeid, before, after, changes)
    for nodeid, after in checks_b.items():
        if nodeid not in checks_a:
            changes.tightened.append(f"{nodeid}: check added ({_gated(after)})")
    changes.fingerprints = fingerprint_changes(a.get("run") or {}, b.get("run") or {})
    return changes


def _policy(a: dict[str, Any], b: dict[str, Any], changes: GateChanges) -> None:
    before, after = a.get("undecided_policy"), b.get("undecided_policy")
    if before is None or after is None or before == after:
        return
    looser = STRICTER_POLICY.get(str(after), 0) < STRICTER_POLICY.get(str(before), 0)
    meaning = ("an undecided threshold now passes on its estimate" if after == "gate" else
               "an undecided threshold now fails")
    (changes.weakened if looser else changes.tightened).append(
        f"undecided thresholds: {before} -> {after} ({meaning})")


def _gated(check: Check) -> str:
    thresholds = check.get("thresholds") or []
    if not thresholds:
        return f"{check.get('outcome')}, no threshold recorded"
    return f"{check.get('outcome')}; it gated " + ", ".join(_limit(t) for t in thresholds)


def _limit(threshold: dict[str, Any]) -> str:
    return f"{threshold.get('key')} {format_number(float(threshold['limit']))}"


def _check(nodeid: str, a: Check, b: Check, changes: GateChanges) -> None:
    outcome_a, outcome_b = a.get("outcome"), b.get("outcome")
    if outcome_a in GATING and outcome_b not in GATING:
        reason = (" (expected to fail: its failure no longer fails the run)"
                  if outcome_b == "xfailed" else "")
        changes.weakened.append(f"{nodeid}: no longer gates: {outcome_a} -> {outcome_b}{reason}")
    elif outcome_b in GATING and outcome_a not in GATING:
        changes.tightened.append(f"{nodeid}: gates again: {outcome_a} -> {outcome_b}")
    if outcome_a in RAN and outcome_b in RAN:
        _thresholds(nodeid, a, b, changes)


def _thresholds(nodeid: str, a: Check, b: Check, changes: GateChanges) -> None:
    before = {t["key"]: t for t in a.get("thresholds") or []}
    after = {t["key"]: t for t in b.get("thresholds") or []}
    waived = b.get("waived") or {}
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            reason = waived.get(old.get("metric"))
            note = f"; waived: {reason}" if reason else ""
            changes.weakened.append(f"{nodeid}: {key} removed (was "
                                    f"{format_number(float(old['limit']))}{note})")
            continue
        _limit_change(f"{nodeid}: {key}", old, new, changes)
        _gate_change(f"{nodeid}: {key}", old, new, changes)
    for key, new in after.items():
        if key not in before:
            changes.tightened.append(f"{nodeid}: {key} added "
                                     f"({format_number(float(new['limit']))})")


def _limit_change(where: str, old: dict[str, Any], new: dict[str, Any],
                  changes: GateChanges) -> None:
    limit_a, limit_b = float(old["limit"]), float(new["limit"])
    if limit_a == limit_b:
        return
    minimum = new.get("operator", ">=" if "min_" in str(new.get("key")) else "<=") == ">="
    looser = limit_b < limit_a if minimum else limit_b > limit_a
    shown = f"{format_number(limit_a)} -> {format_number(limit_b)}"
    if looser:
        changes.weakened.append(f"{where} loosened {shown}")
    else:
        changes.tightened.append(f"{where} tightened {shown}")


def _gate_change(where: str, old: dict[str, Any], new: dict[str, Any],
                 changes: GateChanges) -> None:
    gate_a, gate_b = old.get("gate"), new.get("gate")
    if gate_a is None or gate_b is None or gate_a == gate_b:
        return
    looser = STRICTER_GATE.get(str(gate_b), 0) < STRICTER_GATE.get(str(gate_a), 0)
    (changes.weakened if looser else changes.tightened).append(
        f"{where} gate: {gate_a} -> {gate_b}")


def fingerprint_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Suite files and models whose digest differs, and the run's fingerprint when it does."""
    lines = []
    suites_a = (a.get("fingerprint") or {}).get("suites") or {}
    suites_b = (b.get("fingerprint") or {}).get("suites") or {}
    for path in sorted(set(suites_a) | set(suites_b)):
        if suites_a.get(path) != suites_b.get(path):
            lines.append(f"suite {path}: sha256 {_short(suites_a.get(path))} -> "
                         f"{_short(suites_b.get(path))}")
    models_a, models_b = _model_digests(a), _model_digests(b)
    for name in list(models_a) + [n for n in models_b if n not in models_a]:
        if models_a.get(name) != models_b.get(name):
            lines.append(f"model {name}: sha256 {_short(models_a.get(name))} -> "
                         f"{_short(models_b.get(name))}")
    run_a = (a.get("fingerprint") or {}).get("sha256")
    run_b = (b.get("fingerprint") or {}).get("sha256")
    if run_a != run_b:
        lines.append(f"run fingerprint: sha256 {_short(run_a)} -> {_short(run_b)}")
    return lines


def _model_digests(run: dict[str, Any]) -> dict[str, Any]:
    return {f"{m.get('adapter')} {m.get('source')}": (m.get("fingerprint") or {}).get("sha256")
            for m in run.get("models") or []}


def _short(digest: Any) -> str:
    return "(none)" if digest is None else str(digest)[:12]
