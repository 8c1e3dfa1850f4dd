"""Prove the ``latency`` check's CUDA path in one short run (prepared for a session with a GPU).

    HF_HUB_OFFLINE=1 python benchmarks/gpu_latency_check.py [--model DIR | --tiny]
        [--batches 1 8 32] [--length 128] [--out results.json]

For each device (cpu, and cuda when ``torch.cuda.is_available()``; otherwise the GPU rows are
skipped and the reason is printed) and each batch size, on the same model and the same encoded
input:

* the check (a ``modeltests.Session`` runs a ``latency`` check, model-only mode, ``device`` set,
  so on a GPU the model is copied to CUDA and timed with CUDA events): p50 / p90 / p99, p99's
  upper bound, the MLPerf sample-size flags, throughput, cold start, peak CUDA memory allocated /
  reserved;
* ``torch.utils.benchmark.Timer(...).blocked_autorange()`` (which synchronises CUDA itself):
  median and IQR; the ratio check p50 / Timer median.

Everything is printed as one table and written to ``--out`` as JSON. Expect about a minute on a
GPU machine once the model exists; building the demo model first takes longer (pass ``--model``
with a built directory, or ``--tiny`` to exercise the path quickly).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency import CheckRunner, compare_once, model_dir  # noqa: E402  (benchmarks/latency.py)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: the demo model)")
    parser.add_argument("--tiny", action="store_true", help="use the tiny test BERT (built now)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def devices() -> tuple[list[str], str | None]:
    """Devices to measure, and why CUDA is left out (None when it is measured)."""
    import torch

    if torch.cuda.is_available():
        return ["cpu", "cuda"], None
    return ["cpu"], "CUDA is not available (torch.cuda.is_available() is False): GPU rows skipped"


def measure_device(model: Path, workdir: Path, args: argparse.Namespace, device: str,
                   batch: int, threads: int) -> dict[str, Any]:
    """The check and Timer on one (device, batch); both on the same encoded input."""
    runner = CheckRunner(model, workdir, device=device, batch=batch, length=args.length,
                         threads=threads, iterations=args.iterations, seconds=args.seconds)
    options = argparse.Namespace(device=device, batch=batch, length=args.length,
                                 seconds=args.seconds)
    row = compare_once(runner, options, threads)
    if "skipped" in row:
        return dict(row, device=device, batch=batch)
    head, metrics = row.pop("record"), row.pop("metrics")
    row.update(device=device, batch=batch, length=args.length, p90=head["p90_ms"],
               p99=head["p99_ms"], p99_upper=head["p99_upper_ms"],
               p90_supported=head["p90_supported"], p99_supported=head["p99_supported"],
               throughput=head["throughput"], cold_start_ms=metrics.get("cold_start_ms"),
               peak_cuda_mb=metrics.get("peak_cuda_mb"),
               peak_cuda_reserved_mb=metrics.get("peak_cuda_reserved_mb"),
               timer_kind="CUDA events" if device == "cuda" else "perf_counter_ns")
    return row


def show(row: dict[str, Any]) -> str:
    if "skipped" in row:
        return f"{row['device']:4} b{row['batch']:<3} skipped: {row['skipped']}"
    upper = "n/a" if row["p99_upper"] is None else f"{row['p99_upper']:.3f}"
    memory = "" if row["peak_cuda_mb"] is None else (
        f"  peak CUDA {row['peak_cuda_mb']:.1f} MiB alloc / {row['peak_cuda_reserved_mb']:.1f} "
        "reserved")
    return (f"{row['device']:4} b{row['batch']:<3} l{row['length']}  check p50 "
            f"{row['check_p50']:.3f} p90 {row['p90']:.3f} p99 {row['p99']:.3f} (upper {upper}, "
            f"n {row['check_n']}, p90 ok {row['p90_supported']}, p99 ok {row['p99_supported']}) "
            f"ms  Timer median {row['timer_median']:.3f} ms  ratio {row['ratio']:.3f}  "
            f"{row['throughput']:.1f} ex/s  cold start {row['cold_start_ms']:.1f} ms  "
            f"threads {row['threads']}  [{row['timer_kind']}]"
            + memory)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import torch

    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    wanted, skipped = devices()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        model = model_dir(args, Path(tmp))
        gpu = torch.cuda.get_device_name(0) if "cuda" in wanted else "none"
        print(f"model {model}  torch {torch.__version__}  threads {threads}  GPU {gpu}")
        if skipped:
            print(skipped)
        for device in wanted:
            for batch in args.batches:
                row = measure_device(model, Path(tmp), args, device, batch, threads)
                rows.append(row)
                print(show(row), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps({"rows": rows, "gpu_skipped": skipped}, indent=2))
    return rows


if __name__ == "__main__":
    main()
