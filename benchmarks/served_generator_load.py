"""Benchmark: the ``load`` kind's generator figures (vLLM's definitions) beside an independent
SSE client, on the same fake OpenAI-compatible server with known delays.

Run: ``python benchmarks/served_generator_load.py [--first-ms 50] [--gap-ms 20] [--requests 40]``.

The server (``tests/plugin/openai_server.py``, a thread in this process) streams 4 deltas per
answer: the first after ``--first-ms``, the others ``--gap-ms`` apart, then a finish chunk, a
usage chunk (4 tokens) and ``[DONE]``. One client sends ``--requests`` requests in alternating
rounds of 5 through the check's own path (the openai adapter's ``generate_timed`` and the load figures of
:mod:`modeltests.checks._generator_load`) and through a plain httpx streaming loop written here; the medians and p90s of TTFT, TPOT, ITL and e2e of both are printed, with what the
server's delays make them at least (TTFT >= first, TPOT and ITL >= gap, e2e >= first + 3 gaps).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def ours(url: str, requests: int) -> dict[str, list[float]]:
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.generation import GenerationRequest
    from modeltests.adapters.openai_compat import OpenAIParams, load_openai
    from modeltests.checks._generator_load import request_figures

    generator = load_openai(OpenAIParams(url=url, served_model="fake", stream_usage=True),
                            LoadContext(ROOT, ROOT))
    generator.start_check()
    found: dict[str, list[float]] = {"ttft": [], "tpot": [], "itl": [], "e2e": []}
    request = GenerationRequest(max_new_tokens=8)
    for _ in range(requests):
        figures = request_figures(generator.generate_timed("I really enjoyed it.", request))
        for name in ("ttft", "tpot", "e2e"):
            found[name].append(figures[name])
        found["itl"] += figures["itl"]
    generator.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-ms", type=float, default=50.0)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    from plugin.openai_server import FakeOpenAI, independent_figures as independent

    server = FakeOpenAI()
    serving = server.serving()
    next(serving)
    server.mode, server.first_s, server.gap_s = "usage", args.first_ms / 1000, args.gap_ms / 1000
    server.httpd.handle_error = lambda *_: None  # type: ignore[method-assign]  # client resets
    ours(server.url, 2)  # warm-up: imports, connection
    mine: dict[str, list[float]] = {name: [] for name in ("ttft", "tpot", "itl", "e2e")}
    theirs: dict[str, list[float]] = {name: [] for name in mine}
    for _ in range(max(1, args.requests // 5)):  # alternating rounds of 5: the same machine
        for found, measure in ((mine, ours), (theirs, independent)):
            for name, values in measure(server.url, 5).items():
                found[name] += values
    floors = {"ttft": args.first_ms, "tpot": args.gap_ms, "itl": args.gap_ms,
              "e2e": args.first_ms + 3 * args.gap_ms}
    print(f"fake server: first delta after {args.first_ms:g} ms, then 3 more {args.gap_ms:g} ms "
          f"apart; {args.requests} requests each, one client; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'figure':6} {'floor':>7} {'check p50':>10} {'httpx p50':>10} {'check p90':>10} "
          f"{'httpx p90':>10}")
    for name in ("ttft", "tpot", "itl", "e2e"):
        a, b = sorted(mine[name]), sorted(theirs[name])
        p90 = lambda v: v[min(len(v) - 1, int(0.9 * len(v)))]  # noqa: E731
        print(f"{name:6} {floors[name]:7.1f} {statistics.median(a):10.2f} "
              f"{statistics.median(b):10.2f} {p90(a):10.2f} {p90(b):10.2f}")
    serving.close()


if __name__ == "__main__":
    main()
