"""Benchmark: modeltests against lm-evaluation-harness on the same work, and generation against a
bare ``model.generate`` loop.

Run: ``python benchmarks/lm_eval_compare.py`` (builds ``builtin:gpt-tiny`` on first use; needs
``lm-eval``). On the demo suite's files (suites/data/lm_*.jsonl):

1. the same perplexity (rolling log-likelihood of 62 documents), multiple-choice (58 questions)
   and generation (118 prompts, greedy, up to 4 tokens, stop " .") work, timed once through
   modeltests (``modeltests.api.run`` for the kinds plus the adapter's ``generate``) and once
   through ``lm_eval.simple_evaluate`` (model loading inside both timings); prints both wall
   times and ``ratio modeltests/lm-eval``, and the metrics side by side;
2. generation throughput: the adapter's ``generate`` against a bare loop of
   ``model.generate`` over the same prompts in the same batches (left-padded, greedy, the same
   new-token budget), best of 3 each; prints new tokens per second and the ratio (goal: within
   10%).
The torch thread count and the load average are printed with the figures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from lm_eval_tasks import run_lm_eval, write_tasks  # noqa: E402

DATA = ROOT / "suites" / "data"
STOP, NEW_TOKENS, BATCH = " .", 4, 16
SUITE = """model:
  adapter: transformers
  task: text-generation
  path: {model}
  batch_size: {batch}
datasets:
  stories: {{path: {data}/lm_documents.jsonl, document_column: text}}
  quiz: {{path: {data}/lm_choice.jsonl, prompt_column: prompt, choices_column: choices,
          answer_column: answer}}
checks:
  - {{kind: perplexity, dataset: stories}}
  - {{kind: choice, dataset: quiz}}
"""


def _prompts() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / "lm_answers.jsonl").read_text().splitlines()]


def _load(model_dir: Path):  # type: ignore[no-untyped-def]
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.causal_lm import load_causal_lm
    from modeltests.adapters.transformers import TransformersParams

    return load_causal_lm(TransformersParams(path=str(model_dir), task="text-generation",
                                             batch_size=BATCH),
                          LoadContext(base_dir=model_dir, rootdir=model_dir))


def modeltests_side(model_dir: Path, work: Path) -> tuple[float, dict[str, float]]:
    import modeltests.api
    from modeltests.adapters.generation import GenerationRequest

    suite = work / "lm.yaml"
    suite.write_text(SUITE.format(model=model_dir, data=DATA, batch=BATCH))
    started = time.perf_counter()
    run = modeltests.api.run(suite, rootdir=work, cache=False)
    rows = _prompts()
    generated = _load(model_dir).generate([r["prompt"] for r in rows],
                                          GenerationRequest(max_new_tokens=NEW_TOKENS,
                                                            stop=(STOP,)))
    seconds = time.perf_counter() - started
    metrics = {c.kind: c.entry["metrics"] for c in run}
    return seconds, {
        "word_perplexity": metrics["perplexity"]["word_perplexity"],
        "byte_perplexity": metrics["perplexity"]["byte_perplexity"],
        "bits_per_byte": metrics["perplexity"]["bits_per_byte"],
        "acc": metrics["choice"]["accuracy"], "acc_norm": metrics["choice"]["accuracy_norm"],
        "exact_match": sum(g.text == r["answer"] for g, r in zip(generated, rows)) / len(rows)}


def lm_eval_side(model_dir: Path, work: Path) -> tuple[float, dict[str, float]]:
    folder = write_tasks(work / "tasks", DATA / "lm_documents.jsonl", DATA / "lm_choice.jsonl",
                         DATA / "lm_answers.jsonl", STOP, NEW_TOKENS)
    started = time.perf_counter()
    found = run_lm_eval(model_dir, folder, batch_size=BATCH)
    seconds = time.perf_counter() - started
    return seconds, {**found["mt_docs"], **found["mt_choice"], **found["mt_answers"]}


def generation_throughput(model_dir: Path, rounds: int = 3) -> tuple[float, float, int]:
    """Best-of-``rounds`` seconds of the adapter's generate and of a bare batched
    ``model.generate`` loop on the same prompts; the new tokens generated."""
    import torch
    from transformers import GenerationConfig

    from modeltests.adapters.generation import GenerationRequest

    model = _load(model_dir)
    prompts = [r["prompt"] for r in _prompts()]
    request = GenerationRequest(max_new_tokens=NEW_TOKENS)
    encoded = sorted((model.prompt_tokens(p) for p in prompts), key=len, reverse=True)
    config = GenerationConfig(max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=model.pad_id,
                              eos_token_id=sorted(model.eos_ids), bos_token_id=model.start_id)

    def bare() -> int:
        produced = 0
        for start in range(0, len(encoded), BATCH):
            rows = encoded[start:start + BATCH]
            width = max(len(r) for r in rows)
            ids = torch.tensor([[model.pad_id] * (width - len(r)) + r for r in rows])
            mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
            with torch.inference_mode():
                out = model.model.generate(input_ids=ids, attention_mask=mask,
                                           generation_config=config)
            produced += int((out[:, width:] != model.pad_id).sum())
        return produced

    def ours() -> int:
        return sum(g.new_tokens for g in model.generate(prompts, request))

    best = {"ours": float("inf"), "bare": float("inf")}
    tokens = 0
    for _ in range(rounds):
        for name, work in (("bare", bare), ("ours", ours)):
            started = time.perf_counter()
            tokens = work() if name == "ours" else (work() or tokens)
            best[name] = min(best[name], time.perf_counter() - started)
    return best["ours"], best["bare"], tokens


def main() -> None:
    import torch

    from modeltests.demo.gpt_tiny import ensure_gpt_tiny

    model_dir = ensure_gpt_tiny()
    print(f"torch threads {torch.get_num_threads()}, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}, cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        lm_seconds, theirs = lm_eval_side(model_dir, work)
        mt_seconds, ours = modeltests_side(model_dir, work)
    print(f"{'metric':18} {'modeltests':>12} {'lm-eval':>12}")
    for name, value in ours.items():
        print(f"{name:18} {value:12.6f} {theirs.get(name, float('nan')):12.6f}")
    print(f"wall: modeltests {mt_seconds:.2f} s, lm-eval {lm_seconds:.2f} s, "
          f"ratio modeltests/lm-eval {mt_seconds / lm_seconds:.2f}")
    mine, bare, tokens = generation_throughput(model_dir)
    print(f"generation, {tokens} new tokens (best of 3): modeltests {tokens / mine:.0f} tok/s, "
          f"bare model.generate {tokens / bare:.0f} tok/s, ratio modeltests/bare "
          f"{mine / bare:.2f} (time)")


if __name__ == "__main__":
    main()
