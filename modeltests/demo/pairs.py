"""A generated natural-language-inference task over the demo corpus, and a tiny BERT trained on it.

Premises are the demo corpus's review sentences (:mod:`modeltests.demo.corpus`: every
phenomenon, every topic); hypotheses are short statements about the review:

- ``entailment``: the hypothesis restates the premise's sentiment ("The reviewer liked the
  hotel.", "The writer would recommend the app.");
- ``contradiction``: it states the opposite sentiment ("The hotel was bad.");
- ``neutral``: it says something the review does not settle ("The reviewer went there with a
  friend.").

So the label depends on both sides together: the same hypothesis is entailed by a positive
review and contradicted by a negative one. Some hypothesis templates are held out of training
(``split="eval"``), so the evaluation set partly uses phrasings the model never saw. Everything
is seeded; the same arguments always give the same pairs in the same order.

:func:`build_pair_bert` trains the model (2 layers, hidden 64, its own WordPiece tokenizer with
the ``[CLS] a [SEP] b [SEP]`` pair template) with one thread, deterministically, and saves it
with ``save_pretrained``; :func:`ensure_pair_bert` builds it once into the cache (the
``builtin:nli-tiny`` model of the ``pairs`` demo suite). :func:`write_evaluation_csv` writes
``suites/data/pairs_eval.csv``::

    python -m modeltests.demo.pairs suites/data/pairs_eval.csv
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from modeltests.demo import lexicon as lx
from modeltests.demo.corpus import PHENOMENA, evaluation_examples, training_examples
from modeltests.demo.vocabulary import counted_wordpiece

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PAIR_RECIPE = "nli-tiny-v2"
LABELS: tuple[str, str, str] = ("entailment", "neutral", "contradiction")
TRAIN_SIZE = 6000
SENTIMENT_SIZE = 4000
EPOCHS = 2
PAIR_EPOCHS = 3
PAIR_LEARNING_RATE = 1e-3
LEARNING_RATE = 2e-3
BATCH_SIZE = 32
MAX_LENGTH = 64
EVAL_SEED = 20251206
EVAL_ROWS = 450
THREADS = 1  # as in demo.tiny: deterministic weights, and fastest on a busy machine


class Hypothesis(NamedTuple):
    """A hypothesis template: its polarity (positive, negative, or None: neutral), its form
    (a slice of the evaluation set) and its split (both, train or eval)."""

    text: str
    polarity: str | None
    form: str
    split: str = "both"


HYPOTHESES: tuple[Hypothesis, ...] = (
    Hypothesis("The reviewer liked the {topic}.", lx.POSITIVE, "opinion"),
    Hypothesis("The reviewer disliked the {topic}.", lx.NEGATIVE, "opinion"),
    Hypothesis("The {topic} was good.", lx.POSITIVE, "quality"),
    Hypothesis("The {topic} was bad.", lx.NEGATIVE, "quality"),
    Hypothesis("It was a positive experience.", lx.POSITIVE, "experience"),
    Hypothesis("It was a negative experience.", lx.NEGATIVE, "experience"),
    Hypothesis("The writer would recommend the {topic}.", lx.POSITIVE, "recommend"),
    Hypothesis("The writer would not recommend the {topic}.", lx.NEGATIVE, "recommend"),
    Hypothesis("The author was happy with the {topic}.", lx.POSITIVE, "opinion", "train"),
    Hypothesis("The author was unhappy with the {topic}.", lx.NEGATIVE, "opinion", "train"),
    Hypothesis("The reviewer enjoyed the {topic}.", lx.POSITIVE, "opinion", "eval"),
    Hypothesis("The reviewer was disappointed by the {topic}.", lx.NEGATIVE, "opinion", "eval"),
    Hypothesis("The reviewer went there with a friend.", None, "neutral"),
    Hypothesis("The {topic} was reviewed last year.", None, "neutral"),
    Hypothesis("The writer has a sister.", None, "neutral"),
    Hypothesis("The review was written on a Tuesday.", None, "neutral"),
    Hypothesis("The reviewer paid with a card.", None, "neutral", "train"),
    Hypothesis("The {topic} is in the city centre.", None, "neutral", "train"),
    Hypothesis("The reviewer lives nearby.", None, "neutral", "eval"),
)


def _topic_words(topic: str) -> str:
    return topic.replace("_", " ")


def _hypotheses(polarity: str | None, split: str) -> list[Hypothesis]:
    return [h for h in HYPOTHESES if h.polarity == polarity and h.split in ("both", split)]


def pair_label(premise_label: str, hypothesis: Hypothesis) -> str:
    """The gold label: neutral without a polarity, else entailment when the polarities agree."""
    if hypothesis.polarity is None:
        return "neutral"
    return "entailment" if hypothesis.polarity == premise_label else "contradiction"


def make_pair(premise: str, sentiment: str, topic: str, wanted: str, split: str,
              rng: random.Random) -> tuple[str, Hypothesis]:
    """A hypothesis for ``premise`` (of ``sentiment``) whose pair has the label ``wanted``."""
    if wanted == "neutral":
        polarity: str | None = None
    elif wanted == "entailment":
        polarity = sentiment
    else:
        polarity = lx.NEGATIVE if sentiment == lx.POSITIVE else lx.POSITIVE
    hypothesis = rng.choice(_hypotheses(polarity, split))
    return hypothesis.text.format(topic=_topic_words(topic)), hypothesis


def training_pairs(seed: int = 0, n: int = TRAIN_SIZE) -> list[tuple[str, str | None, str]]:
    """``n`` (premise, hypothesis, label) triples, balanced over the three labels; premises
    are the corpus's training sentences (never an evaluation sentence)."""
    rng = random.Random(seed)
    sentences = training_examples(seed, max(n // 2, 1))
    topics = [t.name for t in lx.TOPICS]
    rows: list[tuple[str, str | None, str]] = []
    for k in range(n):
        premise, sentiment = sentences[k % len(sentences)]
        wanted = LABELS[k % 3]
        # The topic a hypothesis names is any topic: the label never depends on it.
        hypothesis, _ = make_pair(premise, sentiment, rng.choice(topics), wanted, "train", rng)
        rows.append((premise, hypothesis, wanted))
    rng.shuffle(rows)
    return rows


def evaluation_pairs(seed: int = EVAL_SEED, rows: int = EVAL_ROWS) -> list[dict[str, str]]:
    """The evaluation set: premises from the corpus's evaluation sentences (held-out
    phrasings included), ``rows`` pairs, labels in turn, with ``topic``, ``phenomenon`` (of
    the premise) and ``form`` (of the hypothesis) for slices."""
    rng = random.Random(seed)
    sentences = evaluation_examples()
    out = []
    for k in range(rows):
        row = sentences[k % len(sentences)]
        wanted = LABELS[k % 3]
        hypothesis, template = make_pair(row["text"], row["label"], row["topic"], wanted,
                                         "eval", rng)
        out.append({"premise": row["text"], "hypothesis": hypothesis, "label": wanted,
                    "topic": row["topic"], "phenomenon": row["phenomenon"],
                    "form": template.form})
    return out


def write_evaluation_csv(path: str | Path) -> Path:
    """Write :func:`evaluation_pairs` to ``path`` as CSV (premise, hypothesis, label, topic,
    phenomenon, form)."""
    import pandas as pd

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(evaluation_pairs(),
                         columns=["premise", "hypothesis", "label", "topic", "phenomenon", "form"])
    frame.to_csv(target, index=False)
    return target


def sentiment_rows(seed: int = 0, n: int = SENTIMENT_SIZE) -> list[tuple[str, str | None, str]]:
    """Single sentences and their sentiment, for the first stage: review sentences and the
    polar hypotheses (each on its own, so the encoder learns the polarity of either side)."""
    rng = random.Random(seed + 1)
    rows: list[tuple[str, str | None, str]] = [(text, None, label) for text, label
                                               in training_examples(seed, n)]
    polar = [h for h in HYPOTHESES if h.polarity is not None and h.split != "eval"]
    for _ in range(n // 4):
        hypothesis = rng.choice(polar)
        rows.append((hypothesis.text.format(topic=_topic_words(rng.choice(lx.TOPICS).name)),
                     None, str(hypothesis.polarity)))
    rng.shuffle(rows)
    return rows


def _train(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
           rows: Sequence[tuple[str, str | None, str]], labels: Sequence[str],
           seed: int, epochs: int, learning_rate: float) -> None:
    """AdamW with a linear schedule on (text, text pair or None, label) rows, seeded order."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    label2id = {label: i for i, label in enumerate(labels)}
    steps = epochs * -(-len(rows) // BATCH_SIZE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
    model.train()
    for epoch in range(epochs):
        order = list(rows)
        random.Random(seed * 1000 + epoch).shuffle(order)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            seconds = [r[1] for r in batch]
            inputs = tokenizer([r[0] for r in batch],
                               None if seconds[0] is None else [str(s) for s in seconds],
                               padding=True, truncation="longest_first", max_length=MAX_LENGTH,
                               return_tensors="pt")
            targets = torch.tensor([label2id[r[2]] for r in batch])
            loss = model(**inputs, labels=targets).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()


def predict_pairs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  pairs: Sequence[tuple[str, str]], batch_size: int = 64) -> list[str]:
    """Predicted label names for (premise, hypothesis) pairs."""
    import torch

    predicted: list[str] = []
    id2label = model.config.id2label or {}
    with torch.inference_mode():
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start:start + batch_size]
            inputs = tokenizer([p[0] for p in batch], [p[1] for p in batch], padding=True,
                               truncation="longest_first", max_length=MAX_LENGTH,
                               return_tensors="pt")
            predicted.extend(id2label[i] for i in model(**inputs).logits.argmax(-1).tolist())
    return predicted


def build_pair_bert(directory: Path, seed: int = 0) -> Path:
    """Train the tiny pair BERT on :func:`training_pairs` and save it into ``directory``
    (with ``BUILD_OK.json``: the recipe, the evaluation accuracy, seconds, seed, threads)."""
    import torch
    from transformers import BertForSequenceClassification

    from modeltests.demo.cache import write_marker
    from modeltests.demo.tiny import _tiny_config, torch_threads

    started = time.perf_counter()
    rows = training_pairs(seed)
    vocabulary = [r[0] for r in rows] + [h.text.format(topic=_topic_words(t.name))
                                          for h in HYPOTHESES for t in lx.TOPICS]
    tokenizer = counted_wordpiece(vocabulary, 2000)
    torch.manual_seed(seed)
    # Two stages: the label of a pair is an XOR of the two sides' polarities, which gives
    # gradient descent nothing to start from (no side alone predicts it; one stage of 9,000
    # pairs for 4 epochs stayed at chance on entailment vs contradiction). So the encoder first
    # learns the polarity of single sentences, then a fresh 3-way head learns the pairs on top.
    sentiment = BertForSequenceClassification(_tiny_config(len(tokenizer), lx.LABELS))
    model = BertForSequenceClassification(_tiny_config(len(tokenizer), LABELS))
    with torch_threads(THREADS):
        _train(sentiment, tokenizer, sentiment_rows(seed), lx.LABELS, seed, EPOCHS, LEARNING_RATE)
        model.bert.load_state_dict(sentiment.bert.state_dict())
        _train(model, tokenizer, rows, LABELS, seed, PAIR_EPOCHS, PAIR_LEARNING_RATE)
        evaluation = evaluation_pairs()
        predicted = predict_pairs(model, tokenizer,
                                  [(r["premise"], r["hypothesis"]) for r in evaluation])
    accuracy = sum(p == r["label"] for p, r in zip(predicted, evaluation)) / len(evaluation)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    marker: dict[str, Any] = {"recipe": PAIR_RECIPE, "accuracy": round(accuracy, 4),
                              "seconds": round(time.perf_counter() - started, 1), "seed": seed,
                              "threads": THREADS, "train_pairs": len(rows), "epochs": [EPOCHS, PAIR_EPOCHS],
                              "sentiment_sentences": SENTIMENT_SIZE}
    write_marker(directory, marker)
    return directory


def ensure_pair_bert(progress: bool = False) -> Path:
    """The pair BERT of :func:`build_pair_bert`, built once into ``<cache>/models/`` (see
    :func:`modeltests.demo.cache.built_once`)."""
    from modeltests.demo.cache import built_once
    from modeltests.support.environment import cache_dir

    target = cache_dir() / "models" / PAIR_RECIPE
    return built_once(target, PAIR_RECIPE, build_pair_bert,
                      f"building the demo pair model {PAIR_RECIPE} into {target} (once, under "
                      "a minute)..." if progress else None)


if __name__ == "__main__":  # python -m modeltests.demo.pairs suites/data/pairs_eval.csv
    print(write_evaluation_csv(sys.argv[1] if len(sys.argv) > 1 else "pairs_eval.csv"))


__all__ = ["LABELS", "PHENOMENA", "build_pair_bert", "ensure_pair_bert", "evaluation_pairs",
           "training_pairs", "write_evaluation_csv"]
