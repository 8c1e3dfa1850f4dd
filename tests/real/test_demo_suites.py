"""The main job: ``pytest suites/`` passes offline on the embedded MiniLM model and writes both
reports; ``examples/`` shows failing gates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import modeltests

ROOT = Path(__file__).resolve().parents[2]
TIMED = ("_ms", "seconds", "throughput", "speedup", "rss", "scaling_", "cuda_mb", "_per_s",
         "ratio_at_longest", "crossover_length",  # latency's compare_to: ratios of timings
         "p99_ratio")  # load's compare_to


def timed(metric: str) -> bool:
    """Timings and memory readings differ between two runs; everything else must not."""
    return any(part in metric for part in TIMED)

pytestmark = pytest.mark.real


def run_pytest(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "results.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q",
         f"--modeltests-json={report}", f"--modeltests-html={tmp_path / 'report.html'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )
    return completed, json.loads(report.read_text())


@pytest.fixture(scope="module")
def demo_run(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """``pytest suites/`` once for this module: its output, its JSON and its folder."""
    folder = tmp_path_factory.mktemp("demo")
    completed, document = run_pytest(["suites/"], folder)
    return completed, document, folder


def test_demo_suites_pass_and_write_both_reports(demo_run: tuple) -> None:
    completed, document, tmp_path = demo_run
    assert completed.returncode == 0, completed.stdout[-3000:]
    outcomes = {c["nodeid"]: c["outcome"] for c in document["checks"]}
    from modeltests.perturb.textattack import wordnet_available

    expected_not_passed = {
        "suites/sentiment.yaml::accuracy[contrast-goal]": "xfailed",
        "suites/sentiment_latency.yaml::latency[gpu]": "skipped",
    }
    if not wordnet_available():  # PWWS says `missing_resource: skip`
        expected_not_passed["suites/sentiment_robustness.yaml::robustness[pwws]"] = "skipped"
    for nodeid, outcome in outcomes.items():
        assert outcome == expected_not_passed.get(nodeid, "passed"), (nodeid, outcome)
    kinds = {c["kind"] for c in document["checks"]}
    assert {"availability", "accuracy", "label_balance", "robustness", "invariance",
            "directional", "behavior", "quantization", "pruning", "latency",
            "regression", "entities", "entity_invariance"} <= kinds
    accuracy = next(c for c in document["checks"]
                    if c["nodeid"] == "suites/sentiment.yaml::accuracy[eval]")
    assert accuracy["sample_size"] == 600
    assert all(t["held"] for t in accuracy["thresholds"])
    html = (tmp_path / "report.html").read_text()
    assert "accuracy[eval]" in html and "Confusion matrix" in html
    assert "modeltests summary" in completed.stdout


# The suites the API run repeats: every kind family but the slow ones (attacks, serving under
# load, compression sweeps, the 135M model), which would double CI's longest test.
API_SUITES = ("sentiment.yaml", "sentiment_calibration.yaml", "sentiment_regression.yaml",
              "ner.yaml", "pairs.yaml", "lm_tiny.yaml")


def test_run_api_gives_the_same_verdicts_and_metrics_as_pytest(demo_run: tuple) -> None:
    """``modeltests.Session`` in this process against ``pytest suites/`` in another, on
    ``API_SUITES``: the same checks, outcomes, thresholds and every metric that is not a
    timing."""
    _, document, _ = demo_run
    ours = {}
    with modeltests.Session(ROOT, paths=[ROOT / "suites"]) as session:
        for name in API_SUITES:
            ours.update({check.entry["nodeid"]: check
                         for check in session.run(ROOT / "suites" / name).checks})
    expected = [c for c in document["checks"]
                if c["nodeid"].split("::")[0] in {f"suites/{n}" for n in API_SUITES}]
    assert sorted(ours) == sorted(c["nodeid"] for c in expected)
    for entry in expected:
        check = ours[entry["nodeid"]]
        if any(timed(t["metric"]) for t in entry["thresholds"]):
            # A timing gate may fall either way on a busy shared machine; only timings may.
            broken = [t["metric"] for t in check.thresholds if not t["held"]]
            assert all(timed(m) for m in broken), (entry["nodeid"], broken)
        else:
            assert check.outcome == entry["outcome"], entry["nodeid"]
        untimed = {k: v for k, v in entry["metrics"].items() if not timed(k)}
        assert {k: check.metrics[k] for k in untimed} == untimed, entry["nodeid"]
        assert [t["key"] for t in check.thresholds] == [t["key"] for t in entry["thresholds"]]
        if not any(timed(t["metric"]) for t in entry["thresholds"]):
            assert [t["held"] for t in check.thresholds] == [t["held"] for t in entry["thresholds"]]


@pytest.mark.usefixtures("demo_model_dir")
def test_aggressive_pruning_example_fails_its_gate(tmp_path: Path) -> None:
    completed, document = run_pytest(["examples/aggressive_pruning.yaml"], tmp_path)
    assert completed.returncode == 1
    (check,) = document["checks"]
    assert check["outcome"] == "failed"
    broken = {t["key"] for t in check["thresholds"] if not t["held"]}
    assert "max_accuracy_drop" in broken
    assert "accuracy_drop" in completed.stdout


@pytest.mark.usefixtures("demo_model_dir")
def test_short_window_regression_example_fails_on_the_long_slice(tmp_path: Path) -> None:
    completed, document = run_pytest(["examples/regression_short_window.yaml"], tmp_path)
    assert completed.returncode == 1
    (check,) = document["checks"]
    assert check["outcome"] == "failed"
    broken = {t["key"] for t in check["thresholds"] if not t["held"]}
    assert {"max_accuracy_drop", "long.max_accuracy_drop"} <= broken
    assert check["details"]["multiple_comparisons"]["significant_drops"] == ["long"]
    assert "Holm-adjusted" in completed.stdout
