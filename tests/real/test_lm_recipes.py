"""The language-model quantization recipes (:mod:`modeltests.measure.compress`) on a real
GPT-2 (transformers ``GPT2LMHeadModel``, a tiny random one: these tests are about what each
recipe does to which layer), and the ``quantization`` check on a text generator whose torch
module is that GPT-2: its per-token KL, agreement and perplexity ratio equal the same numbers
computed by hand (scipy's entropy) on the same quantized copy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from modeltests.measure.compress import (compress, linear_sparsity, output_head_name,
                                         prune_l1_unstructured, torchao_available)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = [pytest.mark.real,
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated")]

WORDS = "the cat sat on a mat and then it ran far away to see dog who was there".split()


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GPT-2 (2 layers, width 32) with seeded random weights, saved with
    ``save_pretrained``; the initialisation is wide enough that next-token distributions are
    peaked (so quantization moves them measurably)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(WORDS), n_positions=32, n_embd=32, n_layer=2, n_head=2,
                        initializer_range=0.4)
    directory = tmp_path_factory.mktemp("gpt2")
    GPT2LMHeadModel(config).eval().save_pretrained(directory)
    return directory


def _quantized_types(module: torch.nn.Module) -> dict[str, str]:
    return {name: type(layer).__module__.split(".")[-4] if "quantized" in type(layer).__module__
            else "float" for name, layer in module.named_modules()
            if isinstance(layer, torch.nn.Linear) or "Linear" in type(layer).__name__
            or type(layer).__name__ == "Conv1D"}


@pytest.mark.parametrize("scheme", ["int8_dynamic", "int8_dynamic_per_channel"])
@pytest.mark.parametrize("float_head", [False, True])
def test_int8_recipes_quantize_every_projection_and_keep_the_head_when_asked(
        gpt2_dir: Path, scheme: str, float_head: bool) -> None:
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compressed = compress(model, scheme, float_head)  # type: ignore[arg-type]
    assert output_head_name(model) == "lm_head"
    layers = dict(compressed.named_modules())
    projections = [n for n in layers if n.split(".")[-1] in ("c_attn", "c_proj", "c_fc")]
    assert len(projections) == 2 * 4  # per block: attention in/out, MLP in/out (GPT-2 Conv1D)
    for name in projections:  # every Conv1D became a Linear and was quantized
        assert "quantized" in type(layers[name]).__module__, name
        qscheme = layers[name].weight().qscheme()
        assert qscheme == (torch.per_channel_affine if scheme.endswith("per_channel")
                           else torch.per_tensor_affine)
    assert ("quantized" in type(layers["lm_head"]).__module__) is not float_head
    assert type(layers["transformer.wte"]) is torch.nn.Embedding  # embeddings stay float
    for key, value in model.state_dict().items():  # the reference is untouched
        assert torch.equal(value, before[key]), key
    ids = torch.arange(len(WORDS))[None, :12]
    with torch.inference_mode():
        out = torch.log_softmax(compressed(ids).logits, -1)
    assert torch.isfinite(out).all()


def test_pruning_reaches_gpt2_projections(gpt2_dir: Path) -> None:
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()
    pruned = prune_l1_unstructured(model, 0.5)
    c_fc = pruned.transformer.h[0].mlp.c_fc
    assert isinstance(c_fc, torch.nn.Linear)
    assert float((c_fc.weight == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    assert linear_sparsity(pruned) == pytest.approx(0.5, abs=0.01)


def test_torchao_recipe_says_how_to_install_it(gpt2_dir: Path) -> None:
    from transformers import GPT2LMHeadModel

    from modeltests.errors import MissingResourceError

    if torchao_available():
        pytest.skip("torchao is installed here: the missing-package message is not reachable")
    model = GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()
    with pytest.raises(MissingResourceError, match=r"pip install modeltests\[torchao\]"):
        compress(model, "torchao_int8_weight_only", True)


CONFTEST = '''
from typing import Literal

import numpy as np
import torch
from transformers import GPT2LMHeadModel

from modeltests import AdapterKind, AdapterParams
from modeltests.adapters.generation import ContinuationScore, Generation, TextGenerator, TokenLogprobs

WORDS = {words!r}


class Gpt2Params(AdapterParams):
    adapter: Literal["gpt2words"] = "gpt2words"
    path: str


class Gpt2Words(TextGenerator):
    """A GPT-2 over a word vocabulary (one token per word)."""

    def __init__(self, module):
        self.module = module

    def torch_module(self):
        return self.module

    def with_module(self, module):
        return Gpt2Words(module)

    def _ids(self, text):
        return [WORDS.index(w) for w in text.split()]

    def count_tokens(self, text):
        return len(text.split())

    def token_logprobs(self, texts):
        out = []
        with torch.inference_mode():
            for text in texts:
                ids = self._ids(text)
                logits = self.module(torch.tensor([ids])).logits[0, :-1].float()
                out.append(TokenLogprobs(tuple(ids), torch.log_softmax(logits, -1).numpy()))
        return out

    def generate(self, prompts, request):
        answers = []
        with torch.inference_mode():
            for prompt in prompts:
                ids = self._ids(prompt)
                new = []
                for _ in range(request.max_new_tokens):
                    new.append(int(self.module(torch.tensor([ids + new])).logits[0, -1].argmax()))
                answers.append(Generation(" ".join(WORDS[i] for i in new), "length", tuple(new)))
        return answers

    def score(self, pairs):
        return [ContinuationScore(-1.0, 1, False) for _ in pairs]


def pytest_modeltests_register_adapters(registry):
    registry.add_adapter(AdapterKind("gpt2words", Gpt2Params, lambda params, ctx:
        Gpt2Words(GPT2LMHeadModel.from_pretrained(params.path).eval())))
'''


def test_check_figures_equal_a_hand_computation(gpt2_dir: Path, pytester: pytest.Pytester
                                                ) -> None:
    import json

    from scipy.stats import entropy
    from transformers import GPT2LMHeadModel

    rng = np.random.default_rng(0)
    documents = [" ".join(rng.choice(WORDS, size=int(rng.integers(5, 15)))) for _ in range(12)]
    pytester.makeconftest(CONFTEST.format(words=WORDS))
    (pytester.path / "docs.csv").write_text("text,label\n" + "".join(f"{d},x\n"
                                                                      for d in documents))
    checks = "".join(
        f"  - kind: quantization\n    dataset: docs\n    scheme: {scheme}\n"
        f"    float_head: {str(head).lower()}\n    speed_examples: 0\n    max_mean_kl: 10\n"
        for scheme, head in (("int8_dynamic", False), ("int8_dynamic", True)))
    (pytester.path / "suite.yaml").write_text(
        f"model:\n  adapter: gpt2words\n  path: {gpt2_dir}\ndatasets:\n  docs:\n"
        f"    path: docs.csv\nchecks:\n{checks}")
    result = pytester.runpytest("suite.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    by_name = {c["nodeid"].split("::")[1]: c for c in report["checks"]}
    model = GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()
    for name, head in (("quantization[int8_dynamic]", False),
                       ("quantization[int8_dynamic+float_head]", True)):
        copy = compress(model, "int8_dynamic", head)
        kl, agree, nll_ref, nll_new, tokens = [], 0, 0.0, 0.0, 0
        with torch.inference_mode():
            for document in documents:
                ids = [WORDS.index(w) for w in document.split()]
                ref = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1], -1).numpy()
                new = torch.log_softmax(copy(torch.tensor([ids])).logits[0, :-1], -1).numpy()
                kl.extend(entropy(np.exp(ref), np.exp(new), axis=1))
                agree += int((ref.argmax(1) == new.argmax(1)).sum())
                picked = (np.arange(len(ids) - 1), ids[1:])
                nll_ref -= float(ref[picked].sum())
                nll_new -= float(new[picked].sum())
                tokens += len(ids) - 1
        metrics = by_name[name]["metrics"]
        assert by_name[name]["details"]["tokens"] == tokens
        assert metrics["mean_kl"] == pytest.approx(np.mean(kl), rel=1e-3, abs=1e-6)
        assert metrics["agreement"] == pytest.approx(agree / tokens)
        assert metrics["perplexity_ratio"] == pytest.approx(np.exp((nll_new - nll_ref) / tokens),
                                                            rel=1e-4)
        assert by_name[name]["details"]["float_head" if head else "candidate"] == \
            ("lm_head" if head else "int8_dynamic")


@pytest.mark.parametrize("float_head", [False, True])
def test_torchao_weight_only_quantizes_projections_and_keeps_the_head_when_asked(
        gpt2_dir: Path, float_head: bool) -> None:
    from transformers import GPT2LMHeadModel

    if not torchao_available():
        pytest.skip("torchao is not installed (pip install modeltests[torchao])")
    model = GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()
    compressed = compress(model, "torchao_int8_weight_only", float_head)
    c_attn = compressed.transformer.h[0].attn.c_attn
    assert isinstance(c_attn, torch.nn.Linear)  # GPT-2's Conv1D, as a Linear
    assert type(c_attn.weight).__module__.startswith("torchao")
    assert type(compressed.lm_head.weight).__module__.startswith("torchao") is not float_head
    assert type(model.lm_head.weight) is torch.nn.Parameter  # the reference is untouched
