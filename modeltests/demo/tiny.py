"""A tiny BERT sentiment classifier trained from scratch in seconds: the fast model for tests.

It is a real ``transformers`` model (2 layers, hidden 64) with its own WordPiece tokenizer,
saved with ``save_pretrained`` so that ``AutoTokenizer`` and
``AutoModelForSequenceClassification.from_pretrained(directory)`` reload it offline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modeltests.demo.build import evaluate, train_classifier
from modeltests.demo.cache import built_once, write_marker
from modeltests.demo.corpus import evaluation_examples, training_examples
from modeltests.demo.vocabulary import counted_wordpiece

TINY_RECIPE = "tiny-bert-v3"  # v3: a counted vocabulary (demo/vocabulary.py), not a trained one
VOCAB_SIZE = 2000
TRAIN_SIZE = 6000
EPOCHS = 3
LEARNING_RATE = 2e-3
# One thread: as fast as two for a model this small on a quiet machine, and many times faster
# when other processes compete for the cores (OpenMP threads then wait on each other). It also
# makes the weights the same on every machine.
THREADS = 1


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(count)``, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _tiny_config(vocab_size: int, labels: Sequence[str]) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=128,
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )


def build_tiny_bert(
    directory: Path, seed: int = 0, labels: Sequence[str] = ("negative", "positive")
) -> Path:
    """Train a tiny BERT on 6,000 :func:`training_examples` and save it into ``directory``.

    Takes about 10-20 s on two cores. ``labels`` are the label names in class-id order; the
    generated corpus uses "negative" and "positive", so only their order may change. The
    directory also gets ``BUILD_OK.json`` with the evaluation accuracy.
    """
    import torch
    from transformers import BertForSequenceClassification

    started = time.perf_counter()
    directory = Path(directory)
    examples = training_examples(seed, TRAIN_SIZE)
    tokenizer = counted_wordpiece([text for text, _ in examples], VOCAB_SIZE)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(_tiny_config(len(tokenizer), labels))
    with torch_threads(THREADS):
        train_classifier(model, tokenizer, examples, epochs=EPOCHS, learning_rate=LEARNING_RATE,
                         seed=seed, desc="training tiny BERT", label2id=model.config.label2id)
        scores = evaluate(model, tokenizer, evaluation_examples())
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    marker = {"recipe": TINY_RECIPE, "accuracy": scores["overall"],
              "accuracy_by_phenomenon": {k: v for k, v in scores.items() if k != "overall"},
              "seconds": round(time.perf_counter() - started, 1), "seed": seed,
              "threads": THREADS}
    write_marker(directory, marker)
    return directory


def ensure_tiny_bert() -> Path:
    """The tiny BERT of :func:`build_tiny_bert`, built once into ``<cache>/test-models/`` and
    reused (see :func:`modeltests.demo.cache.built_once`)."""
    from modeltests.support.environment import cache_dir

    return built_once(cache_dir() / "test-models" / TINY_RECIPE, TINY_RECIPE, build_tiny_bert)
