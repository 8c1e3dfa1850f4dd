"""How the gate changed between two runs (:mod:`modeltests.reporting.gate_changes`): every
threshold loosened, removed, tightened or added, every ``gate:`` and undecided-policy change,
and the fingerprints that differ; a weakened gate first, in its own section."""

from __future__ import annotations

from typing import Any

from modeltests.cli.compare import EXIT_WEAKENED, compare_documents, exit_code, weakened_notice
from modeltests.reporting.gate_changes import gate_changes
from modeltests.reporting.html import render_html


def _threshold(key: str, limit: float, gate: str = "estimate") -> dict[str, Any]:
    bare = key.rsplit(".", 1)[-1]
    return {"metric": bare[4:], "key": key, "operator": ">=" if bare.startswith("min_") else "<=",
            "limit": limit, "value": 0.95, "held": True, "gate": gate}


def _document() -> dict[str, Any]:
    return {
        "run": {"undecided_policy": "fail",
                "models": [{"adapter": "transformers", "source": "/m",
                            "fingerprint": {"sha256": "c3" * 32}}],
                "fingerprint": {"suites": {"s.yaml": "51" * 32}, "sha256": "e1" * 32}},
        "checks": [
            {"nodeid": "s.yaml::accuracy[eval]", "outcome": "passed",
             "thresholds": [_threshold("min_accuracy", 0.9), _threshold("max_ece", 0.05),
                            _threshold("mobile.min_accuracy", 0.85)]},
            {"nodeid": "s.yaml::robustness[typos]", "outcome": "passed",
             "thresholds": [_threshold("min_pass_rate", 0.8)]},
            {"nodeid": "s.yaml::latency[cpu]", "outcome": "passed",
             "thresholds": [_threshold("max_p95_ms", 50.0)]},
        ],
    }


def test_identical_gates_have_no_changes() -> None:
    changes = gate_changes(_document(), _document())
    assert changes.lines() == ["gate weakened: no change", "gate tightened or added: no change",
                               "fingerprints: no change"]


def test_a_loosened_or_removed_threshold_is_weakened_and_listed_first() -> None:
    a, b = _document(), _document()
    accuracy = b["checks"][0]
    accuracy["thresholds"] = [_threshold("min_accuracy", 0.85, gate="estimate"),
                              _threshold("mobile.min_accuracy", 0.9)]  # max_ece deleted
    b["checks"][2]["thresholds"] = [_threshold("max_p95_ms", 80.0)]
    del b["checks"][1]
    b["run"]["undecided_policy"] = "gate"
    comparison = compare_documents(a, b)
    assert comparison.lines()[:8] == [
        "GATE WEAKENED (5): B lets through what A did not check or stopped",
        "  undecided thresholds: fail -> gate (an undecided threshold now passes on its "
        "estimate)",
        "  s.yaml::accuracy[eval]: min_accuracy loosened 0.900 -> 0.850",
        "  s.yaml::accuracy[eval]: max_ece removed (was 0.050)",
        "  s.yaml::robustness[typos]: check removed (passed; it gated min_pass_rate 0.800)",
        "  s.yaml::latency[cpu]: max_p95_ms loosened 50 -> 80",
        "gate tightened or added:",
        "  s.yaml::accuracy[eval]: mobile.min_accuracy tightened 0.850 -> 0.900",
    ]
    assert not comparison.regressed
    assert exit_code(comparison) == EXIT_WEAKENED == 3
    assert exit_code(comparison, allow_weakened=True) == 0
    assert weakened_notice(comparison, False) == (
        "modeltests: the gate was weakened (5 change(s)): exit 3; if this is intended, run "
        "again with --allow-weakened")


def test_gate_policy_skips_xfail_waivers_and_fingerprints() -> None:
    a, b = _document(), _document()
    a["checks"][0]["thresholds"][0]["gate"] = "bound"  # bound -> estimate loosens
    b["checks"][0]["thresholds"].pop(1)
    b["checks"][0]["waived"] = {"ece": "calibration turned off"}
    b["checks"][1].update(outcome="xfailed")
    b["checks"][2].update(outcome="skipped", thresholds=[])
    b["checks"].append({"nodeid": "s.yaml::coverage[eval]", "outcome": "passed",
                        "thresholds": [_threshold("min_coverage", 0.5)]})
    b["run"]["models"][0]["fingerprint"]["sha256"] = "d4" * 32
    b["run"]["fingerprint"] = {"suites": {"s.yaml": "52" * 32}, "sha256": "e2" * 32}
    changes = gate_changes(a, b)
    assert changes.weakened == [
        "s.yaml::accuracy[eval]: min_accuracy gate: bound -> estimate",
        "s.yaml::accuracy[eval]: max_ece removed (was 0.050; waived: calibration turned off)",
        "s.yaml::robustness[typos]: no longer gates: passed -> xfailed (expected to fail: its "
        "failure no longer fails the run)",
        "s.yaml::latency[cpu]: no longer gates: passed -> skipped",
    ]
    assert changes.tightened == ["s.yaml::coverage[eval]: check added (passed; it gated "
                                 "min_coverage 0.500)"]
    assert changes.fingerprints == [
        "suite s.yaml: sha256 515151515151 -> 525252525252",
        "model transformers /m: sha256 c3c3c3c3c3c3 -> d4d4d4d4d4d4",
        "run fingerprint: sha256 e1e1e1e1e1e1 -> e2e2e2e2e2e2"]


def test_the_html_given_a_previous_run_shows_the_weakened_gate_at_the_top() -> None:
    a, b = _document(), _document()
    b["checks"][0]["thresholds"][0]["limit"] = 0.5
    for doc in (a, b):
        doc["summary"] = {"passed": 3}
    html = render_html(b, previous=a, previous_name="last-release.json")
    weakened = html.index("Gate weakened since last-release.json: 1 change(s)")
    assert weakened < html.index("<h2>Summary</h2>")
    assert "<li>s.yaml::accuracy[eval]: min_accuracy loosened 0.900 -&gt; 0.500</li>" in html
    assert "Gate weakened" not in render_html(b)
    assert "Gate not weakened since last-release.json." in render_html(a, a, "last-release.json")
