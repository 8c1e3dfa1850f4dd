"""The demo's timing-sensitive checks stay green with CPU burners beside them (issue 25).

Four busy-loop processes (``stress-ng --cpu 4`` where it is installed) run for the whole
session of the demo's speed checks: the serving suite's ``load`` (ratios to the in-process model,
timed in alternating rounds) and its cold start, the latency suites (relative gates or limits
that only catch a hang), and the availability checks that carry a load-time limit. The models
are built before the burners start: a build's time is not a verdict (``build_seconds`` is
reported apart from ``load_seconds``). The command, the burners, torch's thread count and the
duration are printed (``-s`` shows them) for the measurements in the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = [
    pytest.mark.real,
    # Shown green on 2026-12-07 (stress-ng --cpu 4 beside two other agents' work on 2 cores,
    # load average 8.3 at the end: its 9 checks passed in 395 s). Opt-in because it takes six and a half
    # minutes of CI's 30; run it after changing a timed check or a demo limit.
    pytest.mark.skipif(os.environ.get("MODELTESTS_BUSY_MACHINE_TEST") != "1",
                       reason="opt in with MODELTESTS_BUSY_MACHINE_TEST=1 (6-7 minutes; issue 25)"),
]

ROOT = Path(__file__).resolve().parents[2]
BURNERS = 4
# The timing-sensitive checks of the demo suites, and nothing else (keeps the test lean).
SELECTED = [
    "suites/sentiment_serving.yaml::availability[served]",
    "suites/sentiment_serving.yaml::load[under-load]",
    "suites/sentiment_latency.yaml::latency[cpu]",
    "suites/sentiment.yaml::availability[smoke]",
    "suites/pairs.yaml::availability[smoke]",
    "suites/pairs.yaml::latency[cpu-pairs]",
    "suites/bigbird.yaml::availability[smoke]",
    "suites/bigbird.yaml::latency[against-bert]",
    "suites/lm_tiny.yaml::latency[tokens]",
]


@pytest.fixture
def burners() -> Iterator[str]:
    """Four CPU-bound processes for the duration of the test: what was started, in words."""
    stress = shutil.which("stress-ng")
    if stress:
        process = subprocess.Popen([stress, "--cpu", str(BURNERS), "--quiet"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        yield f"stress-ng --cpu {BURNERS}"
        os.killpg(process.pid, 9)
        process.wait()
        return
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(BURNERS)]
    yield f"{BURNERS} Python busy loops"
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


@pytest.fixture(scope="module")
def built_models(demo_model_dir: Path) -> None:
    """Every built-in model the selected suites use, built before the burners start."""
    from modeltests.demo.bigbird import ensure_wide_model
    from modeltests.demo.gpt_tiny import ensure_gpt_tiny
    from modeltests.demo.pairs import ensure_pair_bert

    ensure_wide_model("bigbird")
    ensure_wide_model("bert")
    ensure_pair_bert()
    ensure_gpt_tiny()


def test_the_demo_speed_checks_pass_beside_four_cpu_burners(
        built_models: None, burners: str, tmp_path: Path) -> None:
    report = tmp_path / "results.json"
    command = [sys.executable, "-m", "pytest", *SELECTED, "-p", "no:cacheprovider", "-q",
               f"--modeltests-json={report}", f"--modeltests-html={tmp_path / 'report.html'}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=1500)
    seconds = time.perf_counter() - started
    document = json.loads(report.read_text())
    threads = sorted({str(c.get("torch_threads")) for c in document["checks"]})
    print(f"\nbusy machine: {burners} beside `{' '.join(command[1:4])} ...` on "
          f"{os.cpu_count()} CPUs; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; torch threads {', '.join(threads)}; {seconds:.0f} s")
    for check in document["checks"]:
        shown = {k: round(v, 3) for k, v in check["metrics"].items()
                 if k in ("throughput_ratio", "p99_ratio", "load_seconds", "p50_ms",
                          "server_cold_start_seconds", "generator_ceiling_throughput",
                          "ratio_at_longest")}
        print(f"  {check['nodeid']}: {check['outcome']} {shown}")
    assert completed.returncode == 0, completed.stdout[-4000:]
    outcomes = {c["nodeid"]: c["outcome"] for c in document["checks"]}
    assert set(outcomes.values()) == {"passed"}, outcomes
    assert {nodeid for nodeid in outcomes if "load[" in nodeid} == {
        "suites/sentiment_serving.yaml::load[under-load]"}
