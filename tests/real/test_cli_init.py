"""``modeltests init`` on a real model: it measures every check once, and the suite it writes
passes on the same model (its thresholds come from that model's own 95% intervals)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.real

REPOSITORY = Path(__file__).resolve().parents[2]


def test_init_measures_and_the_suite_it_writes_passes(tiny_model_dir: Path, eval_csv: Path,
                                                      tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-m", "modeltests", "init", str(tiny_model_dir),
                           str(eval_csv), "-o", "suites/tiny.yaml"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "modeltests: labels of" in done.stdout and "negative, positive" in done.stdout
    suite = yaml.safe_load((tmp_path / "suites" / "tiny.yaml").read_text())
    accuracy = next(c for c in suite["checks"] if c["kind"] == "accuracy")
    assert 0.5 < accuracy["min_accuracy"] < 1 and "min_worst_class_recall" in accuracy
    latency = next(c for c in suite["checks"] if c["kind"] == "latency")
    assert latency["max_p50_ms"] > 0
    # the accuracy-type gates only (the timed ones depend on this machine's load)
    run = subprocess.run([sys.executable, "-m", "pytest", "suites/tiny.yaml", "-p",
                          "no:cacheprovider", "-k", "accuracy or invariance or quantization",
                          "--modeltests-no-reports"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "3 passed" in run.stdout
