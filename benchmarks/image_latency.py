"""The ``latency`` check on builtin:digits-cnn over batch sizes vs. a plain loop of the torch
module on the same batches, in one run, on one torch thread.

    HF_HUB_OFFLINE=1 python benchmarks/image_latency.py              # batch sizes 1, 8, 64

For each batch size it prints the check's model-only p50 and the loop's median (``module(batch)``
under ``torch.inference_mode``, the same number of calls), their ratio (the adapter's forward
against the bare module), and ``batch_speedup`` as the check computes it (per-image p50 at the
smallest batch over the largest) next to the same ratio from the loop. The check runs as a user
runs it (``modeltests.Session(...).run``, the model loaded outside the timing). Timings depend on
the machine and its load: the ratios are the figures to compare, with the thread count and the
load average printed beside them.

Measured here (2 cores shared with other sessions, load average 5.5-5.8, 1 torch thread,
2026-12-08, 200 calls per batch size): check / loop p50 1.04, 1.05, 1.12 at batch 1, 8, 64, and
1.91, 1.08, 1.00 in a second run; batch_speedup (b1 vs b64) check 4.42 and 4.51, loop 4.77 and
2.35. The loop and the check run one after the other, not interleaved, so a change of load
between them moves the ratios: the check's two runs agree more closely with each other than
the loop's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from image_attacks import DATA, HEAD, MODEL, timed_check  # noqa: E402  (this folder)

SUITE = HEAD + """\
  - kind: latency
    name: bench
    dataset: test
    batch_sizes: [{sizes}]
    mode: model
    threads: 1
    min_iterations: {calls}
    min_seconds: 0
    max_seconds: 10
"""


def loop_medians(sizes: list[int], calls: int) -> dict[int, float]:
    """Median ms of ``module(batch)`` per batch size (the first test images, 8x8, normalised
    as the adapter does: mean 0, std 1), after 10 untimed calls."""
    import numpy as np
    import torch

    from modeltests.demo.digits import digits_cnn, ensure_digits_cnn

    module = digits_cnn()
    module.load_state_dict(torch.load(ensure_digits_cnn() / "weights.pt", weights_only=True))
    module.eval()
    with np.load(DATA) as arrays:
        images = torch.from_numpy(arrays["images"].astype(np.float32)[:, None] / 255.0)
    medians = {}
    with torch.inference_mode():
        for size in sizes:
            batch = images[:size]
            for _ in range(10):
                module(batch)
            seconds = []
            for _ in range(calls):
                start = time.perf_counter()
                module(batch)
                seconds.append(time.perf_counter() - start)
            medians[size] = statistics.median(seconds) * 1e3
    return medians


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", default="1,8,64")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.batch_sizes.split(","))
    torch.set_num_threads(1)
    _, result = timed_check(SUITE.format(model=MODEL, data=DATA, seed=0, calls=args.calls,
                                         sizes=", ".join(map(str, sizes))), "latency")
    check: dict[int, Any] = {c["batch_size"]: c["p50_ms"] for c in result.details["configs"]}
    loop = loop_medians(sizes, args.calls)
    print(f"torch threads 1; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for size in sizes:
        print(f"batch {size:>3}: check p50 {check[size]:.4f} ms, loop {loop[size]:.4f} ms, "
              f"check / loop {check[size] / loop[size]:.2f}")
    small, large = sizes[0], sizes[-1]
    print(f"batch_speedup (b{small} vs b{large}): check {result.metrics['batch_speedup']:.2f}, "
          f"loop {(loop[small] / small) / (loop[large] / large):.2f}")


if __name__ == "__main__":
    main()
