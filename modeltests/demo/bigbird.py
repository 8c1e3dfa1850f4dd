"""The seed's BigBird experiment: a tiny block-sparse BigBird classifier and a BERT of the same
width, both trained from scratch in seconds on the generated corpus.

Both are real ``transformers`` models (hidden 128, 2 layers, 2 heads, 4,096 positions) sharing
one WordPiece tokenizer (:func:`modeltests.demo.vocabulary.counted_wordpiece`, ``model_max_length``
4,096). BigBird's own tokenizer class is sentencepiece-based; the ``BertTokenizerFast`` saved
beside the model names its class in ``tokenizer_config.json``, so ``AutoTokenizer`` reloads it.
Training texts are short, so BigBird trains with full attention (transformers falls back below
its block-sparse threshold); the saved configuration still says ``block_sparse``, which is what
runs on long inputs. ``builtin:bigbird-tiny`` and ``builtin:bert-wide-tiny`` build them once
into ``<cache>/models/``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from modeltests.demo.build import evaluate, train_classifier
from modeltests.demo.cache import built_once, write_marker
from modeltests.demo.vocabulary import counted_wordpiece
from modeltests.demo.corpus import evaluation_examples, training_examples

Architecture = Literal["bigbird", "bert"]
RECIPES: dict[Architecture, str] = {"bigbird": "bigbird-tiny-v2", "bert": "bert-wide-tiny-v2"}
MAX_POSITIONS = 4096
HIDDEN = 128
TRAIN_SIZE = 3000
EPOCHS = 2
LEARNING_RATE = 2e-3
THREADS = 1  # as in modeltests.demo.tiny: deterministic, and fastest on a shared machine
BIGBIRD_LOGGER = "transformers.models.big_bird.modeling_big_bird"


def _config(architecture: Architecture, vocab_size: int, labels: Sequence[str]) -> Any:
    from transformers import BertConfig, BigBirdConfig

    shape: dict[str, Any] = dict(
        vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=4 * HIDDEN, max_position_embeddings=MAX_POSITIONS, pad_token_id=0,
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )
    if architecture == "bert":
        return BertConfig(**shape)
    # transformers' defaults (block 64, 3 random blocks): block-sparse above 704 tokens
    return BigBirdConfig(attention_type="block_sparse", block_size=64, num_random_blocks=3,
                         **shape)


@contextmanager
def quiet_bigbird() -> Iterator[None]:
    """Silence BigBird's "changing attention type to 'original_full'" warning while training
    on short texts (expected there: every training text is far below the threshold)."""
    logger = logging.getLogger(BIGBIRD_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_wide_model(architecture: Architecture, directory: Path, seed: int = 0,
                     labels: Sequence[str] = ("negative", "positive")) -> Path:
    """Train the tiny BigBird (``"bigbird"``) or its same-width BERT (``"bert"``) on 3,000
    :func:`training_examples` and save it with its tokenizer into ``directory``.

    About 20-40 s on one core of this shared machine. The directory also gets ``BUILD_OK.json`` with the
    evaluation accuracy.
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    from modeltests.demo.tiny import torch_threads

    started = time.perf_counter()
    directory = Path(directory)
    examples = training_examples(seed, TRAIN_SIZE)
    tokenizer = counted_wordpiece([text for text, _ in examples], None, MAX_POSITIONS)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(
        _config(architecture, len(tokenizer), labels))
    with torch_threads(THREADS), quiet_bigbird():
        train_classifier(model, tokenizer, examples, epochs=EPOCHS, learning_rate=LEARNING_RATE,
                         seed=seed, desc=f"training tiny {architecture}",
                         label2id=model.config.label2id)
        scores = evaluate(model, tokenizer, evaluation_examples())
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    marker = {"recipe": RECIPES[architecture], "accuracy": scores["overall"],
              "accuracy_by_phenomenon": {k: v for k, v in scores.items() if k != "overall"},
              "seconds": round(time.perf_counter() - started, 1), "seed": seed,
              "threads": THREADS}
    write_marker(directory, marker)
    return directory


def ensure_wide_model(architecture: Architecture, progress: bool = True) -> Path:
    """The model of :func:`build_wide_model`, built once into ``<cache>/models/<recipe>`` and
    reused (see :func:`modeltests.demo.cache.built_once`)."""
    from modeltests.support.environment import cache_dir

    recipe = RECIPES[architecture]
    target = cache_dir() / "models" / recipe
    return built_once(target, recipe, lambda work: build_wide_model(architecture, work),
                      f"building builtin model {recipe} (once, 20-40 s) into {target}"
                      if progress else None)
