"""Benchmark: the accuracy check versus a bare batched inference loop, and the demo run.

Run: ``python benchmarks/accuracy.py`` (builds the demo model on first use); a short run:
``python benchmarks/accuracy.py --texts 200 --no-suites``; text like users have:
``python benchmarks/accuracy.py --data varied``; your own model and data:
``python benchmarks/accuracy.py --model DIR --csv FILE`` (a CSV with text and label columns).

1. The same model, the same >= 1,000 texts (``--data mixed``: demo sentences of mixed length;
   ``--data varied``: the same decorated with URLs, handles, hashtags, emoji, numbers and
   non-Latin scripts, :mod:`modeltests.demo.varied`; or ``--csv``), the same batch size and
   threads: the check's code path (texts tokenized once, batches of similar token count, each
   padded to its own longest text), run as a user runs it
   (``modeltests.Session(...).run(suite, select="accuracy")``, the model loaded outside the
   timing, the prediction cache off), against a naive loop over the texts in dataset order, and
   a loop over batches sorted by characters (what the adapter did before). Prints the times, the
   ratio, and whether the predictions agree (argmax equal, probabilities within 1e-5).
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


def adapter_of(session: Session, suite_path: Path) -> ModelAdapter:
    """The session's loaded model (loads it, outside any timing, on first use)."""
    return session.runtime.models.model(session.suite(suite_path))


def check_path(session: Session, suite_path: Path) -> tuple[float, CheckResult, Predictions,
                                                           ModelAdapter]:
    """Run the accuracy check through the public API, the model loaded outside the timing."""
    suite = session.suite(suite_path)
    adapter = session.runtime.models.model(suite)  # load outside the timed region
    started = time.perf_counter()
    run = session.run(suite_path, select="accuracy")
    seconds = time.perf_counter() - started
    record = run.checks[0]
    if record.result is None:
        raise SystemExit(f"the accuracy check did not run: {record.message}")
    return seconds, record.result, session.runtime.predictor.predictions(suite, "bench"), adapter


def chars_sorted_loop(model, tokenizer, texts, batch_size, max_length):
    """Batches of texts sorted by characters, each tokenized and padded on its own (the
    adapter's way before it counted tokens), rows put back in input order."""
    import numpy as np

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows = naive_loop(model, tokenizer, [texts[i] for i in order], batch_size, max_length)
    back = np.empty_like(rows)
    back[order] = rows
    return back


def load_data(args: argparse.Namespace) -> tuple[list[str], list[str], str]:
    """Texts, labels and a name for them: ``--csv``, else the generated ``--data`` set."""
    import pandas as pd

    if args.csv:
        frame = pd.read_csv(args.csv)
        return ([str(t) for t in frame["text"]], [str(v) for v in frame["label"]],
                str(args.csv))
    if args.data == "varied":
        from modeltests.demo.varied import varied_examples

        return (*varied_examples(args.texts), "varied (modeltests.demo.varied)")
    return (*mixed_length_texts(args.texts), "mixed-length demo sentences")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1200, help="texts to classify (default 1200)")
    parser.add_argument("--data", choices=("mixed", "varied"), default="mixed",
                        help="generated texts: mixed length (default) or varied characters "
                        "per token")
    parser.add_argument("--csv", type=Path, help="a CSV file with text and label columns "
                        "(instead of --data)")
    parser.add_argument("--model", type=Path, help="a transformers model directory (default: "
                        "the demo model)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--no-suites", action="store_true",
                        help="skip part 2, the whole `pytest suites/` run")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    import torch

    import modeltests
    from modeltests.demo.build import ensure_default_model

    model_dir = args.model.resolve() if args.model else ensure_default_model(progress=True)
    texts, labels, source = load_data(args)
    batch_size, max_length = 32, 256
    with tempfile.TemporaryDirectory() as tmp:
        pd.DataFrame({"text": texts, "label": labels}).to_csv(Path(tmp) / "bench.csv", index=False)
        suite = Path(tmp) / "bench.yaml"
        suite.write_text(
            f"model:\n  adapter: transformers\n  path: {model_dir}\n  batch_size: {batch_size}\n"
            f"  max_length: {max_length}\ndatasets:\n  bench:\n    path: bench.csv\n"
            "checks:\n  - kind: accuracy\n    dataset: bench\n", encoding="utf-8")
        times: dict[str, list[float]] = {"check": [], "naive": [], "chars": []}
        for round_ in range(args.rounds):  # alternate, so that all meet the same machine load
            with modeltests.Session(suite.parent, cache=False) as session:  # loads again
                loops = [("naive", naive_loop), ("chars", chars_sorted_loop)]
                if round_ % 2:  # odd rounds time the loops first
                    loops.reverse()
                for name, loop in [*loops[:round_ % 2], ("check", None), *loops[round_ % 2:]]:
                    if loop is None:
                        check_seconds, result, predictions, adapter = check_path(session, suite)
                        times["check"].append(check_seconds)
                        continue
                    started = time.perf_counter()
                    rows = loop(adapter_of(session, suite).model,
                                adapter_of(session, suite).tokenizer, texts, batch_size,
                                max_length)
                    times[name].append(time.perf_counter() - started)
                    if name == "naive":
                        naive = rows
    ours = predictions.probabilities
    tokens = [len(ids) for ids in adapter.tokenizer(texts, truncation=True,
                                                    max_length=max_length)["input_ids"]]
    per_token = sorted(len(t) / n for t, n in zip(texts, tokens))
    print(f"data: {source}; texts: {len(texts)}, tokens per text min/median/max: {min(tokens)}/"
          f"{int(np.median(tokens))}/{max(tokens)}, characters per token min/median/max: "
          f"{per_token[0]:.2f}/{per_token[len(per_token) // 2]:.2f}/{per_token[-1]:.2f}; "
          f"batch {batch_size}; torch threads {torch.get_num_threads()}")
    shown = {name: " / ".join(f"{t:.2f}" for t in values) for name, values in times.items()}
    print(f"accuracy check: {shown['check']} s; naive loop: {shown['naive']} s; batches sorted "
          f"by characters: {shown['chars']} s (alternating rounds)")
    per_round = [c / n for c, n in zip(times["check"], times["naive"])]
    chars_round = [c / n for c, n in zip(times["chars"], times["naive"])]
    print(f"per-round ratios check/naive: {' / '.join(f'{r:.2f}' for r in per_round)}; "
          f"chars-sorted/naive: {' / '.join(f'{r:.2f}' for r in chars_round)}")
    print(f"ratio check/naive: {float(np.median(per_round)):.2f}")
    print(f"ratio chars-sorted/naive: {float(np.median(chars_round)):.2f}")
    print(f"argmax equal: {bool((ours.argmax(1) == naive.argmax(1)).all())}")
    print(f"max |p - p_naive|: {float(np.abs(ours - naive).max()):.2e}; "
          f"accuracy {result.metrics['accuracy']:.4f} (ratios: the median of the per-round ratios)")
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
