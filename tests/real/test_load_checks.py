"""Setup mistakes a loaded model reveals are located errors at load (pytest's ERROR in setup),
not failed gates: a ``max_length`` beyond the model's position embeddings, a ``labels`` list
whose length is not the number of the head's outputs. Real models: the tiny BERT loaded with
``from_pretrained`` from a directory, and a real ``torch.nn.Sequential``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
import torch  # noqa: F401
import transformers  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA_CSV = """text,label
a good movie,positive
great acting,positive
bad movie,negative
awful service,negative
"""


def lit(text: str) -> str:
    """``text`` as an fnmatch pattern that matches itself."""
    return text.replace("[", "[[]")


def make_project(pytester: pytest.Pytester, suite: None = None) -> None:
    (pytester.mkdir("suites") / "data.csv").write_text(DATA_CSV)


def write_suite(pytester: pytest.Pytester, relpath: str, text: str) -> None:
    (pytester.path / relpath).write_text(text)


def read_report(pytester: pytest.Pytester) -> dict[str, Any]:
    return dict(json.loads((pytester.path / "reports/modeltests.json").read_text()))


def assert_no_traceback(output: str) -> None:
    assert "Traceback" not in output and "site-packages" not in output

CHECKS = """datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 0.1
  - kind: availability
    name: smoke
    generated_examples: 0
"""


def tiny_suite(model_dir: Path, *lines: str) -> str:
    return ("model:\n  adapter: transformers\n"
            f"  path: {model_dir}\n" + "".join(f"  {line}\n" for line in lines) + CHECKS)


def test_max_length_and_labels_beyond_the_model_are_located_setup_errors(
        pytester: pytest.Pytester, tiny_model_dir: Path) -> None:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/tiny.yaml", tiny_suite(
        tiny_model_dir, "max_length: 600", "labels: [negative, neutral, positive]"))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        lit("suites/tiny.yaml:4: model.max_length: 600 tokens is more than the model can embed "
            "(128 positions: config.max_position_embeddings); allowed: 1 to 128"),
        lit("suites/tiny.yaml:5: model.labels: 3 labels for a model whose head has 2 outputs "
            "(config.num_labels); list 2, in output order (the model's own: negative, positive)"),
    ])
    result.assert_outcomes(errors=2)
    assert_no_traceback(result.stdout.str())
    checks = read_report(pytester)["checks"]
    assert {(c["outcome"], c["when"]) for c in checks} == {("error", "setup")}


def test_too_few_labels_is_a_setup_error(pytester: pytest.Pytester, tiny_model_dir: Path) -> None:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/tiny.yaml", tiny_suite(tiny_model_dir, "labels: [positive]"))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        "suites/tiny.yaml:4: model.labels: 1 labels for a model whose head has 2 outputs "
        "(config.num_labels); list 2, in output order (the model's own: negative, positive)")])
    result.assert_outcomes(errors=2)


def test_the_default_max_length_is_cut_to_what_the_model_embeds(
        pytester: pytest.Pytester, tiny_model_dir: Path) -> None:
    """The default (256) is not the suite's mistake: with the tiny BERT's 128 positions, texts
    are cut to 128 tokens and the 20,000-character edge input is answered."""
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/tiny.yaml", tiny_suite(tiny_model_dir))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", "-k", "availability")
    result.assert_outcomes(passed=1, deselected=1)
    (check,) = read_report(pytester)["checks"]
    assert check["metrics"]["edge_pass_rate"] == 1.0


SEQUENTIAL_MODEL = '''
import torch

WORDS = ["good", "great", "bad", "awful", "terrible", "boring", "not"]


def build():
    return torch.nn.Sequential(torch.nn.Linear(len(WORDS), 3), torch.nn.Softmax(dim=-1))


def collate(texts):
    return torch.tensor([[float(w in t.split()) for w in WORDS] for t in texts])
'''


def test_a_torch_module_with_another_output_count_is_a_setup_error(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    pytester.makepyfile(seqmodel=SEQUENTIAL_MODEL)
    write_suite(pytester, "suites/torch.yaml",
                "model:\n  adapter: torch\n  factory: seqmodel:build\n  collate: seqmodel:collate\n"
                "  outputs: probabilities\n  labels: [negative, positive]\n" + CHECKS)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        "suites/torch.yaml:6: model.labels: 2 labels for a module with 3 outputs (its last layer "
        "is Linear(in_features=7, out_features=3, bias=True)); list 3, in output order")])
    result.assert_outcomes(errors=2)
    assert_no_traceback(result.stdout.str())


def test_a_pickle_refused_by_weights_only_names_the_real_reason(
        pytester: pytest.Pytester, tiny_model_dir: Path) -> None:
    """Issue 25, case 8: transformers replaces torch's ``weights_only`` refusal with "set
    from_tf=True"; the message names torch's reason and what to do instead."""
    import shutil

    import numpy as np

    model_dir = pytester.path / "pickled"
    shutil.copytree(tiny_model_dir, model_dir, ignore=shutil.ignore_patterns("*.safetensors"))
    weights = transformers.AutoModelForSequenceClassification.from_pretrained(
        tiny_model_dir).state_dict()
    weights["training_log"] = np.zeros(3)  # a Python object beside the tensors
    torch.save(weights, model_dir / "pytorch_model.bin")
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/tiny.yaml", tiny_suite(model_dir))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        f"suites/tiny.yaml:1: cannot load a transformers model from {model_dir}: torch refused "
        "to unpickle pytorch_model.bin with weights_only=True (Unsupported global: GLOBAL "
        "numpy.*._reconstruct was not an allowed global by default): the file holds Python "
        "objects beside its tensors, and unpickling them could run code from it. If you trust "
        "the file, load it once with torch.load(..., weights_only=False) and save the model "
        "with save_pretrained() (safetensors); transformers' advice to set from_tf=True does "
        "not apply")])
    assert "from_tf=True." not in result.stdout.str()
    result.assert_outcomes(errors=2)
