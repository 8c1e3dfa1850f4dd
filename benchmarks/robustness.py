"""DeepWordBug through the ``robustness`` check vs. TextAttack's stock ``Attacker`` +
``HuggingFaceModelWrapper``, on the same model and the same examples, in one run.

    HF_HUB_OFFLINE=1 python benchmarks/robustness.py                 # default demo model
    HF_HUB_OFFLINE=1 python benchmarks/robustness.py --model-dir DIR --data eval.csv -n 20

Prints both times and their ratio (the check aims at <= 0.15 of the stock time), both attack
success rates, whether the perturbed texts are identical, and torch's thread count. The stock
``Attacker`` runs once per example with the seed the check gives that example
(``example_seed(seed, position)``: the check seeds each example on its own, so that Ray workers
attack it the same). The check runs as a user runs it
(``modeltests.Session(...).run(suite, select=...)``); model loading and ``import textattack`` are
outside both timings.

Measured here (sentiment-minilm-v2, 20 examples, seed 0, 1 torch thread, quiet 2-core machine,
2026-12-06, per-example seeds): 4.02 s vs 57.31 s (ratio 0.070), success rate 0.947 both,
perturbed texts identical (20/20). Before per-example seeds (one seed per run, one stock
``Attacker`` for all): 4.1 s vs 57.7 s (0.070), success 0.895 both, identical (20/20).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modeltests.result import CheckResult

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def check_path(model_dir: Path, data: Path, n: int, seed: int) -> tuple[float, CheckResult]:
    """Run the ``robustness`` check through the public API (``modeltests.Session``), the model
    loaded outside the timing."""
    import modeltests

    folder = Path(tempfile.mkdtemp(prefix="modeltests-bench-"))
    suite_file = folder / "bench.yaml"
    suite_file.write_text(
        f"model:\n  adapter: transformers\n  path: {model_dir}\n  max_length: 128\n"
        f"datasets:\n  eval:\n    path: {data}\ndefaults:\n  seed: {seed}\nchecks:\n"
        f"  - kind: robustness\n    name: bench\n    dataset: eval\n    recipe: deepwordbug\n"
        f"    num_examples: {n}\n")
    with modeltests.Session(folder) as session:
        session.runtime.models.model(session.suite(suite_file))  # load outside the timing
        started = time.perf_counter()
        run = session.run(suite_file, select="robustness")
        seconds = time.perf_counter() - started
    record = run["robustness[bench]"]
    if record.result is None:
        raise SystemExit(f"the robustness check did not run: {record.message}")
    return seconds, record.result


def stock_path(model_dir: Path, data: Path, n: int, seed: int) -> tuple[float, list[Any]]:
    """TextAttack's own way: HuggingFaceModelWrapper + DeepWordBugGao2018 + Attacker."""
    import pandas as pd
    import transformers
    from textattack import AttackArgs, Attacker
    from textattack.attack_recipes import DeepWordBugGao2018
    from textattack.datasets import Dataset
    from textattack.models.wrappers import HuggingFaceModelWrapper

    from modeltests.checks._sources import sample_indices
    from modeltests.perturb.textattack import example_seed

    model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    label2id = model.config.label2id
    frame = pd.read_csv(data)
    rows = sample_indices(len(frame), n, seed)
    attack = DeepWordBugGao2018.build(HuggingFaceModelWrapper(model, tokenizer))
    started = time.perf_counter()
    results: list[Any] = []
    for position, i in enumerate(rows):  # each example with the seed the check gives it
        dataset = Dataset([(frame.text[i], label2id[frame.label[i]])])
        args = AttackArgs(num_examples=1, random_seed=example_seed(seed, position), silent=True,
                          disable_stdout=True)
        attack.clear_cache()
        results += Attacker(attack, dataset, args).attack_dataset()
    return time.perf_counter() - started, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="a transformers classifier directory (default: the demo model)")
    parser.add_argument("--data", type=Path, default=None,
                        help="CSV with text,label (default: the demo evaluation set)")
    parser.add_argument("-n", "--num-examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)

    import torch

    from modeltests.perturb.textattack import attack_metrics, import_textattack, read_result

    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = args.model_dir or _demo_model()
    data = args.data or _demo_data()
    import_textattack()
    check_s, result = check_path(model_dir, data, args.num_examples, args.seed)
    stock_s, results = stock_path(model_dir, data, args.num_examples, args.seed)
    outcomes = [read_result(r) for r in results]
    stock = attack_metrics(outcomes, stock_s)
    ours = [o.get("perturbed") for o in result.details["outcomes"]]
    theirs = [o.example.perturbed_text if o.example is not None else None for o in outcomes]
    print(f"model: {model_dir}  examples: {args.num_examples}  seed: {args.seed}  "
          f"torch threads: {torch.get_num_threads()}")
    print(f"check (adapter, padded per batch): {check_s:8.2f} s  "
          f"success rate {result.metrics['attack_success_rate']:.3f}")
    print(f"stock (HuggingFaceModelWrapper):   {stock_s:8.2f} s  "
          f"success rate {stock['attack_success_rate']:.3f}")
    print(f"time ratio check/stock: {check_s / stock_s:.3f} (aim <= 0.15)")
    same = ours == theirs
    print(f"perturbed texts identical: {same} "
          f"({sum(a == b for a, b in zip(ours, theirs))}/{len(theirs)})")
    return 0


def _demo_model() -> Path:
    from modeltests.demo.build import ensure_default_model

    return ensure_default_model(progress=True)


def _demo_data() -> Path:
    shipped = Path(__file__).resolve().parents[1] / "suites" / "data" / "sentiment_eval.csv"
    if shipped.is_file():
        return shipped
    from modeltests.demo.corpus import write_evaluation_csv

    return write_evaluation_csv(Path(tempfile.mkdtemp()) / "sentiment_eval.csv")


if __name__ == "__main__":
    sys.exit(main())
