"""Benchmark: recording one run of 40 checks in the run history (``reports/history.sqlite``).

Run: ``python benchmarks/history_write.py [--rounds 30]``.

The document is the shape :func:`modeltests.reporting.json_report.build_document` writes: 40
accuracy-like checks, each with 8 metrics, 8 intervals, 2 thresholds and 5 examples. Each round
records it into a history that already holds the previous rounds' runs (a growing file, as in
CI), once with a fresh connection, as the plugin does at the end of a session; the figures are
the median and the worst time of :func:`modeltests.history.store.record_run` (git look-up
excluded, timed apart), beside the time of writing the same document as the JSON report.

``--document reports/modeltests.json`` also records a real run's JSON report (a demo run's) the
same way and prints its cost as a share of that run's own ``duration_s``.

``--read-runs 1000`` then fills a history with that many runs of the 40-check document and
times what the HTML report reads from it (:func:`modeltests.history.read.check_trends`: every
gated metric of every check, 80 trends) over the last 20 runs (the report's default) and over
the last 1,000, and the HTML rendering with those trends, each the median of 5 reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import json
from modeltests.history.read import check_trends
from modeltests.history.store import git_revision, record_run
from modeltests.reporting.html import render_html
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
    parser.add_argument("--document", type=Path, default=None,
                        help="a real run's JSON report (a demo run's) to record as well")
    parser.add_argument("--read-runs", type=int, default=0,
                        help="fill a history with this many runs and time reading trends")
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
    if args.document is not None:
        real_run(args.document, args.rounds, git)
    if args.read_runs:
        read_trends(run, args.read_runs)



def real_run(path: Path, rounds: int, git: dict[str, str | None]) -> None:
    real = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.sqlite"
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            record_run(history, real, git)
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    duration = float(real["run"]["duration_s"])
    print(f"{path} ({path.stat().st_size / 1e3:.0f} kB, {len(real['checks'])} checks, run "
          f"{duration:.1f} s): record_run median {median * 1000:.1f} ms, max "
          f"{max(times) * 1000:.1f} ms = {100 * median / duration:.3f}% of the run "
          f"(with git rev-parse: {100 * (median + _git_s()) / duration:.3f}%)")


def _git_s() -> float:
    started = time.perf_counter()
    git_revision(Path.cwd())
    return time.perf_counter() - started


def read_trends(run: dict[str, Any], count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.sqlite"
        started = time.perf_counter()
        for index in range(count):
            record_run(history, run, {"commit": f"{index:040x}", "branch": "main"})
        fill_s = time.perf_counter() - started
        size = history.stat().st_size / 1e6
        for last in (20, count):
            reads, renders = [], []
            for _ in range(5):
                started = time.perf_counter()
                trends = check_trends(history, run, last)
                reads.append(time.perf_counter() - started)
                started = time.perf_counter()
                render_html(run, trends=trends)
                renders.append(time.perf_counter() - started)
            points = sum(len(t.points) for found in trends.values() for t in found)
            print(f"check_trends over the last {last} of {count} runs ({size:.0f} MB, filled in "
                  f"{fill_s:.1f} s): {sum(len(v) for v in trends.values())} trends, {points} "
                  f"points, read median {statistics.median(reads) * 1000:.1f} ms (max "
                  f"{max(reads) * 1000:.1f} ms); render_html with them median "
                  f"{statistics.median(renders) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
