"""Cost of the ``quantization`` check over doing the same work by hand, and int8's speed-up.

    HF_HUB_OFFLINE=1 python benchmarks/quantization.py [--model DIR] [--csv FILE] [--rows N]

1. By hand: ``quantize_dynamic`` on a copy, predict the evaluation set with the fp32 model and
   with the int8 copy (same batches as the adapter), agreement and accuracy with numpy.
2. The check: a ``modeltests.Session`` runs a ``quantization`` check (``scheme: int8_dynamic``,
   timing off) that does the same: load-free reference predictions, quantize, predict, paired
   metrics, size.
3. The speed-up of int8 over fp32 on the model: both timed alternately on the same pre-encoded
   batches by the check's own timing function (``modeltests.measure.timing.time_alternately``).

One run each; the machine may be shared, so the torch thread count is printed with every number.
The model defaults to the demo model (``builtin:sentiment-minilm``, built on first use).
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SUITE = """model:
  adapter: transformers
  path: {model}
  batch_size: 32
  max_length: 128
datasets:
  eval:
    path: {csv}
    limit: {rows}
checks:
  - kind: quantization
    dataset: eval
    scheme: int8_dynamic
    speed_examples: 0
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: the demo model)")
    parser.add_argument("--csv", type=Path, help="evaluation CSV (default: the demo set)")
    parser.add_argument("--rows", type=int, default=600, help="evaluation rows used")
    parser.add_argument("--speed-examples", type=int, default=64)
    parser.add_argument("--speed-rounds", type=int, default=5)
    return parser.parse_args()


def resolve_inputs(args: argparse.Namespace, workdir: Path) -> tuple[Path, Path]:
    model = args.model
    if model is None:
        from modeltests.demo.build import ensure_default_model

        model = ensure_default_model(progress=True)
    csv = args.csv or Path(__file__).resolve().parent.parent / "suites/data/sentiment_eval.csv"
    if not csv.is_file():
        from modeltests.demo.corpus import write_evaluation_csv

        csv = write_evaluation_csv(workdir / "eval.csv")
    return model, csv


def by_hand(model_dir: Path, texts: list[str], labels: list[str]) -> tuple[float, dict[str, Any]]:
    """Quantize and evaluate both models directly with torch and transformers; seconds taken."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    predict(model, tokenizer, texts[:32])  # warm-up, as the check's session has done
    started = time.perf_counter()
    with warnings.catch_warnings():  # torch.ao's notice that it moves to torchao
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model),
                                                           {torch.nn.Linear}, dtype=torch.qint8)
    p, q = predict(model, tokenizer, texts), predict(quantized, tokenizer, texts)
    truth = np.array(labels)
    names = np.array([model.config.id2label[i] for i in range(p.shape[1])])
    ref, new = names[p.argmax(1)], names[q.argmax(1)]
    metrics = {"agreement": float((ref == new).mean()),
               "accuracy_drop": float((ref == truth).mean() - (new == truth).mean())}
    return time.perf_counter() - started, metrics


def predict(model: Any, tokenizer: Any, texts: list[str], batch: int = 32) -> Any:
    """Probabilities in input order, batches of texts sorted by token count, longest first (as
    the adapter does)."""
    import numpy as np
    import torch

    counts = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: -counts[i])
    rows = np.zeros((len(texts), model.config.num_labels))
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            encoded = tokenizer([texts[i] for i in chunk], padding=True, truncation=True,
                                max_length=128, return_tensors="pt")
            logits = model(**encoded).logits
            rows[chunk] = torch.softmax(logits.double(), dim=-1).numpy()
    return rows


def with_check(model_dir: Path, csv: Path, rows: int, workdir: Path
               ) -> tuple[float, dict[str, float], Any, Any]:
    """The same work through :class:`modeltests.Session` and the quantization check; seconds
    taken by the run (the model is loaded and the evaluation set read before the clock starts)."""
    from modeltests import Session

    path = workdir / "suite.yaml"
    path.write_text(SUITE.format(model=model_dir, csv=csv, rows=rows))
    session = Session(workdir, cache=False)  # the check's own work, every time
    suite = session.suite(path)
    adapter = session.runtime.models.model(suite)
    dataset = session.runtime.datasets.dataset(suite, "eval")
    adapter.predict(dataset.texts[:32])  # warm-up
    started = time.perf_counter()
    record = session.run(path, select="quantization").checks[0]
    seconds = time.perf_counter() - started
    if record.result is None:
        raise RuntimeError(f"{record.name} {record.outcome}: {record.message}")
    return seconds, record.result.metrics, adapter, dataset


def main() -> None:
    import torch

    from modeltests.measure.compress import quantize_dynamic_int8
    from modeltests.measure.timing import time_alternately

    args = parse_args()
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir, csv = resolve_inputs(args, workdir)
        check_s, metrics, adapter, dataset = with_check(model_dir, csv, args.rows, workdir)
        hand_s, hand = by_hand(model_dir, dataset.texts, dataset.labels)
        print(f"model {model_dir}  rows {len(dataset)}  torch threads {threads}")
        print(f"by hand  {hand_s:7.2f} s  agreement {hand['agreement']:.4f}  "
              f"accuracy_drop {hand['accuracy_drop']:+.4f}")
        print(f"check    {check_s:7.2f} s  agreement {metrics['agreement']:.4f}  "
              f"accuracy_drop {metrics['accuracy_drop']:+.4f}  "
              f"size {metrics['size_reference_mb']:.1f} -> {metrics['size_compressed_mb']:.1f} MB")
        print(f"overhead ratio check / by hand: {check_s / hand_s:.2f} (one run)")
        int8 = adapter.with_module(quantize_dynamic_int8(adapter.torch_module()))
        timing = time_alternately(adapter, int8, dataset.texts[:args.speed_examples], 32,
                                  args.speed_rounds)
        print(f"int8 / fp32 speed-up: {timing.speedup:.2f}x  ({timing.examples} texts, "
              f"{timing.rounds} alternating rounds, model-only forward, torch threads "
              f"{timing.torch_threads})")


if __name__ == "__main__":
    main()
