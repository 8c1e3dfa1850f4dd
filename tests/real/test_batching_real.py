"""Token-aware batching on a real transformers model (the tiny BERT): the same predictions as
batches tokenized and padded by the tokenizer itself, in file order, under every batching
option, on text whose characters-per-token vary widely; and the padded batches equal what
``tokenizer(..., padding=True)`` builds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def texts(eval_csv: Path) -> list[str]:
    import pandas as pd

    from modeltests.demo.varied import varied_examples

    plain = [str(t) for t in pd.read_csv(eval_csv).text[:150]]
    return plain + varied_examples(150, seed=3)[0] + ["", "🔥" * 300]


@pytest.fixture(scope="module")
def by_hand(tiny_model_dir: Path, texts: list[str]) -> np.ndarray:
    """Softmax of the tiny BERT, batches of 16 in file order tokenized with padding=True."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), 16):
            batch = tokenizer(texts[start:start + 16], padding=True, truncation=True,
                              max_length=64, return_tensors="pt")
            rows.append(torch.softmax(model(**batch).logits.double(), dim=-1).numpy())
    return np.concatenate(rows)


def load(model_dir: Path, tmp_path: Path, **params: Any) -> Any:
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.transformers import TransformersParams, load_transformers

    return load_transformers(TransformersParams(path=str(model_dir), max_length=64, **params),
                             LoadContext(base_dir=tmp_path, rootdir=tmp_path))


@pytest.mark.parametrize("params", [
    {"batch_size": 16},
    {"batch_size": 16, "sort_by_length": False},
    {"batch_size": 64, "max_tokens_per_batch": 300},
    {"batch_size": 1},
], ids=["sorted", "given-order", "token-budget", "one-by-one"])
def test_same_predictions_as_tokenizer_padding(tiny_model_dir: Path, tmp_path: Path,
                                               texts: list[str], by_hand: np.ndarray,
                                               params: dict[str, Any]) -> None:
    model = load(tiny_model_dir, tmp_path, **params)
    seen: list[int] = []
    model.on_batch = seen.append
    predictions = model.predict(texts)
    assert predictions.probabilities is not None
    assert (predictions.probabilities.argmax(1) == by_hand.argmax(1)).all()
    assert np.abs(predictions.probabilities - by_hand).max() < 1e-5
    assert sum(seen) == len(texts) and max(seen) <= params["batch_size"]


def test_batches_follow_the_plan(tiny_model_dir: Path, tmp_path: Path,
                                 texts: list[str]) -> None:
    """Longest first, within the token budget; in the order given without sorting."""
    from modeltests.adapters.batching import plan_batches

    model = load(tiny_model_dir, tmp_path, batch_size=32, max_tokens_per_batch=640)
    counts = [len(ids) for ids in model.tokenizer(texts, truncation=True,
                                                  max_length=64)["input_ids"]]
    shapes: list[tuple[int, int]] = []
    forward = model.forward
    model.forward = lambda batch: (shapes.append(tuple(batch["input_ids"].shape)),
                                   forward(batch))[1]
    model.predict(texts)
    plan = plan_batches(counts, 32, 640)
    assert shapes == [(len(b), max(counts[i] for i in b)) for b in plan]
    assert shapes[0][1] == 64 and all(rows * width <= 640 for rows, width in shapes)
    assert [b[0] for b in plan][:1] == [counts.index(max(counts))]
    given = model.in_given_order()
    assert given.batching().to_json() == {"batch_size": 32, "order": "as given",
                                          "max_tokens_per_batch": 640}
    assert model.batching().to_json()["order"] == "sorted by tokens"


def test_padded_batch_equals_the_tokenizers(tiny_model_dir: Path, tmp_path: Path,
                                            texts: list[str]) -> None:
    model = load(tiny_model_dir, tmp_path)
    encoded = model.tokenizer(texts, truncation=True, max_length=64)
    features = {key: list(values) for key, values in encoded.items()}
    chunk = [3, 160, 301, 7, 200]
    ours = model._padded(features, chunk)
    theirs = model.tokenizer([texts[i] for i in chunk], padding=True, truncation=True,
                             max_length=64, return_tensors="pt")
    assert set(ours) == set(theirs.keys())
    for key in ours:
        assert ours[key].tolist() == theirs[key].tolist(), key
