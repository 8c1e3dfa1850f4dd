"""Real tests of the demo corpus and demo models (no fakes: real tokenizers, real training).

The tiny BERT is built afresh into a temporary directory (10-20 s); the default model is built
once into the cache (``$MODELTESTS_CACHE`` or
``~/.cache/modeltests``; about a minute when cold) and reused afterwards.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from modeltests.demo.build import (  # noqa: E402
    default_model_dir,
    ensure_default_model,
    evaluate_directory,
)
from modeltests.demo.cache import read_marker  # noqa: E402
from modeltests.demo.corpus import (  # noqa: E402
    PHENOMENA,
    evaluation_examples,
    training_examples,
    write_evaluation_csv,
)
from modeltests.demo.tiny import TINY_RECIPE, build_tiny_bert  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT built from scratch for this module (the build itself is under test)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def default_dir() -> Path:
    """The default demo model, built into the cache if it is not there yet."""
    return ensure_default_model(progress=False)


def test_corpus_is_deterministic() -> None:
    assert training_examples(seed=3, n=200) == training_examples(seed=3, n=200)
    assert evaluation_examples() == evaluation_examples()
    assert training_examples(seed=3, n=200) != training_examples(seed=4, n=200)


def test_training_set_is_balanced() -> None:
    examples = training_examples()
    assert len(examples) == 3000
    assert Counter(label for _, label in examples) == {"negative": 1500, "positive": 1500}
    assert len({text for text, _ in examples}) > 2900


def test_evaluation_set_covers_every_phenomenon_and_topic() -> None:
    rows = evaluation_examples()
    assert len(rows) >= 500
    assert len({row["text"] for row in rows}) == len(rows)
    assert set(rows[0]) == {"text", "label", "topic", "phenomenon"}
    by_phenomenon = Counter((row["phenomenon"], row["label"]) for row in rows)
    for phenomenon in PHENOMENA:
        assert by_phenomenon[phenomenon, "positive"] == by_phenomenon[phenomenon, "negative"] > 0
    assert len({row["topic"] for row in rows}) >= 7


def test_phenomena_have_their_shape() -> None:
    rows = evaluation_examples()
    short = [len(r["text"].split()) for r in rows if r["phenomenon"] == "short"]
    long = [len(r["text"].split()) for r in rows if r["phenomenon"] == "long"]
    assert max(short) <= 5
    assert min(long) >= 18


def test_no_evaluation_text_in_training() -> None:
    evaluation = {row["text"] for row in evaluation_examples()}
    for seed in (0, 1):
        assert not evaluation & {text for text, _ in training_examples(seed=seed)}


def test_write_evaluation_csv_round_trips(tmp_path: Path) -> None:
    import pandas as pd

    path = write_evaluation_csv(tmp_path / "eval.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["text", "label", "topic", "phenomenon"]
    assert frame.to_dict("records") == evaluation_examples()


def test_committed_suite_data_is_current() -> None:
    import pandas as pd

    path = Path(__file__).resolve().parents[2] / "suites" / "data" / "sentiment_eval.csv"
    assert pd.read_csv(path).to_dict("records") == evaluation_examples()


def test_tiny_bert_reloads_and_scores(tiny_dir: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.hidden_size <= 64 and model.config.num_hidden_layers == 2
    assert tokenizer("Loved it!")["input_ids"][0] == tokenizer.cls_token_id
    assert (tiny_dir / "model.safetensors").is_file()
    assert read_marker(tiny_dir)["recipe"] == TINY_RECIPE
    assert evaluate_directory(tiny_dir)["overall"] >= 0.85


def test_default_model_lives_in_the_cache(default_dir: Path) -> None:
    assert default_dir == default_model_dir()
    marker = read_marker(default_dir)
    assert marker is not None and marker["accuracy"] >= 0.90
    assert ensure_default_model(progress=False) == default_dir  # cached: returns at once


def test_default_model_reloads_and_scores(default_dir: Path) -> None:
    scores = evaluate_directory(default_dir)
    assert scores["overall"] >= 0.90
    assert scores["negation"] >= 0.75


def test_fine_tuning_draws_through_the_sessions_progress_without_the_head_warning(
        tiny_model_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # Issue 26: under pytest the fine-tune's bar went to captured stderr and the only line was
    # transformers' "You should probably TRAIN this model". Its bar now draws through the
    # session's progress (pytest's terminal under pytest), and that expected warning is off.
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeltests.demo.build import quiet_transformers, train_classifier
    from contextlib import nullcontext

    from modeltests.support.progress import LineProgress, showing

    class FakeTerminal:
        def __init__(self) -> None:
            self.written: list[str] = []

        def enabled(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.written.append(text)

        def width(self) -> int:
            return 100

        def column(self) -> int:
            return 0

        def suspended(self) -> nullcontext[None]:
            return nullcontext()

    with quiet_transformers():  # a new 3-label head: the warning transformers would print
        model = AutoModelForSequenceClassification.from_pretrained(
            tiny_model_dir, num_labels=3, ignore_mismatched_sizes=True)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    terminal = FakeTerminal()
    with showing(LineProgress(terminal, delay=0.0, interval=0.0)):
        train_classifier(model, tokenizer, training_examples(0, 64), batch_size=32,
                         progress=True, desc="fine-tuning tiny",
                         label2id={"negative": 0, "positive": 1})
    drawn = [text for text in terminal.written if "fine-tuning tiny" in text]
    assert drawn and "2/2" in drawn[-1]
    assert terminal.written[-1] == "\r\x1b[K"  # erased at the end
    captured = capfd.readouterr()
    assert "TRAIN this model" not in captured.err + captured.out
    assert "fine-tuning tiny" not in captured.err  # nothing on standard error
