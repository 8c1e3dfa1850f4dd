"""Benchmark: one dataset predicted locally and through a local Ray cluster of 1 and 2 workers.

Run: ``python benchmarks/scale.py --rows 200000`` (needs ``pip install 'modeltests[ray]'``; the
tiny test BERT is built into the modeltests cache on first use, as tests/conftest.py does).

The same ``--rows`` generated sentences (the demo corpus' templates, seeded) go through:

1. ``local-1t``: the transformers adapter in this process, 1 torch thread;
2. ``ray-1w`` and ``ray-2w``: :func:`modeltests.cluster.predictions.predict` on a Ray cluster started
   here with ``ray.init(num_cpus=2)``, 1 and 2 actors of 1 CPU and 1 thread each; each actor
   loads the model once from the same ``model:`` parameters;
3. ``ray-2w-stream``: the same sentences with their labels written to a Parquet file and
   streamed (``stream: true``: :func:`modeltests.cluster.streaming.streamed_confusion`): Ray Data
   reads the file in blocks, 2 actors predict them, only (expected, predicted) counts come
   back; its confusion matrix must equal the one of ``local-1t``'s labels;
4. with ``--local-2-threads`` only, ``local-2t``: this process with 2 torch threads. Not by
   default: on a machine whose cores other processes also use, two spinning OpenMP threads
   measure the contention, not the model (259 s against 17.6 s for 1 thread at 50,000 rows on
   the shared 2-core machine); 2 Ray actors of 1 thread are 2 processes that never spin-wait on
   each other, so their fair local baseline is 1 thread per core, i.e. ``local-1t`` x cores.

Prints the seconds of each stage, rows per second, Ray's overhead against the local path at
equal cores (``ray-1w / local-1t``), the speed-up of 2 actors over 1 (``ray-1w / ray-2w``) and
``identical: True|False`` (labels equal and probabilities within 1e-5 in every run). One round
per configuration: on a shared machine, read the ratios of one run rather than absolute times
across runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generated_rows(rows: int, seed: int = 0) -> list[tuple[str, str]]:
    """``rows`` (sentence, label) pairs of the demo corpus' phenomena, labels and topics,
    seeded."""
    from modeltests.demo import corpus
    from modeltests.demo import lexicon as lx

    rng = random.Random(seed)
    found = []
    for _ in range(rows):
        topic, phenomenon, label = (rng.choice(lx.TOPICS), rng.choice(corpus.PHENOMENA),
                                    rng.choice(lx.LABELS))
        found.append((corpus.generate_sentence(topic, phenomenon, label, "eval", rng), label))
    return found


def tiny_model() -> Path:
    """The tiny test BERT, built once into the modeltests cache (as tests/conftest.py does)."""
    from modeltests.demo.tiny import ensure_tiny_bert

    return ensure_tiny_bert()


def run_local(recipe: Any, texts: list[str], threads: int) -> tuple[Any, dict[str, float]]:
    import torch

    torch.set_num_threads(threads)
    started = time.perf_counter()
    adapter = recipe.load()
    loaded = time.perf_counter()
    predictions = adapter.predict(texts)
    done = time.perf_counter()
    return predictions, {"load": loaded - started, "predict": done - loaded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=2048,
                        help="texts per Ray Data batch (the model batches by 32 inside)")
    parser.add_argument("--local-2-threads", action="store_true",
                        help="also run this process with 2 torch threads (see above: "
                        "pathological where other processes use the cores)")
    args = parser.parse_args()

    import numpy as np
    import ray

    from modeltests.adapters.base import AdapterKind
    from modeltests.adapters.transformers import TransformersParams, load_transformers
    from modeltests.cluster.predictions import ModelRecipe, predict
    from modeltests.data.spec import RayOptions

    started = time.perf_counter()
    pairs = generated_rows(args.rows)
    texts = [text for text, _ in pairs]
    print(f"rows: {len(texts)} generated in {time.perf_counter() - started:.1f} s; "
          f"cpus: {os.cpu_count()}; load average {_load()}")
    model_dir = tiny_model()
    params = TransformersParams(path=str(model_dir), batch_size=32)
    kind = AdapterKind("transformers", TransformersParams, load_transformers)
    probe = kind.load(params, _context(model_dir))
    recipe = ModelRecipe(kind, params, model_dir, model_dir, "scale.py", ("model",), {},
                         tuple(probe.labels))
    del probe

    results: dict[str, Any] = {}
    seconds: dict[str, dict[str, float]] = {}
    for threads in (1, 2) if args.local_2_threads else (1,):
        name = f"local-{threads}t"
        results[name], seconds[name] = run_local(recipe, texts, threads)
        _show(name, seconds[name], len(texts))

    mark = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    cluster_start = time.perf_counter() - mark
    print(f"ray.init(num_cpus=2): {cluster_start:.1f} s")
    one_thread = {"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}}
    try:
        for workers in (1, 2):
            name = f"ray-{workers}w"
            options = RayOptions(workers=workers, batch_rows=args.batch_rows,
                                 runtime_env=one_thread)
            results[name], facts = predict(recipe, texts, options, "scale.py")
            seconds[name] = facts["seconds"]
            _show(name, seconds[name], len(texts),
                  f"blocks {facts['blocks']}, workers answered {facts['workers_answered']}, "
                  f"model load in a worker {facts['worker_load_seconds_max']:.1f} s")
        stream_s, stream_ok = run_stream(recipe, pairs, results["local-1t"], args.batch_rows,
                                         one_thread)
        seconds["ray-2w-stream"] = stream_s
    finally:
        ray.shutdown()

    total = {name: sum(stages.values()) for name, stages in seconds.items()}
    reference = results["local-1t"]
    both = (f", ray-2w / local-2t = {total['ray-2w'] / total['local-2t']:.2f}"
            if "local-2t" in total else "")
    print(f"ray overhead at equal cores: ray-1w / local-1t = "
          f"{total['ray-1w'] / total['local-1t']:.2f}{both}; speed-up of 2 actors: "
          f"ray-1w / ray-2w = {total['ray-1w'] / total['ray-2w']:.2f}, "
          f"local-1t / ray-2w = {total['local-1t'] / total['ray-2w']:.2f}; "
          f"load average at the end {_load()}")
    identical = all(
        other.labels == reference.labels
        and np.allclose(other.probabilities, reference.probabilities, rtol=0, atol=1e-5)
        for other in results.values())
    worst = max(float(np.abs(other.probabilities - reference.probabilities).max())
                for other in results.values())
    print(f"identical: {identical and stream_ok} (max |dp| {worst:.1e}; streamed confusion "
          f"matrix equal: {stream_ok})")


def run_stream(recipe: Any, pairs: list[tuple[str, str]], local: Any, batch_rows: int,
               runtime_env: dict[str, Any]) -> tuple[dict[str, float], bool]:
    """The pairs streamed from a Parquet file by 2 actors; the stages' seconds and whether the
    confusion matrix equals that of ``local``'s labels."""
    import tempfile

    import pandas as pd

    from modeltests.cluster.streaming import streamed_confusion
    from modeltests.data.spec import DatasetSpec, RayOptions

    folder = Path(tempfile.mkdtemp(prefix="modeltests-scale-"))
    data = folder / "generated.parquet"
    mark = time.perf_counter()
    pd.DataFrame(pairs, columns=["text", "label"]).to_parquet(data)
    written = time.perf_counter() - mark
    spec = DatasetSpec(path=str(data), executor="ray", stream=True)
    options = RayOptions(workers=2, batch_rows=batch_rows, runtime_env=runtime_env)
    counts = streamed_confusion(recipe, data, spec, options, "scale.py")
    expected: dict[tuple[str, str], int] = {}
    for (_, label), predicted in zip(pairs, local.labels):
        expected[(label, predicted)] = expected.get((label, predicted), 0) + 1
    stages = {"write parquet (not streamed)": written, **counts.seconds}
    shown = {k: v for k, v in stages.items() if not k.startswith("write")}
    _show("ray-2w-stream", shown, len(pairs),
          f"blocks {counts.blocks}, workers answered {len(counts.workers)}, "
          f"accuracy {counts.accuracy():.4f}; the Parquet file written in {written:.1f} s")
    return shown, counts.counts == expected


def _load() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the timings."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _context(model_dir: Path) -> Any:
    from modeltests.adapters.base import LoadContext

    return LoadContext(base_dir=model_dir, rootdir=model_dir, location="scale.py")


def _show(name: str, stages: dict[str, float], rows: int, extra: str = "") -> None:
    total = sum(stages.values())
    parts = ", ".join(f"{stage} {value:.1f} s" for stage, value in stages.items())
    print(f"{name}: {total:.1f} s ({parts}); {rows / total:,.0f} rows/s"
          + (f"; {extra}" if extra else ""))


if __name__ == "__main__":
    main()
