"""Text pairs on a real transformers model (the tiny NLI BERT of ``builtin:nli-tiny``): the
accuracy check against ``tokenizer(premises, hypotheses)`` by hand and scikit-learn, and a
TextAttack attack on one side that leaves the other side as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real


@pytest.fixture(scope="module", autouse=True)
def adapter(pair_model_dir: Path) -> object:
    """The pair model loaded here, outside pytester's runs: pytester drops the modules first
    imported inside a run, and a second run re-importing transformers' model modules fails
    ("SystemError: ... bad call flags"); loaded once out here, every run shares them."""
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.transformers import TransformersParams, load_transformers

    return load_transformers(TransformersParams(path=str(pair_model_dir)),
                             LoadContext(base_dir=pair_model_dir, rootdir=pair_model_dir))


@pytest.fixture(scope="module")
def pairs_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from modeltests.demo.pairs import write_evaluation_csv

    return write_evaluation_csv(tmp_path_factory.mktemp("pairs") / "pairs.csv")


def _run(pytester: pytest.Pytester, model_dir: Path, csv: Path, checks: str,
         passed: int, *args: str) -> list[dict]:
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "nli.yaml").write_text(f"""model:
  adapter: transformers
  path: {model_dir}
  batch_size: 16
datasets:
  eval:
    path: {csv}
    text_column: [premise, hypothesis]
checks:
{checks}""")
    result = pytester.runpytest("suites/", *(args or ("-p", "no:cacheprovider")))
    result.assert_outcomes(passed=passed)
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    return list(document["checks"])


def test_pair_accuracy_matches_a_hand_computation(pytester: pytest.Pytester,
                                                  pair_model_dir: Path, pairs_csv: Path) -> None:
    import pandas as pd
    import torch
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    frame = pd.read_csv(pairs_csv)
    tokenizer = AutoTokenizer.from_pretrained(pair_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(pair_model_dir).eval()
    logits = []
    with torch.inference_mode():
        for start in range(0, len(frame), 64):
            rows = frame.iloc[start:start + 64]
            batch = tokenizer(list(rows.premise), list(rows.hypothesis), padding=True,
                              truncation="longest_first", max_length=128, return_tensors="pt")
            logits.append(model(**batch).logits.numpy())
    predicted = [model.config.id2label[i] for i in np.concatenate(logits).argmax(axis=1)]
    check, = _run(pytester, pair_model_dir, pairs_csv, "  - kind: accuracy\n    dataset: eval\n",
                  passed=1)
    assert check["metrics"]["accuracy"] == pytest.approx(accuracy_score(frame.label, predicted))
    assert check["metrics"]["f1_macro"] == pytest.approx(
        f1_score(frame.label, predicted, average="macro"))
    # A pair model reads both sides: the hypothesis alone would not tell entailment from
    # contradiction, so the accuracy above chance on both shows the pair reached the model.
    assert check["metrics"]["accuracy"] > 0.7


def test_an_attack_on_one_side_leaves_the_other_unchanged(
        pytester: pytest.Pytester, pair_model_dir: Path, pairs_csv: Path) -> None:
    checks = _run(pytester, pair_model_dir, pairs_csv, """  - kind: robustness
    name: hypothesis
    dataset: eval
    recipe: deepwordbug
    attack_side: second
    num_examples: 6
    query_budget: 300
  - kind: robustness
    name: premise
    dataset: eval
    recipe: deepwordbug
    attack_side: first
    num_examples: 6
    query_budget: 300
