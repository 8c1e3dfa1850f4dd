"""``quantization`` / ``pruning`` on a real BERT: the check's metrics equal the same numbers
computed by hand (torch quantization + two evaluations + numpy), and the reference is untouched."""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from modeltests import Session
    from modeltests.adapters.base import ModelAdapter
    from modeltests.api import CheckRecord
    from modeltests.result import CheckResult
    from modeltests.suite.loader import Suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = [pytest.mark.real,
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated")]

ROWS = 200  # of the 600 evaluation rows: enough flips to compare, quick on two busy cores
BATCH = 50

SUITE = """model:
  adapter: transformers
  path: {model}
  batch_size: {batch}
  sort_by_length: false
models:
  rebatched:
    adapter: transformers
    path: {model}
    batch_size: 25
    sort_by_length: false
datasets:
  eval:
    path: {csv}
    limit: {rows}
checks:
  - kind: quantization
    dataset: eval
    scheme: int8_dynamic
    speed_examples: 20
    speed_rounds: 2
    slices:
      - name: negation
        column: phenomenon
        equals: negation
  - kind: pruning
    dataset: eval
    sparsity: 0.5
    speed_examples: 0
    shuffled_batching: true       # off by default for pruning; on here to show why
  - kind: quantization
    dataset: eval
    compare_to: rebatched
    speed_examples: 10
    speed_rounds: 1
  - kind: quantization
    dataset: eval
    scheme: torchao_int8_dynamic
    speed_examples: 0
"""


@dataclass
class Project:
    """A :class:`modeltests.Session` (the public API) and the suite it runs."""

    session: Session
    path: Path

    @property
    def suite(self) -> Suite:
        return self.session.suite(self.path)

    def reference(self) -> ModelAdapter:
        """The session's reference model (loaded once, shared by every check)."""
        return self.session.runtime.models.model(self.suite)

    def record(self, name: str) -> CheckRecord:
        """Run the one check named ``kind[label]``; its record (outcome, message, result)."""
        run = self.session.run(self.path, select=name)
        assert [c.name for c in run.checks] == [name]
        return run.checks[0]

    def result(self, name: str) -> CheckResult:
        """The :class:`CheckResult` of a check that ran to a verdict."""
        record = self.record(name)
        assert record.result is not None, record.message
        return record.result


@pytest.fixture(scope="module")
def project(tiny_model_dir: Path, eval_csv: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Project]:
    """The suite above, run through :class:`modeltests.Session` as a user would."""
    from modeltests import Session

    directory = tmp_path_factory.mktemp("quantization")
    path = directory / "suite.yaml"
    path.write_text(SUITE.format(model=tiny_model_dir, csv=eval_csv, rows=ROWS, batch=BATCH))
    with Session(directory) as session:
        yield Project(session, path)


@pytest.fixture(scope="module")
def by_hand(tiny_model_dir: Path, eval_csv: Path) -> dict[str, Any]:
    """Texts, labels, tokenizer and an fp32 model loaded independently of modeltests."""
    import pandas as pd
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    frame = pd.read_csv(eval_csv).head(ROWS)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    return {"texts": list(frame["text"]), "labels": list(frame["label"]),
            "phenomenon": list(frame["phenomenon"]), "model": model,
            "tokenizer": AutoTokenizer.from_pretrained(tiny_model_dir)}


def probabilities(model: Any, tokenizer: Any, texts: list[str], batch: int = BATCH) -> Any:
    import numpy as np
    import torch

    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            encoded = tokenizer(texts[start:start + batch], padding=True, truncation=True,
                                max_length=256, return_tensors="pt")
            logits = model(**encoded).logits
            rows.append(torch.softmax(logits.to(torch.float64), dim=-1).numpy())
    return np.concatenate(rows)


def hand_metrics(labels: list[str], names: list[str], p: Any, q: Any) -> dict[str, float]:
    import numpy as np

    truth = np.array(labels)
    ref, new = np.array(names)[p.argmax(1)], np.array(names)[q.argmax(1)]
    eps = 1e-12
    pc, qc = np.clip(p, eps, 1), np.clip(q, eps, 1)
    pc, qc = pc / pc.sum(1, keepdims=True), qc / qc.sum(1, keepdims=True)
    acc_ref, acc_new = float((ref == truth).mean()), float((new == truth).mean())
    return {"accuracy_reference": acc_ref, "accuracy_compressed": acc_new,
            "accuracy_drop": acc_ref - acc_new, "relative_accuracy": acc_new / acc_ref,
            "agreement": float((ref == new).mean()),
            "mean_kl": float((pc * np.log(pc / qc)).sum(1).mean()),
            "max_prob_change": float(np.abs(p - q).max())}


def state_of(module: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same_state(before: dict[str, Any], module: Any) -> None:
    import torch

    after = module.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(type(m).__name__ != "DynamicQuantizedLinear" for m in module.modules())


def test_int8_dynamic_metrics_equal_a_hand_computation(project: Project, by_hand: dict) -> None:
    import torch

    reference = project.reference().torch_module()
    before = state_of(reference)
    result = project.result("quantization[int8_dynamic]")
    assert_same_state(before, reference)

    model, tokenizer, texts = by_hand["model"], by_hand["tokenizer"], by_hand["texts"]
    quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                       dtype=torch.qint8)
    p = probabilities(model, tokenizer, texts)
    q = probabilities(quantized, tokenizer, texts)
    names = [model.config.id2label[i] for i in range(p.shape[1])]
    expected = hand_metrics(by_hand["labels"], names, p, q)
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert result.sample_size == ROWS
    changed = int((p.argmax(1) != q.argmax(1)).sum())
    assert result.details["changed"] == changed
    assert len(result.examples) == min(changed, project.suite.defaults.max_examples)
    negation = [i for i, ph in enumerate(by_hand["phenomenon"]) if ph == "negation"]
    sliced = hand_metrics([by_hand["labels"][i] for i in negation], names, p[negation],
                          q[negation])
    assert result.metrics["slice.negation.agreement"] == pytest.approx(sliced["agreement"])
    assert result.metrics["size_compressed_mb"] < result.metrics["size_reference_mb"]
    assert result.details["timing"]["mode"] == "forward"
    assert result.metrics["speedup"] > 0


def test_batch_agreement_equals_a_hand_rebatched_int8_model(project: Project,
                                                           by_hand: dict) -> None:
    """The check predicts again in a seeded random order (seed 0), batched as given; by hand:
    the same order, the same batch size, the predictions put back in file order."""
    import random

    import torch

    result = project.result("quantization[int8_dynamic]")
    model, tokenizer, texts = by_hand["model"], by_hand["tokenizer"], by_hand["texts"]
    quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                       dtype=torch.qint8)
    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    first = probabilities(quantized, tokenizer, texts)
    shuffled = probabilities(quantized, tokenizer, [texts[i] for i in order])
    second = first.copy()
    second[order] = shuffled
    same = int((first.argmax(1) == second.argmax(1)).sum())
    assert result.metrics["batch_agreement"] == same / ROWS
    batching = result.details["batching"]
    assert batching["compressed"] == {"batch_size": BATCH, "order": "file order"}
    assert batching["second"]["changed"] == ROWS - same
    assert batching["second"]["max_prob_change"] == pytest.approx(
        float(abs(first - second).max()), rel=1e-9, abs=1e-12)
    low, high = result.intervals["batch_agreement"]
    assert low <= same / ROWS <= high


