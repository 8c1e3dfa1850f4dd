"""Time to first token and time per output token of a causal LM with
:class:`modeltests.adapters.generation.TokenClock` as ``model.generate``'s streamer (what a
transformers adapter's ``generate_timed`` does), beside the two-call fallback the ``latency``
check uses for a generator without ``generate_timed`` (``max_new_tokens`` 1, then the whole
request).

    PYTHONPATH=$PWD python benchmarks/lm_latency.py --threads 2 [--model DIR] [--calls 5]

Default model: SmolLM2-135M converted by ``benchmarks/lm_quantization.py``. Greedy, batch 1,
end-of-text ignored (``min_new_tokens``) so every call generates the requested tokens.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a causal LM directory (default: SmolLM2-135M)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--prompts", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--outputs", type=int, nargs="+", default=[8, 32])
    args = parser.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lm_quantization import smollm2_dir

    from modeltests.adapters.generation import Generation, TokenClock

    torch.set_num_threads(args.threads)
    directory = Path(args.model) if args.model else smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    sync = torch.cuda.synchronize if torch.cuda.is_available() else None
    print(f"model {directory.name}, torch threads {torch.get_num_threads()}, load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, {args.calls} calls each")
    print(f"{'prompt':>6} {'output':>6} {'ttft_ms':>9} {'tpot_ms':>9} {'tokens':>6} "
          f"{'fallback_ttft':>13} {'fallback_tpot':>13}")
    for length in args.prompts:
        ids = torch.tensor([[tokenizer.convert_tokens_to_ids("Ġthe")] * length])
        for output in args.outputs:
            def generate(tokens: int, clock: TokenClock | None = None) -> int:
                with torch.inference_mode():
                    out = model.generate(ids, max_new_tokens=tokens, min_new_tokens=tokens,
                                         do_sample=False, streamer=clock,
                                         pad_token_id=tokenizer.eos_token_id)
                return int(out.shape[1] - ids.shape[1])

            generate(output)  # warm-up
            ttft, tpot, fallback_ttft, fallback_tpot, counted = [], [], [], [], []
            for _ in range(args.calls):
                clock = TokenClock(sync)
                clock.start()
                new = generate(output, clock)
                timed = clock.timed(Generation("", "length", tuple(range(new))))
                counted.append(len(clock.token_ns))
                ttft.append(timed.first_token_ms)
                tpot.append(timed.tpot_ms or 0.0)
                started = time.perf_counter()
                generate(1)
                first = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                whole = generate(output)
                total = (time.perf_counter() - started) * 1000
                fallback_ttft.append(first)
                fallback_tpot.append((total - first) / max(whole - 1, 1))
            med = statistics.median
            print(f"{length:6} {output:6} {med(ttft):9.2f} {med(tpot):9.2f} "
                  f"{min(counted):3}-{max(counted):<3} {med(fallback_ttft):13.2f} "
                  f"{med(fallback_tpot):13.2f}")


if __name__ == "__main__":
    main()
