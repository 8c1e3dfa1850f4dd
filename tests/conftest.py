"""Shared fixtures: pytester, and real models built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real BERT classifier (negative/positive), trained here in seconds, saved with
    ``save_pretrained`` so tests load it with ``from_pretrained``."""
    from modeltests.demo.tiny import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")


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