def test_int8_figures_carry_their_spread_over_batchings(project: Project, by_hand: dict) -> None:
    """Each batching the check reports equals the int8 model run by hand in that order and
    batch size (file order, the seed-0 shuffle, the seed-1 shuffle in batches of 25); the
    estimate is the configured batching's and its interval covers every batching's."""
    import random

    import numpy as np
    import torch

    from modeltests.stats.proportions import wilson_interval

    result = project.result("quantization[int8_dynamic]")
    model, tokenizer, texts = by_hand["model"], by_hand["tokenizer"], by_hand["texts"]
    quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                       dtype=torch.qint8)
    p = probabilities(model, tokenizer, texts)
    names = [model.config.id2label[i] for i in range(p.shape[1])]
    rows = {b["name"]: b for b in result.details["batchings"]}
    plans = (("as configured", None, BATCH), ("seeded shuffle", 0, BATCH),
             (f"seeded shuffle, batches of {BATCH // 2}", 1, BATCH // 2))
    assert list(rows) == [name for name, _, _ in plans]
    lows, highs, agreements = [], [], []
    for name, seed, batch in plans:
        order = list(range(len(texts)))
        if seed is not None:
            random.Random(seed).shuffle(order)
        q = np.empty_like(p)
        q[order] = probabilities(quantized, tokenizer, [texts[i] for i in order], batch)
        expected = hand_metrics(by_hand["labels"], names, p, q)
        for key in ("agreement", "accuracy_drop", "accuracy_compressed"):
            assert rows[name][key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), (name, key)
        same = int((p.argmax(1) == q.argmax(1)).sum())
        low, high = wilson_interval(same, ROWS)
        lows.append(low)
        highs.append(high)
        agreements.append(same / ROWS)
    assert result.metrics["agreement"] == pytest.approx(agreements[0])
    assert result.intervals["agreement"] == pytest.approx((min(lows), max(highs)))
    assert result.details["batching_spread"]["agreement"] == pytest.approx(
        [min(agreements), max(agreements)])


def test_pruned_fp32_model_does_not_depend_on_batching(project: Project) -> None:
    """Why ``pruning`` predicts once by default: under other batchings the fp32 copy moves its
    probabilities only by rounding and changes no prediction."""
    result = project.result("pruning[l1-0.5]")
    assert result.metrics["batch_agreement"] == 1.0
    assert result.details["batching"]["second"]["max_prob_change"] < 1e-5


def test_pruning_reaches_the_sparsity_and_matches_a_hand_pruned_model(project: Project,
                                                                      by_hand: dict) -> None:
    import torch
    from torch.nn.utils import prune

    reference = project.reference().torch_module()
    before = state_of(reference)
    result = project.result("pruning[l1-0.5]")
    assert_same_state(before, reference)
    assert result.metrics["sparsity"] == pytest.approx(0.5, abs=1e-3)
    assert "speedup" not in result.metrics  # speed_examples: 0

    pruned = copy.deepcopy(by_hand["model"])
    for layer in pruned.modules():
        if isinstance(layer, torch.nn.Linear):
            prune.l1_unstructured(layer, "weight", amount=0.5)
            prune.remove(layer, "weight")
    reached = result.details["weights_reached"]  # what the pruned copy holds, counted exactly
    assert reached["zeros"] == sum(int((w == 0).sum()) for w in pruned.parameters())
    assert reached["parameters"] == sum(w.numel() for w in pruned.parameters())
    assert reached["sparsity_by_layer_type"]["Linear"] > 0.49
    p = probabilities(by_hand["model"], by_hand["tokenizer"], by_hand["texts"])
    q = probabilities(pruned, by_hand["tokenizer"], by_hand["texts"])
    names = [by_hand["model"].config.id2label[i] for i in range(p.shape[1])]
    for key, value in hand_metrics(by_hand["labels"], names, p, q).items():
        assert result.metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_compare_to_a_second_suite_model(project: Project) -> None:
    result = project.result("quantization[rebatched]")
    assert result.metrics["agreement"] == 1.0  # same weights, other batching
    assert result.metrics["accuracy_drop"] == 0.0
    assert result.metrics["mean_kl"] < 1e-8
    assert result.metrics["size_ratio"] == 1.0
    assert result.details["candidate"] == "models.rebatched"


def test_torchao_int8_dynamic(project: Project) -> None:
    pytest.importorskip("torchao", reason="torchao is the optional extra modeltests[torchao]")
    result = project.result("quantization[torchao_int8_dynamic]")
    assert result.metrics["agreement"] >= 0.9


def test_torchao_missing_is_a_clear_message(project: Project) -> None:
    from modeltests.measure.compress import torchao_available

    if torchao_available():
        pytest.skip("torchao is installed")
    record = project.record("quantization[torchao_int8_dynamic]")
    assert record.outcome == "failed" and record.result is None
    assert re.fullmatch(r"suite\.yaml:\d+: checks\[3\]\.scheme: scheme torchao_int8_dynamic "
                        r"needs torchao, which is not installed \(.*\); "
                        r"run: pip install modeltests\[torchao\]", record.message), record.message
