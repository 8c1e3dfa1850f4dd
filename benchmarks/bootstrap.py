"""Benchmark: what the intervals behind the gates cost beside the predictions they judge.

Run: ``python benchmarks/bootstrap.py`` (builds the demo model on first use).

On ``--rows`` texts (default 1,500) drawn from the demo evaluation set, in one process with
``--threads`` torch threads (default 1):

1. the predictions the accuracy check needs (the demo model, batched as the adapter batches);
2. every interval the accuracy, quantization and regression checks compute on those rows:
   Wilson intervals, the multinomial bootstrap of the classification metrics (1,000 resamples),
   the per-row bootstrap of mean KL, the paired bootstrap of relative accuracy;
3. the row bootstraps of the calibration check (ECE of both binnings, MCE, Brier, NLL; 15 bins)
   and of the coverage check (AURC, coverage at a target accuracy), timed on their own.

Prints both times and ``bootstrap / predictions: X`` (the issue's aim: well under 0.05). Each
interval is timed over ``--repeats`` runs and the median taken; the predictions once.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_seconds(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numpy as np
    import torch

    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.transformers import TransformersParams, load_transformers
    from modeltests.demo.build import ensure_default_model
    from modeltests.demo.corpus import evaluation_examples
    from modeltests.stats.intervals import bootstrap_classification, bootstrap_mean, \
        bootstrap_paired_ratio
    from modeltests.stats.paired import kl_per_row
    from modeltests.stats.proportions import wilson_interval

    torch.set_num_threads(args.threads)
    rows = evaluation_examples()
    rng = random.Random(0)
    sample = [rng.choice(rows) for _ in range(args.rows)]
    texts, truth = [r["text"] for r in sample], [r["label"] for r in sample]
    directory = ensure_default_model(progress=False)
    model = load_transformers(TransformersParams(path=str(directory)),
                              LoadContext(base_dir=ROOT, rootdir=ROOT))
    started = time.perf_counter()
    predictions = model.predict(texts)
    predict_s = time.perf_counter() - started

    labels = model.labels
    truth_ids = np.array([labels.index(t) for t in truth])
    predicted_ids = np.array([labels.index(p) for p in predictions.labels])
    assert predictions.probabilities is not None
    probabilities = predictions.probabilities
    # A second model's outputs for the paired figures: the same rows, slightly perturbed.
    other = np.clip(probabilities + np.random.default_rng(1).normal(0, 0.02, probabilities.shape),
                    1e-6, None)
    other /= other.sum(axis=1, keepdims=True)
    right = truth_ids == predicted_ids
    other_right = truth_ids == other.argmax(axis=1)

    def intervals() -> None:
        wilson_interval(int(right.sum()), len(right))
        bootstrap_classification(truth_ids, predicted_ids, len(labels), seed=0)
        bootstrap_mean(kl_per_row(probabilities, other), seed=0)
        bootstrap_paired_ratio(right, other_right, seed=0)

    def selective() -> None:
        from modeltests.stats.calibration import calibration_rows, calibration_statistics
        from modeltests.stats.intervals import bootstrap_rows
        from modeltests.stats.selective import curve_statistics, rank_rows

        rows = calibration_rows(probabilities, truth_ids)
        bootstrap_rows(len(rows), lambda w: calibration_statistics(w, rows, 15, "width"), 0)
        ranked = rank_rows(rows.confidence, rows.correct)
        bootstrap_rows(len(rows), lambda w: curve_statistics(w, ranked, 0.95), 0)

    interval_s = median_seconds(intervals, args.repeats)
    selective_s = median_seconds(selective, args.repeats)
    print(f"rows: {args.rows}, torch threads: {torch.get_num_threads()}, resamples: 1,000")
    print(f"predictions (demo model, batch {model.params.batch_size}): {predict_s:.3f} s")
    print(f"all intervals (median of {args.repeats}): {interval_s:.4f} s")
    print(f"bootstrap / predictions: {interval_s / predict_s:.4f}")
    print(f"calibration + coverage bootstraps (median of {args.repeats}): {selective_s:.4f} s, "
          f"/ predictions: {selective_s / predict_s:.4f}")


if __name__ == "__main__":
    main()
