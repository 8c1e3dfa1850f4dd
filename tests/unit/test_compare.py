"""``modeltests compare``: setup, verdicts, and metrics beyond noise (outside the other run's
95% interval); metrics without an interval apart."""

from __future__ import annotations

import copy
from typing import Any

from modeltests.cli.compare import compare_documents


def _document() -> dict[str, Any]:
    return {
        "run": {"environment": {"python": "3.11.7", "torch_threads": 2,
                                "versions": {"torch": "2.13.0", "transformers": "4.57.6"}},
                "device": "cpu", "seeds": {"s.yaml": 0},
                "models": [{"adapter": "transformers", "source": "/m", "parameters": 100,
                            "load_seconds": 1.0}],
                "datasets": [{"suite": "s.yaml", "name": "eval", "sha256": "aa" * 32}]},
        "checks": [
            {"nodeid": "s.yaml::accuracy[eval]", "outcome": "passed",
             "metrics": {"accuracy": 0.95, "f1_macro": 0.95, "cases": 600.0},
             "intervals": {"accuracy": [0.93, 0.965]},
             "thresholds": [{"key": "min_accuracy", "limit": 0.9, "value": 0.95, "held": True}]},
            {"nodeid": "s.yaml::latency[cpu]", "outcome": "passed",
             "metrics": {"p50_ms": 100.0, "load": 5.0},
             "intervals": {"p50_ms": [100.0, 110.0]}, "thresholds": []},
        ],
    }


def test_identical_runs_have_no_changes() -> None:
    comparison = compare_documents(_document(), _document())
    assert comparison.lines() == [
        "gate weakened: no change", "gate tightened or added: no change",
        "fingerprints: no change", "setup: no change", "verdicts: no change", "metrics beyond noise (95% intervals): no "
        "change", "other metrics that moved more than 10% (no interval: noise unknown): no change"]
    assert not comparison.regressed


def test_a_move_inside_the_intervals_is_noise_and_outside_is_not() -> None:
    a, b = _document(), _document()
    b["checks"][0]["metrics"]["accuracy"] = 0.94  # inside A's interval, and A inside B's
    b["checks"][0]["intervals"]["accuracy"] = [0.92, 0.955]
    b["checks"][1]["metrics"]["p50_ms"] = 130.0  # beyond A's upper bound 110
    b["checks"][1]["intervals"]["p50_ms"] = [130.0, 140.0]
    comparison = compare_documents(a, b)
    assert comparison.metrics == ["s.yaml::latency[cpu] p50_ms: 100 -> 130 (A 100 to 110, B 130 "
                                  "to 140)"]


def test_verdicts_thresholds_and_setup_changes_are_listed() -> None:
    a, b = _document(), _document()
    b["run"]["environment"]["versions"]["torch"] = "2.14.0"
    b["run"]["datasets"][0]["sha256"] = "bb" * 32
    check = b["checks"][0]
    check["outcome"] = "failed"
    check["metrics"]["accuracy"] = 0.85
    check["intervals"]["accuracy"] = [0.82, 0.88]
    check["thresholds"][0].update(value=0.85, held=False)
    check["metrics"]["f1_macro"] = 0.80  # no interval: listed apart (-16%)
    b["checks"].append({"nodeid": "s.yaml::pruning[x]", "outcome": "passed", "metrics": {}})
    comparison = compare_documents(a, copy.deepcopy(b))
    assert comparison.setup == ["version torch: 2.13.0 -> 2.14.0",
                                "dataset s.yaml:eval: sha256 aaaaaaaaaaaa -> bbbbbbbbbbbb"]
    assert comparison.verdicts == [
        "s.yaml::accuracy[eval]: passed -> failed",
        "s.yaml::accuracy[eval]: min_accuracy no longer holds (0.950 -> 0.850, limit 0.900)",
        "s.yaml::pruning[x]: only in B (passed)"]
    assert comparison.metrics == ["s.yaml::accuracy[eval] accuracy: 0.950 -> 0.850 (A 0.930 to "
                                  "0.965, B 0.820 to 0.880)"]
    assert comparison.untested == ["s.yaml::accuracy[eval] f1_macro: 0.950 -> 0.800 (-16%)"]
    assert comparison.regressed
