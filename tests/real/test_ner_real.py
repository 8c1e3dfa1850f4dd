"""The demo NER model loaded with ``from_pretrained``: the ``entities`` check's figures equal
seqeval's on the model's own predictions, and a checkpoint whose head is not the one ``task``
asks for is refused before any check runs (both ways)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

# pytester's in-process runs drop modules first imported inside them; torch and transformers
# imported again in a later run fail (SystemError), so they load here once.
import torch  # noqa: F401
from transformers import (  # noqa: F401
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
)

pytestmark = pytest.mark.real
seqeval_metrics = pytest.importorskip("seqeval.metrics")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "suites" / "data" / "ner_eval.jsonl"


def lit(text: str) -> str:
    return text.replace("[", "[[]")


def assert_no_traceback(output: str) -> None:
    assert "Traceback" not in output and "site-packages" not in output


def suite(model_dir: Path, task: str | None, checks: str) -> str:
    task_line = f"  task: {task}\n" if task else ""
    return (f"model:\n  adapter: transformers\n  path: {model_dir}\n{task_line}"
            "datasets:\n  eval:\n    path: ner_eval.jsonl\n    tokens_column: tokens\n"
            f"    tags_column: tags\nchecks:\n{checks}")


def run(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    folder = pytester.path / "suites"
    folder.mkdir(exist_ok=True)
    shutil.copy(DATA, folder / "ner_eval.jsonl")
    (folder / "ner.yaml").write_text(text)
    return pytester.runpytest("suites/", "-p", "no:cacheprovider")


def test_entity_scores_equal_seqeval_on_the_models_predictions(
        pytester: pytest.Pytester, ner_model_dir: Path) -> None:
    result = run(pytester, suite(ner_model_dir, "token-classification",
                                 "  - kind: entities\n    dataset: eval\n"))
    result.assert_outcomes(passed=1)
    check = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["checks"][0]
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    truth = [row["tags"] for row in rows]
    # An independent tagging: the model straight from from_pretrained, first sub-token per word.
    tokenizer = AutoTokenizer.from_pretrained(ner_model_dir)
    model = AutoModelForTokenClassification.from_pretrained(ner_model_dir).eval()
    predicted = []
    for row in rows:
        encoded = tokenizer(row["tokens"], is_split_into_words=True, return_tensors="pt")
        ids = model(**encoded).logits[0].argmax(-1).tolist()
        first = {}
        for position, word in enumerate(encoded.word_ids(0)):
            if word is not None:
                first.setdefault(word, position)
        predicted.append([model.config.id2label[ids[first[w]]] for w in range(len(row["tokens"]))])
    metrics = check["metrics"]
    assert metrics["entity_f1"] == pytest.approx(seqeval_metrics.f1_score(truth, predicted))
    assert metrics["entity_precision"] == pytest.approx(
        seqeval_metrics.precision_score(truth, predicted))
    assert metrics["entity_recall"] == pytest.approx(seqeval_metrics.recall_score(truth, predicted))
    theirs = seqeval_metrics.classification_report(truth, predicted, output_dict=True)
    for kind in ("LOC", "ORG", "PER"):
        assert metrics[f"entity_f1.{kind}"] == pytest.approx(theirs[kind]["f1-score"])
    assert metrics["gold_entities"] == theirs["micro avg"]["support"]
    assert metrics["sentences"] == len(rows)


def test_token_task_on_a_sequence_checkpoint_is_refused(pytester: pytest.Pytester,
                                                        tiny_model_dir: Path) -> None:
    result = run(pytester, suite(tiny_model_dir, "token-classification",
                                 "  - kind: entities\n    dataset: eval\n"))
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(
        f"suites/ner.yaml:4: model.task: token-classification was asked, but {tiny_model_dir} "
        "is a sequence-classification checkpoint (config.architectures: "
        "BertForSequenceClassification); set task: sequence-classification, or load a model "
        "with a TokenClassification head")])
    result.assert_outcomes(errors=1)


def test_the_default_task_on_a_token_checkpoint_is_refused(pytester: pytest.Pytester,
                                                           ner_model_dir: Path) -> None:
    result = run(pytester, suite(ner_model_dir, None, "  - kind: availability\n"))
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(
        f"suites/ner.yaml:1: model.task: sequence-classification was asked, but {ner_model_dir} "
        "is a token-classification checkpoint (config.architectures: "
        "BertForTokenClassification); set task: token-classification, or load a model with a "
        "SequenceClassification head")])
    result.assert_outcomes(errors=1)


def test_pruning_a_token_model_gates_entity_f1_and_refuses_label_thresholds(
        pytester: pytest.Pytester, ner_model_dir: Path) -> None:
    result = run(pytester, suite(ner_model_dir, "token-classification",
                                 "  - kind: pruning\n    dataset: eval\n    sparsity: 0.9\n"
                                 "    max_entity_f1_drop: 0.02\n"
                                 "  - kind: pruning\n    dataset: eval\n    sparsity: 0.1\n"
                                 "    max_accuracy_drop: 0.02\n"))
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:18: checks[[]1].max_accuracy_drop: does not apply to a "
        "token-classification model (it measures labels per text); use max_entity_f1_drop, "
        "min_tag_agreement or max_size_ratio",
        "suites/ner.yaml  pruning[[]l1-0.9]  FAIL     entity_f1_drop * > 0.020 (95% CI *)"])
    result.assert_outcomes(failed=2)
    checks = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["checks"]
    metrics = checks[0]["metrics"]
    assert metrics["entity_f1_drop"] == pytest.approx(
        metrics["entity_f1_reference"] - metrics["entity_f1_compressed"])
    assert 0 <= metrics["tag_agreement"] < 1


TORCH_FACTORY = '''
from transformers import AutoModelForTokenClassification, AutoTokenizer

DIRECTORY = {directory!r}
TOKENIZER = AutoTokenizer.from_pretrained(DIRECTORY)


def build():
    return AutoModelForTokenClassification.from_pretrained(DIRECTORY)


def collate(sentences):
    batch = TOKENIZER(sentences, is_split_into_words=True, padding=True, truncation=True,
                      max_length=128, return_tensors="pt")
    return dict(batch), [batch.word_ids(i) for i in range(len(sentences))]
'''


def test_the_torch_adapter_tags_like_the_transformers_adapter(
        pytester: pytest.Pytester, ner_model_dir: Path) -> None:
    pytester.makepyfile(nerfactory=TORCH_FACTORY.format(directory=str(ner_model_dir)))
    labels = list(AutoConfig.from_pretrained(ner_model_dir).id2label.values())
    torch_model = ("model:\n  adapter: torch\n  task: token-classification\n"
                   "  factory: nerfactory:build\n  collate: nerfactory:collate\n"
                   f"  labels: {json.dumps(labels)}\n")
    text = suite(ner_model_dir, "token-classification", "  - kind: entities\n    dataset: eval\n")
    text = text.replace(text[:text.index("datasets:")], torch_model)
    result = run(pytester, text)
    result.assert_outcomes(passed=1)
    ours = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["checks"][0]
    reference = run(pytester, suite(ner_model_dir, "token-classification",
                                    "  - kind: entities\n    dataset: eval\n"))
    reference.assert_outcomes(passed=1)
    theirs = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["checks"][0]
    assert ours["metrics"] == theirs["metrics"]
