"""Benchmark: recording one run of 40 checks in the run history (``reports/history.sqlite``).

Run: ``python benchmarks/history_write.py [--rounds 30]``.

The document is the shape :func:`modeltests.reporting.json_report.build_document` writes: 40
accuracy-like checks, each with 8 metrics, 8 intervals, 2 thresholds and 5 examples. Each round
records it into a history that already holds the previous rounds' runs (a growing file, as in
CI), once with a fresh connection, as the plugin does at the end of a session; the figures are
the median and the worst time of :func:`modeltests.history.store.record_run` (git look-up
excluded, timed apart), beside the time of writing the same document as the JSON report.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from modeltests.history.store import git_revision, record_run
from modeltests.reporting.json_report import write_json

METRICS = ("accuracy", "f1_macro", "f1_micro", "f1_weighted", "precision_macro", "recall_macro",
           "worst_class_f1", "worst_class_recall")


def document(checks: int) -> dict[str, Any]:
    entries = []
    for index in range(checks):
        value = 0.8 + index / 1000
        entries.append({
            "nodeid": f"suites/sentiment.yaml::accuracy[slice{index}]", "kind": "accuracy",
            "suite": "suites/sentiment.yaml", "name": f"accuracy[slice{index}]",
            "outcome": "passed" if index % 7 else "failed", "sample_size": 600,
            "metrics": {name: value for name in METRICS},
            "intervals": {name: [value - 0.03, value + 0.03] for name in METRICS},
            "thresholds": [{"metric": name, "key": f"min_{name}", "operator": ">=",
                            "limit": 0.75, "value": value, "held": True,
                            "interval": [value - 0.03, value + 0.03]}
                           for name in ("accuracy", "f1_macro")],
            "examples": [{"text": f"example {i} " * 10, "expected": "negative",
                          "predicted": "positive", "confidence": 0.8} for i in range(5)],
            "details": {"confusion_matrix": [[250, 50], [40, 260]]}, "message": "",
            "duration_s": 1.5})
    return {"format_version": 1,
            "run": {"started": "2026-12-07T14:00:00+00:00", "models": [
                {"fingerprint": {"sha256": "a" * 64}}], "fingerprint": {"sha256": "b" * 64}},
            "summary": {"passed": checks - (checks + 6) // 7, "failed": (checks + 6) // 7},
            "checks": entries}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--checks", type=int, default=40)
    args = parser.parse_args()
    run = document(args.checks)
    with tempfile.TemporaryDirectory() as folder:
        history, report = Path(folder) / "history.sqlite", Path(folder) / "modeltests.json"
        started = time.perf_counter()
        git = git_revision(Path.cwd())
        git_s = time.perf_counter() - started
        record_s, json_s = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            record_run(history, run, git)
            record_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            write_json(run, report)
            json_s.append(time.perf_counter() - started)
        size = history.stat().st_size + sum(p.stat().st_size for p in Path(folder).glob("*-wal"))
    print(f"{args.checks} checks, {args.rounds} rounds, os.cpu_count()={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"record_run: median {statistics.median(record_s) * 1000:.1f} ms, "
          f"max {max(record_s) * 1000:.1f} ms")
    print(f"write_json of the same document: median {statistics.median(json_s) * 1000:.1f} ms")
    print(f"git rev-parse (twice): {git_s * 1000:.1f} ms")
    print(f"history file after {args.rounds} runs: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
