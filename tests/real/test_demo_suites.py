"""The main job: ``pytest suites/`` passes offline on the embedded MiniLM model and writes both
reports; ``examples/`` shows failing gates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "results.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q",
         f"--modeltests-json={report}", f"--modeltests-html={tmp_path / 'report.html'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )
    return completed, json.loads(report.read_text())


@pytest.mark.usefixtures("demo_model_dir")
def test_demo_suites_pass_and_write_both_reports(tmp_path: Path) -> None:
    completed, document = run_pytest(["suites/"], tmp_path)
    assert completed.returncode == 0, completed.stdout[-3000:]
    outcomes = {c["nodeid"]: c["outcome"] for c in document["checks"]}
    expected_not_passed = {
        "suites/sentiment.yaml::accuracy[contrast-goal]": "xfailed",
        "suites/sentiment_latency.yaml::latency[gpu]": "skipped",
    }
    for nodeid, outcome in outcomes.items():
        assert outcome == expected_not_passed.get(nodeid, "passed"), (nodeid, outcome)
    kinds = {c["kind"] for c in document["checks"]}
    assert {"availability", "accuracy", "label_balance", "robustness", "invariance",
            "directional", "behavior", "quantization", "pruning", "latency"} <= kinds
    accuracy = next(c for c in document["checks"]
                    if c["nodeid"] == "suites/sentiment.yaml::accuracy[eval]")
    assert accuracy["sample_size"] == 600
    assert all(t["held"] for t in accuracy["thresholds"])
    html = (tmp_path / "report.html").read_text()
    assert "accuracy[eval]" in html and "Confusion matrix" in html
    assert "modeltests summary" in completed.stdout


@pytest.mark.usefixtures("demo_model_dir")
def test_aggressive_pruning_example_fails_its_gate(tmp_path: Path) -> None:
    completed, document = run_pytest(["examples/aggressive_pruning.yaml"], tmp_path)
    assert completed.returncode == 1
    (check,) = document["checks"]
    assert check["outcome"] == "failed"
    broken = {t["key"] for t in check["thresholds"] if not t["held"]}
    assert "max_accuracy_drop" in broken
    assert "accuracy_drop" in completed.stdout
