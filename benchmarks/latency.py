"""The ``latency`` check's p50 against ``torch.utils.benchmark.Timer`` on the same model and input.

    HF_HUB_OFFLINE=1 python benchmarks/latency.py [--model DIR | --tiny] [--batch 8]
        [--length 64] [--threads N] [--rounds 3] [--device cpu]

Each round, alternately: the check (a ``modeltests.Session`` runs a ``latency`` check,
model-only mode, one configuration) and ``Timer("adapter.forward(batch)").blocked_autorange()``
on the very same encoded batch (same token length, same thread count: Timer defaults to ONE
thread unless told, so it gets ``num_threads`` explicitly). Printed: both medians, the ratio,
and the thread count.

Timer's median is the median of *block means* (each block averages many calls), so it sits
near the check's mean; the check's p50 is the median of single calls and is at or below its mean
on right-skewed latencies. Both are printed. The machine may be shared: compare rounds, and
prefer the median ratio over one round. The model defaults to the demo model
(``builtin:sentiment-minilm``, built on first use); ``--tiny`` trains the tiny test BERT instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modeltests.result import CheckResult

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SUITE = """model:
  adapter: transformers
  path: {model}
  batch_size: {batch}
  max_length: {max_length}
checks:
  - kind: latency
    device: {device}
    mode: model
    batch_sizes: [{batch}]
    sequence_lengths: [{length}]
    threads: {threads}
    min_iterations: {iterations}
    min_seconds: {seconds}
    max_seconds: 60
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: the demo model)")
    parser.add_argument("--tiny", action="store_true", help="use the tiny test BERT (built now)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="default: torch's current")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    return parser.parse_args(argv)


def model_dir(args: argparse.Namespace, workdir: Path) -> Path:
    """The model to time: ``--model``, the tiny BERT (``--tiny``) or the demo model."""
    if args.model is not None:
        return args.model
    if args.tiny:
        from modeltests.demo.tiny import build_tiny_bert

        return build_tiny_bert(workdir / "tiny")
    from modeltests.demo.build import ensure_default_model

    return ensure_default_model(progress=True)


class CheckRunner:
    """A :class:`modeltests.Session` holding one suite with one latency check (the model loads
    once, outside the timed runs)."""

    def __init__(self, model: Path, workdir: Path, **fields: Any) -> None:
        from modeltests import Session

        fields.setdefault("max_length", max(128, int(fields["length"])))
        self.path = workdir / f"suite_{fields['device']}_{fields['batch']}.yaml"
        self.path.write_text(SUITE.format(model=model, **fields))
        self.session = Session(workdir)
        self.adapter = self.session.runtime.models.model(self.session.suite(self.path))

    def run(self) -> CheckResult:
        """One run of the check; returns its CheckResult."""
        record = self.session.run(self.path, select="latency").checks[0]
        if record.result is None:
            raise RuntimeError(f"{record.name} {record.outcome}: {record.message}")
        return record.result


def timer_median_ms(adapter: Any, batch: Any, threads: int, min_run_time: float = 1.0
                    ) -> tuple[float, float, int]:
    """``torch.utils.benchmark`` median and IQR (ms) of ``adapter.forward(batch)``, and the
    number of calls it made."""
    from torch.utils.benchmark import Timer

    timer = Timer(stmt="adapter.forward(batch)", globals={"adapter": adapter, "batch": batch},
                  num_threads=threads)
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    calls = measurement.number_per_run * len(measurement.raw_times)
    return measurement.median * 1e3, measurement.iqr * 1e3, calls


def encoded_batch(adapter: Any, batch: int, length: int, device: str) -> Any:
    """The batch the check times: ``batch`` copies of an exactly ``length``-token text."""
    from modeltests.checks.latency.inputs import exact_length_text

    encoded = adapter.encode([exact_length_text(adapter.tokenizer, length)] * batch)
    return {k: v.to(device) for k, v in encoded.items()}


def compare_once(runner: CheckRunner, args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """One alternating round: the check, then Timer on a device copy of the same model."""
    result = runner.run()
    if result.skip_reason:
        return {"skipped": result.skip_reason}
    record = next(c for c in result.details["configs"] if c["mode"] == "model")
    adapter = runner.adapter
    if args.device != str(adapter.device).split(":")[0]:
        import copy

        adapter = adapter.with_module(copy.deepcopy(adapter.torch_module()).to(args.device))
    batch = encoded_batch(adapter, args.batch, args.length, args.device)
    import torch

    with torch.inference_mode():
        median, iqr, calls = timer_median_ms(adapter, batch, threads, args.seconds)
    return {"check_p50": record["p50_ms"], "check_mean": record["mean_ms"],
            "check_iqr": record["iqr_ms"], "check_n": record["n"], "threads": record["threads"],
            "timer_median": median, "timer_iqr": iqr, "timer_calls": calls,
            "ratio": record["p50_ms"] / median, "record": record, "metrics": result.metrics}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import torch

    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = model_dir(args, Path(tmp))
        runner = CheckRunner(model, Path(tmp), device=args.device, batch=args.batch,
                             length=args.length, threads=threads, iterations=args.iterations,
                             seconds=args.seconds)
        print(f"model {model}  device {args.device}  batch {args.batch}  length {args.length}  "
              f"torch threads {threads}")
        for round_index in range(args.rounds):
            row = compare_once(runner, args, threads)
            rows.append(row)
            if "skipped" in row:
                print(f"skipped: {row['skipped']}")
                return rows
            print(f"round {round_index + 1}: check p50 {row['check_p50']:.3f} ms "
                  f"(mean {row['check_mean']:.3f}, IQR {row['check_iqr']:.3f}, "
                  f"n {row['check_n']}, threads {row['threads']})  Timer median "
                  f"{row['timer_median']:.3f} ms (IQR {row['timer_iqr']:.3f}, "
                  f"{row['timer_calls']} calls, threads {threads})  ratio {row['ratio']:.3f}")
    ratios = [r["ratio"] for r in rows]
    print(f"median ratio check p50 / Timer median over {len(ratios)} rounds: "
          f"{statistics.median(ratios):.3f} (aim: within 10%, i.e. 0.90-1.10)")
    return rows


if __name__ == "__main__":
    main()
