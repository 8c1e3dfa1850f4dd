"""Shared fixtures: pytester, and real models built once per test session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas.io.parquet
import pytest
from hypothesis import settings as hypothesis_settings

# pandas registers its pyarrow extension types (a process-wide registry) when its parquet engine
# first loads. If that happens inside a pytester run, pytester drops the module afterwards and
# the next load registers them again: ArrowKeyError "pandas.period already defined". Loading the
# engine here puts it in every pytester snapshot.
pandas.io.parquet.get_engine("pyarrow")
# The same for Hugging Face `datasets` (TextAttack imports it): its Array2D... extension types
# registered inside a pytester run make the next TextAttack import fail with "already defined".
# `datasets` imports httpx, whose transport maps httpcore's exceptions to its own through a table
# filled once: httpcore must then be in every snapshot too, or a run that re-imports it raises
# httpcore.ReadTimeout where httpx.ReadTimeout is caught.
try:
    import datasets.features  # noqa: F401
except ImportError:  # TextAttack (and with it datasets) not installed: nothing registers them
    pass
import httpcore  # noqa: E402, F401  (httpx's dependency, as modeltests' is)
# The same for torch's operator library of its inductor tests: a test whose in-process run first
# imports it (through transformers, with some extras installed) leaves a later run that imports it
# again failing to load any torch model ("Only a single TORCH_LIBRARY can be used to register
# the namespace _inductor_test"). Imported once here, it stays in every snapshot.
try:
    import torch._inductor.test_operators  # noqa: E402, F401
except ImportError:  # torch not installed: nothing to register
    pass

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

pytest_plugins = ["pytester"]

# No timed assertions: hypothesis' per-example deadline fails on a busy shared machine.
hypothesis_settings.register_profile("modeltests", deadline=None)
hypothesis_settings.load_profile("modeltests")

# Fixtures that train or load a real model: a test that uses one is in the real tier.
MODEL_FIXTURES = {"tiny_model_dir", "demo_model_dir", "tiny_dir", "default_dir", "pair_model_dir",
                  "ner_model_dir", "gpt_tiny_dir", "digits_model_dir", "digits_vit_dir",
                  "digits_timm_dir"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that loads or trains a model ``real`` (``-m "not real"`` is the fast
    tier), whether or not its module says so."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real)


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A small real BERT classifier (negative/positive) trained here, saved with
    ``save_pretrained`` so tests load it with ``from_pretrained``.

    Built once per recipe into the modeltests cache (outside the repository) and reused: a build
    takes ~30 s on a quiet machine and many minutes beside other busy processes.
    """
    from modeltests.demo.tiny import ensure_tiny_bert

    return ensure_tiny_bert()


@pytest.fixture(scope="session")
def digits_model_dir() -> Path:
    """``builtin:digits-cnn`` (a small CNN on scikit-learn's 8x8 digits, ``weights.pt``),
    trained once into the modeltests cache (about 15 s with one thread)."""
    from modeltests.demo.digits import ensure_digits_cnn

    return ensure_digits_cnn()


@pytest.fixture(scope="session")
def digits_vit_dir() -> Path:
    """``builtin:digits-vit``: a tiny transformers ViT on the same digits, saved with
    ``save_pretrained`` beside its ``ViTImageProcessor`` (about 10 s, once, one thread)."""
    from modeltests.demo.digits_pretrained import ensure_digits_vit

    return ensure_digits_vit()


@pytest.fixture(scope="session")
def timm_lib() -> Any:
    """timm, or a skip saying why it cannot be imported here (it is not in the dev extra: see
    pyproject.toml's ``timm`` extra; PyPI's torchvision fails to import beside the CPU torch)."""
    try:
        import timm
        import timm.data
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        pytest.skip(f"timm is not importable here ({type(exc).__name__}: {first}); "
                    "pip install 'modeltests[timm]' with a CPU torchvision")
    return timm


@pytest.fixture(scope="session")
def digits_timm_dir(timm_lib: Any) -> Path:
    """``builtin:digits-timm``: timm's ``test_efficientnet`` (one channel) trained on the digits,
    ``model.safetensors`` (about 10 s, once, one thread); skipped where timm is not importable."""
    from modeltests.demo.digits_pretrained import ensure_digits_timm

    return ensure_digits_timm()


@pytest.fixture(scope="session")
def ner_model_dir() -> Path:
    """The demo NER model (``builtin:ner-tiny``, a tiny BERT token classifier), built once
    into the modeltests cache (about 15 s with one thread) under a file lock."""
    from modeltests.demo.ner_model import ensure_ner_model

    return ensure_ner_model(progress=False)


@pytest.fixture(scope="session")
def pair_model_dir() -> Path:
    """The tiny NLI BERT of ``builtin:nli-tiny`` (entailment / neutral / contradiction on
    generated pairs), built once into the modeltests cache (~40 s of one core) and reused."""
    from modeltests.demo.pairs import ensure_pair_bert

    return ensure_pair_bert()


@pytest.fixture(scope="session")
def gpt_tiny_dir() -> Path:
    """The tiny GPT-2 of ``builtin:gpt-tiny`` (word-level tokenizer, about 10^5 parameters,
    trained on :mod:`modeltests.demo.lm_corpus`, whose facts are the ground truth), built once
    into the modeltests cache (about 80 s of one core) and reused; load it with
    ``AutoModelForCausalLM.from_pretrained`` or ``task: text-generation``."""
    from modeltests.demo.gpt_tiny import ensure_gpt_tiny

    return ensure_gpt_tiny(progress=False)


@pytest.fixture(scope="session")
def demo_model_dir() -> Path:
    """The embedded default model (MiniLM-L6 fine-tuned for sentiment), cached outside the repo."""
    from modeltests.demo.build import ensure_default_model

    return ensure_default_model(progress=False)


@pytest.fixture(scope="session")
def eval_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo evaluation set as a CSV file."""
    from modeltests.demo.corpus import write_evaluation_csv

    return write_evaluation_csv(tmp_path_factory.mktemp("data") / "eval.csv")
