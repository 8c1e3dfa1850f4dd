"""Benchmark: a whole pytest run on an empty prediction cache, then the same run again unchanged.

Run: ``python benchmarks/rerun.py`` (builds the demo model on first use).

The suite (written to a temporary project) checks the demo model on the demo evaluation set
(600 rows): ``accuracy`` with four slices and an ``int8_dynamic``
``quantization`` check with a slice and its default speed-up timing. Each round deletes the
project's ``.pytest_cache``, runs ``pytest`` once (empty cache: every prediction computed and
stored), then once more unchanged (fp32 and int8 predictions read from the cache; the speed-up is
timed again: ``--no-speedup`` sets ``speed_examples: 0`` to see the run without it). Each run is
its own process; the figures are its wall time and peak resident memory. Rounds alternate first and second runs so that both meet the same machine load. It also
checks that the second run's metrics equal the first's (the timed speed-up aside) and that its
``run.predictions`` are all cache hits.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
TIMED = {"speedup"}

SUITE = """model:
  adapter: transformers
  path: {model}
  batch_size: 32
  max_length: 128
datasets:
  eval:
    path: {data}
defaults:
  seed: 0
checks:
  - kind: accuracy
    dataset: eval
    min_accuracy: 0.90
    slices:
      - {{name: negation, column: phenomenon, equals: negation, min_accuracy: 0.75}}
      - {{name: contrast, column: phenomenon, equals: contrast, min_accuracy: 0.70}}
      - {{name: short, max_words: 4, min_accuracy: 0.80}}
      - {{name: restaurants, column: topic, equals: restaurant, min_accuracy: 0.85}}
  - kind: quantization
    name: int8
    dataset: eval
    scheme: int8_dynamic
    max_accuracy_drop: 0.02
    min_agreement: 0.95
    speed_examples: {speed_examples}
    slices:
      - {{name: negation, column: phenomenon, equals: negation, max_accuracy_drop: 0.10}}
"""

CHILD = """
import resource, sys, pytest
code = pytest.main(sys.argv[1:])
print("peak_rss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "exit", int(code))
"""


def one_run(project: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds and peak RSS (MB) of ``pytest suites/`` in ``project``, and its JSON."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, "suites/", "-q",
                           "--rootdir", str(project)], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - started
    last = [line for line in done.stdout.splitlines() if line.startswith("peak_rss_kb")]
    if not last or not last[0].endswith("exit 0"):
        raise SystemExit(f"pytest failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak_mb = int(last[0].split()[1]) / 1024
    document = json.loads((project / "reports" / "modeltests.json").read_text())
    return wall, peak_mb, document


def same_metrics(first: dict[str, Any], second: dict[str, Any]) -> bool:
    def metrics(document: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in c["metrics"].items() if k not in TIMED}
                for c in document["checks"]]
    return metrics(first) == metrics(second)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--no-speedup", action="store_true",
                        help="speed_examples: 0 (no speed-up timing, which every run repeats)")
    args = parser.parse_args(argv)

    from modeltests.demo.build import ensure_default_model

    model = ensure_default_model(progress=True)
    data = ROOT / "suites" / "data" / "sentiment_eval.csv"
    times: dict[str, list[float]] = {"first": [], "second": []}
    peaks: dict[str, list[float]] = {"first": [], "second": []}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "suites").mkdir()
        (project / "suites" / "rerun.yaml").write_text(SUITE.format(
            model=model, data=data, speed_examples=0 if args.no_speedup else 64))
        for _round in range(args.rounds):
            shutil.rmtree(project / ".pytest_cache", ignore_errors=True)
            wall, peak, first = one_run(project)
            times["first"].append(wall)
            peaks["first"].append(peak)
            wall, peak, second = one_run(project)
            times["second"].append(wall)
            peaks["second"].append(peak)
            sources = [p["cache"] for p in second["run"]["predictions"]]
            if set(sources) != {"hit"} or not same_metrics(first, second):
                raise SystemExit(f"the second run was not served by the cache: {sources}")
    threads = os.environ.get("OMP_NUM_THREADS", "torch's default")
    timed = "not timed" if args.no_speedup else "timed on 64 texts"
    print(f"suite: accuracy (4 slices), quantization int8_dynamic (1 slice, speed-up "
          f"{timed}); 600 rows; OMP_NUM_THREADS={threads}; {args.rounds} rounds")
    for name in ("first", "second"):
        print(f"{name} run: {' / '.join(f'{t:.1f}' for t in times[name])} s wall, peak RSS "
              f"{' / '.join(f'{m:.0f}' for m in peaks[name])} MB")
    print(f"predictions of the second run: {sources}; metrics equal: True")
    print(f"ratio second/first (best of each): {min(times['second']) / min(times['first']):.2f}")
    print(f"peak RSS ratio second/first: {min(peaks['second']) / min(peaks['first']):.2f}")
    print(f"this process's children, peak RSS: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
