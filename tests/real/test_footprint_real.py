"""The footprint check on a real BERT (the tiny one) against closed forms.

What ``FlopCounterMode`` counts: matrix products only (``addmm`` for the linear layers, the
attention products, at 2 FLOPs per multiply-add); softmax, layer norm, GELU, bias additions
(``addmm`` counts its product, not its add), embeddings and the residual additions count 0. So
the closed form below counts the same products, and the two agree exactly:

* linear layers: 2 x (weights of the layer's linear maps) per token: per encoder layer
  ``4 h^2`` (query, key, value, output) + ``2 h i`` (feed-forward), times the sequence length;
* attention: ``Q K^T`` and ``softmax(.) V``, ``s^2 h`` multiply-adds each: ``4 s^2 h`` per layer;
* the pooler (``h^2``) and the classifier (``h k``) run on the first token only.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

# Imported before pytester's in-process run, which drops the modules first imported inside it
# (torch does not survive a second import in one process).
import torch  # noqa: F401
import torch._dynamo  # noqa: F401  (a dispatcher mode imports it on first use)
import torch.utils.flop_counter  # noqa: F401
import transformers  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real


def _closed_form(config: object, length: int) -> int:
    h = config.hidden_size  # type: ignore[attr-defined]
    i = config.intermediate_size  # type: ignore[attr-defined]
    layers = config.num_hidden_layers  # type: ignore[attr-defined]
    k = config.num_labels  # type: ignore[attr-defined]
    per_layer = 2 * length * (4 * h * h + 2 * h * i) + 4 * length * length * h
    return layers * per_layer + 2 * h * h + 2 * h * k


def test_flops_of_the_tiny_bert_match_the_closed_form(
        pytester: pytest.Pytester, tiny_model_dir: Path, eval_csv: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "tiny.yaml").write_text(f"""model:
  adapter: transformers
  path: {tiny_model_dir}
checks:
  - kind: footprint
    sequence_lengths: [8, 32, 64]
    batch_size: 2
    timed_calls: 0
    max_gflops: 1
""")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    entry = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["checks"][0]
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    for config in entry["details"]["footprint"]:
        length = config["sequence_length"]
        assert config["flops"] == 2 * _closed_form(model.config, length)  # batch of 2
        assert config["gflops_per_input"] == _closed_form(model.config, length) / 1e9
    assert entry["metrics"]["gflops"] == _closed_form(model.config, 64) / 1e9
    parameters = list(model.parameters())
    assert entry["metrics"]["parameters"] == sum(p.numel() for p in parameters)
    assert entry["metrics"]["weight_bytes"] == sum(p.numel() * 4 for p in parameters) + sum(
        b.numel() * b.element_size() for b in model.buffers())
    linear = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)
                 for p in m.parameters(recurse=False))
    assert entry["details"]["weights"]["by_layer_type"]["Linear"]["parameters"] == linear
    html = (pytester.path / "reports" / "modeltests.html").read_text()
    assert "GFLOPs per input against sequence length" in html


def test_one_bert_layer_against_the_closed_form(tiny_model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    from modeltests.measure.footprint import count_flops

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    h, i = model.config.hidden_size, model.config.intermediate_size
    layer = model.bert.encoder.layer[0]
    for length in (16, 100):
        hidden = torch.randn(1, length, h)
        with torch.inference_mode():
            flops, by_op = count_flops(lambda: layer(hidden))
        assert flops == 2 * length * (4 * h * h + 2 * h * i) + 4 * length * length * h
        assert set(by_op) <= {"aten.addmm", "aten.bmm",
                              "aten._scaled_dot_product_flash_attention_for_cpu"}


def test_sparsity_counts_exact_zeros_per_layer_type(tiny_model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    from modeltests.measure.footprint import weight_facts

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    before = weight_facts(model)
    weight = model.bert.encoder.layer[0].intermediate.dense.weight
    with torch.no_grad():
        weight[: weight.shape[0] // 2] = 0.0
    after = weight_facts(model)
    added = weight.numel() // 2
    assert after.by_type["Linear"].zeros == before.by_type["Linear"].zeros + added
    assert after.zeros == before.zeros + added
    assert after.sparsity == pytest.approx(after.zeros / sum(p.numel() for p in model.parameters()))
    assert after.by_type["LayerNorm"].zeros == before.by_type["LayerNorm"].zeros


def test_activation_peak_of_a_two_layer_network_by_hand() -> None:
    import torch

    from modeltests.measure.footprint import activation_peak_bytes

    x = torch.randn(4, 100)
    # Linear(100, 1000) makes 4 x 1000 floats (16,000 bytes); ReLU another 16,000 while the
    # first is still held; the first is freed before Linear(1000, 10) adds 160 bytes.
    separate = torch.nn.Sequential(torch.nn.Linear(100, 1000), torch.nn.ReLU(),
                                   torch.nn.Linear(1000, 10))
    in_place = torch.nn.Sequential(torch.nn.Linear(100, 1000), torch.nn.ReLU(inplace=True),
                                   torch.nn.Linear(1000, 10))
    with torch.inference_mode():
        assert activation_peak_bytes(lambda: separate(x)) == 32_000
        assert activation_peak_bytes(lambda: in_place(x)) == 16_160


def test_a_pruned_model_under_models_reaches_its_sparsity_floor(
        pytester: pytest.Pytester, tiny_model_dir: Path) -> None:
    from torch.nn.utils import prune
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            prune.l1_unstructured(layer, "weight", amount=0.6)
            prune.remove(layer, "weight")
    model.save_pretrained(pytester.path / "pruned")
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(pytester.path / "pruned")
    parameters = list(model.parameters())
    sparsity = sum(int((p == 0).sum()) for p in parameters) / sum(p.numel() for p in parameters)
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "tiny.yaml").write_text(f"""model:
  adapter: transformers
  path: {tiny_model_dir}
models:
  pruned:
    adapter: transformers
    path: ../pruned
checks:
  - kind: footprint
    model: pruned
    sequence_lengths: [16]
    timed_calls: 0
    min_weight_sparsity: {sparsity - 0.01:.4f}
  - kind: footprint
    name: dense
    sequence_lengths: [16]
    timed_calls: 0
    min_weight_sparsity: {sparsity - 0.01:.4f}
""")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "suites/tiny.yaml  footprint[[]pruned]  PASS     *",
        f"suites/tiny.yaml  footprint[[]dense]   FAIL     weight_sparsity * < "
        f"{sparsity - 0.01:.3f}"])  # the dense model's few zeros: padding rows
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    pruned = document["checks"][0]
    assert pruned["metrics"]["weight_sparsity"] == pytest.approx(sparsity, abs=1e-12)
    linear = [p for m in model.modules() if isinstance(m, torch.nn.Linear)
              for p in m.parameters(recurse=False)]  # weights pruned at 0.6, biases kept
    by_hand = sum(int((p == 0).sum()) for p in linear) / sum(p.numel() for p in linear)
    assert pruned["details"]["weights"]["by_layer_type"]["Linear"]["sparsity"] == \
        pytest.approx(by_hand, abs=1e-12)
