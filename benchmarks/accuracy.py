"""Benchmark: the accuracy check versus a bare batched inference loop, and the demo run.

Run: ``python benchmarks/accuracy.py`` (builds the demo model on first use); a short run:
``python benchmarks/accuracy.py --texts 200 --no-suites``.

1. The same model, the same >= 1,000 texts of mixed length, the same batch size and threads:
   the check's code path (length-ordered batches, each padded to its own longest text), run as a
   user runs it (``modeltests.Session(...).run(suite, select="accuracy")``, the model loaded
   outside the timing), against a naive loop over the texts in dataset order. Prints both times,
   the ratio, and whether the predictions agree (argmax equal, probabilities within 1e-5).
2. The whole ``pytest suites/`` run as a subprocess: wall time and peak resident memory.
All figures come from this one run; the torch thread count is printed with them.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modeltests import Session
    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.result import CheckResult

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def mixed_length_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` labelled texts of widely mixed length, from the demo evaluation set."""
    from modeltests.demo.corpus import evaluation_examples

    rows = evaluation_examples()
    rng = random.Random(seed)
    texts, labels = [], []
    while len(texts) < n:
        first = rng.choice(rows)
        extra = rng.choice([0, 0, 0, 1, 2, 4, 8])  # mostly short, some long
        same = [r for r in rng.sample(rows, 40) if r["label"] == first["label"]][:extra]
        texts.append(" ".join([first["text"]] + [r["text"] for r in same]))
        labels.append(first["label"])
    return texts, labels


def naive_loop(model, tokenizer, texts, batch_size, max_length):
    import torch

    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits.double(), dim=-1))
    return torch.cat(rows).numpy()


def check_path(session: Session, suite_path: Path) -> tuple[float, CheckResult, Predictions,
                                                           ModelAdapter]:
    """Run the accuracy check through the public API, the model loaded outside the timing."""
    suite = session.suite(suite_path)
    adapter = session.runtime.model(suite)  # load outside the timed region
    started = time.perf_counter()
    run = session.run(suite_path, select="accuracy")
    seconds = time.perf_counter() - started
    record = run.checks[0]
    if record.result is None:
        raise SystemExit(f"the accuracy check did not run: {record.message}")
    return seconds, record.result, session.runtime.predictions(suite, "bench"), adapter


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1200, help="texts to classify (default 1200)")
    parser.add_argument("--no-suites", action="store_true",
                        help="skip part 2, the whole `pytest suites/` run")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch

    import modeltests
    from modeltests.demo.build import ensure_default_model

    model_dir = ensure_default_model(progress=True)
    texts, labels = mixed_length_texts(args.texts)
    batch_size, max_length = 32, 256
    with tempfile.TemporaryDirectory() as tmp:
        pd.DataFrame({"text": texts, "label": labels}).to_csv(Path(tmp) / "bench.csv", index=False)
        suite = Path(tmp) / "bench.yaml"
        suite.write_text(
            f"model:\n  adapter: transformers\n  path: {model_dir}\n  batch_size: {batch_size}\n"
            f"  max_length: {max_length}\ndatasets:\n  bench:\n    path: bench.csv\n"
            "checks:\n  - kind: accuracy\n    dataset: bench\n", encoding="utf-8")
        check_times, naive_times = [], []
        for _round in range(2):  # alternate, so that both meet the same machine load
            with modeltests.Session(suite.parent) as session:  # fresh caches: loads again
                check_seconds, result, predictions, adapter = check_path(session, suite)
                check_times.append(check_seconds)
                naive_started = time.perf_counter()
                naive = naive_loop(adapter.model, adapter.tokenizer, texts, batch_size,
                                   max_length)
                naive_times.append(time.perf_counter() - naive_started)
    ours = predictions.probabilities
    lengths = [len(t.split()) for t in texts]
    print(f"texts: {len(texts)}, words per text min/median/max: {min(lengths)}/"
          f"{int(np.median(lengths))}/{max(lengths)}; batch {batch_size}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"accuracy check: {' / '.join(f'{t:.2f}' for t in check_times)} s; naive loop: "
          f"{' / '.join(f'{t:.2f}' for t in naive_times)} s (alternating rounds)")
    print(f"ratio check/naive (best of each): {min(check_times) / min(naive_times):.2f}")
    print(f"argmax equal: {bool((ours.argmax(1) == naive.argmax(1)).all())}; "
          f"max |p - p_naive|: {float(np.abs(ours - naive).max()):.2e}; "
          f"accuracy {result.metrics['accuracy']:.4f}")
    if not args.no_suites:
        demo_run()


def demo_run() -> None:
    """``pytest suites/`` once the model is cached: wall time and peak RSS of the process."""
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", "suites/", "-q", "-p",
                                "no:cacheprovider", "--modeltests-no-reports"], cwd=ROOT,
                               capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    last = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
    print(f"pytest suites/: exit {completed.returncode}, {wall:.1f} s wall, peak RSS "
          f"{peak_mb:.0f} MB ({last})")


if __name__ == "__main__":
    main()
