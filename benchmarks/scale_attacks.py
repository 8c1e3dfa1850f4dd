"""Benchmark: a ``robustness`` check attacked in this process and on Ray actors, same examples.

    HF_HUB_OFFLINE=1 python benchmarks/scale_attacks.py -n 20 --workers 1 2

The demo model (``builtin:sentiment-minilm``) and evaluation set, DeepWordBug, ``-n`` examples
sampled with seed 0. The check runs as a user runs it (``modeltests.Session(...).run``): first
with ``executor: local``, then with ``executor: ray`` and each ``--workers`` count on one local
Ray cluster (``ray.init(num_cpus=max(workers))``, started outside the timings; every actor runs
1 torch thread). Prints the wall time of each run, the Ray stages (connect, actor start: model
load, TextAttack import and the attack's build; attack), and ``identical: True|False``: the same
outcomes and perturbed texts as the local run. One round each: on a shared machine, read the
ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUITE = """model:
  adapter: transformers
  path: builtin:sentiment-minilm
  batch_size: 32
  max_length: 128
datasets:
  eval:
    path: {data}
defaults:
  seed: 0
checks:
  - kind: robustness
    dataset: eval
    recipe: deepwordbug
    num_examples: {n}
    query_budget: 2000
    max_attack_success_rate: 1.0
{executor}"""


def run(folder: Path, name: str, n: int, executor: str, session: Any) -> tuple[float, Any]:
    """One run of the check through the session; its wall time and its record."""
    path = folder / f"{name}.yaml"
    path.write_text(SUITE.format(data=ROOT / "suites" / "data" / "sentiment_eval.csv", n=n,
                                 executor=executor))
    started = time.perf_counter()
    [check] = session.run(path).checks
    return time.perf_counter() - started, check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--num-examples", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    import ray
    import torch

    import modeltests

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="modeltests-scale-attacks-"))
    print(f"examples: {args.num_examples}; cpus: {os.cpu_count()}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    mark = time.perf_counter()
    ray.init(address="local", num_cpus=max(args.workers), include_dashboard=False,
             log_to_driver=False)
    print(f"ray.init(num_cpus={max(args.workers)}): {time.perf_counter() - mark:.1f} s")
    one_thread = '      runtime_env: {env_vars: {OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1"}}\n'
    try:
        with modeltests.Session(rootdir=folder, cache=False) as session:
            suite = session.runtime.load_suite(
                _write(folder, SUITE.format(data=ROOT / "suites" / "data" /
                                            "sentiment_eval.csv", n=1, executor="")))
            session.runtime.models.model(suite)  # loaded (and built) outside every timing
            local_s, local = run(folder, "local", args.num_examples, "", session)
            print(f"local (1 thread): {local_s:.1f} s; success rate "
                  f"{local.metrics['attack_success_rate']:.3f}")
            identical = True
            for workers in args.workers:
                options = f"    executor: ray\n    ray:\n      workers: {workers}\n{one_thread}"
                ray_s, spread = run(folder, f"ray{workers}", args.num_examples, options, session)
                facts = session.runtime.predictor.executor_facts[-1]
                same = spread.entry["details"]["outcomes"] == local.entry["details"]["outcomes"]
                identical = identical and same
                stages = ", ".join(f"{k} {v:.1f} s" for k, v in facts["seconds"].items())
                print(f"ray, {workers} actor(s): {ray_s:.1f} s ({stages}); workers answered "
                      f"{facts['workers_answered']}; local / ray = {local_s / ray_s:.2f}, "
                      f"local / ray attack stage = {local_s / facts['seconds']['attack']:.2f}")
    finally:
        ray.shutdown()
    print(f"identical: {identical}; load average at the end "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _write(folder: Path, text: str) -> Path:
    path = folder / "probe.yaml"
    path.write_text(text)
    return path


if __name__ == "__main__":
    main()