""", passed=2)
    for check, edited, kept in ((checks[0], 1, 0), (checks[1], 0, 1)):
        assert check["details"]["attack"]["attack_side"] == ("second" if edited else "first")
        changed = [o for o in check["details"]["outcomes"] if "perturbed_pair" in o]
        assert changed, f"no successful attack to inspect in {check['nodeid']}"
        for outcome in changed:
            assert outcome["perturbed_pair"][kept] == outcome["original_pair"][kept]
            assert outcome["perturbed_pair"][edited] != outcome["original_pair"][edited]


@pytest.mark.parametrize("length", [6, 33, 96])
def test_synthetic_pairs_have_the_exact_token_length(adapter: object, length: int) -> None:
    from modeltests.checks.latency.inputs import exact_length_pair

    tokenizer = adapter.tokenizer  # type: ignore[attr-defined]
    pair = exact_length_pair(tokenizer, length)
    encoded = tokenizer(pair.first, pair.second)
    assert len(encoded["input_ids"]) == length
    words = length - 3  # [CLS] first [SEP] second [SEP]
    assert len(pair.first.split()) == words - words // 2
    assert len(pair.second.split()) == words // 2
    assert sum(encoded["token_type_ids"]) == words // 2 + 1  # the second side and its [SEP]


def test_the_mlserver_runtime_classifies_two_tensors_as_pairs(adapter: object,
                                                             pair_model_dir: Path) -> None:
    """The request the ``http`` adapter sends for pairs (protocol v2: two BYTES tensors, the
    first sides and the second sides) through the MLServer runtime, without a server: the
    same probabilities as the in-process model on the same pairs."""
    pytest.importorskip("mlserver", reason="pip install 'modeltests[serve]'")
    import asyncio

    from mlserver.settings import ModelParameters, ModelSettings
    from mlserver.types import InferenceRequest

    from modeltests.adapters.protocols import v2_body
    from modeltests.data.inputs import TextPair
    from modeltests.mlserver_runtime import TextClassifier

    pairs = [TextPair("The staff were lovely.", "The reviewer liked the hotel."),
             TextPair("The staff were lovely.", "The reviewer disliked the hotel."),
             TextPair("It broke after a day.", "The writer has a sister.")]
    settings = ModelSettings(name="nli", implementation=TextClassifier,
                             parameters=ModelParameters(uri=str(pair_model_dir)))
    runtime = TextClassifier(settings)
    request = InferenceRequest.model_validate(v2_body(pairs, "text", "text_pair"))

    async def serve() -> object:
        await runtime.load()
        return await runtime.predict(request)

    response = asyncio.run(serve())
    outputs = {o.name: o for o in response.outputs}  # type: ignore[attr-defined]
    expected = adapter.predict(pairs)  # type: ignore[attr-defined]
    served = np.asarray(outputs["probabilities"].data, dtype=np.float64).reshape(3, -1)
    assert np.abs(served - expected.probabilities).max() < 1e-6
    assert [label.decode() for label in outputs["label"].data] == expected.labels
    # The first two pairs differ only in their hypothesis: the served model read it.
    assert np.abs(served[0] - served[1]).max() > 1e-3


def test_the_prediction_cache_keys_on_both_sides(pytester: pytest.Pytester,
                                                 pair_model_dir: Path, pairs_csv: Path) -> None:
    """An unchanged rerun reads the stored predictions; moving one word across the boundary
    of one pair (the same text joined, another pair) is a miss."""
    import pandas as pd

    csv = pytester.path / "pairs.csv"
    frame = pd.read_csv(pairs_csv)
    frame.to_csv(csv, index=False)

    def cache_state() -> str:
        # The prediction cache lives in pytest's cache folder: keep the cacheprovider on.
        _run(pytester, pair_model_dir, csv, "  - kind: accuracy\n    dataset: eval\n", 1, "-q")
        document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
        (only,) = document["run"]["predictions"]
        return str(only["cache"])

    assert cache_state() == "miss"
    assert cache_state() == "hit"
    premise = frame.loc[0, "premise"].rsplit(" ", 1)
    frame.loc[0, "premise"] = premise[0]
    frame.loc[0, "hypothesis"] = f"{premise[1]} {frame.loc[0, 'hypothesis']}"
    frame.to_csv(csv, index=False)
    assert cache_state() == "miss"
