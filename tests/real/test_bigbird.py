"""BigBird in the latency check, on real transformers models: the length below which
transformers runs full attention instead of block-sparse agrees with the rule the check
computes, the check states per length which attention ran (and restores block-sparse after a
short input switched it), and a length beyond either model's position embeddings is a located
error before anything is timed.

The BigBird here is randomly initialised with a small block size (16 tokens, 1 random block:
full attention up to 112 tokens), so that both sides of the threshold fit in the tiny BERT's
128 positions; it is saved and reloaded with ``from_pretrained`` like any model directory. No
assertion is about speed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# imported before pytester's in-process run, which drops modules first imported inside it
import torch
import transformers.models.big_bird.modeling_big_bird  # noqa: F401

from modeltests.adapters.base import LoadContext
from modeltests.adapters.transformers import TransformersParams, load_transformers
from modeltests.checks.latency.attention import (
    FULL,
    SPARSE,
    captured_bigbird_warnings,
    sparse_attention,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real

LABELS = ("negative", "positive")


def bigbird(block_size: int, random_blocks: int, positions: int = 512) -> Any:
    from transformers import BigBirdConfig, BigBirdForSequenceClassification

    torch.manual_seed(0)
    config = BigBirdConfig(vocab_size=300, hidden_size=32, num_hidden_layers=1,
                           num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=positions, attention_type="block_sparse",
                           block_size=block_size, num_random_blocks=random_blocks,
                           id2label=dict(enumerate(LABELS)),
                           label2id={label: i for i, label in enumerate(LABELS)})
    return BigBirdForSequenceClassification(config).eval()


class Holder:
    """The one adapter method :func:`sparse_attention` uses."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def torch_module(self) -> Any:
        return self.module


@pytest.mark.parametrize("block_size, random_blocks", [(16, 1), (8, 2), (64, 3)])
def test_the_computed_threshold_is_where_transformers_switches(block_size: int,
                                                                random_blocks: int) -> None:
    model = bigbird(block_size, random_blocks, positions=1024)
    switch = sparse_attention(Holder(model))
    assert switch is not None and switch.configured == SPARSE
    threshold = switch.threshold
    for length in (threshold - block_size, threshold, threshold + 1, threshold + block_size):
        switch.restore()
        with captured_bigbird_warnings() as held, torch.inference_mode():
            model(input_ids=torch.randint(5, 300, (1, length)))
        assert switch.running() == switch.expected(length), length
        said_so = any("Changing attention type to 'original_full'" in m for m in held.messages)
        assert said_so == (switch.expected(length) == FULL), length
    # and the switch sticks: a long input after a short one still runs full attention
    with captured_bigbird_warnings(), torch.inference_mode():
        model(input_ids=torch.randint(5, 300, (1, threshold + 1)))
        assert switch.running() == SPARSE
        model(input_ids=torch.randint(5, 300, (1, threshold)))
        model(input_ids=torch.randint(5, 300, (1, threshold + block_size)))
    assert switch.running() == FULL


def test_other_models_have_no_attention_switch(tiny_model_dir: Path) -> None:
    adapter = load_transformers(TransformersParams(path=str(tiny_model_dir)),
                                LoadContext(base_dir=tiny_model_dir, rootdir=tiny_model_dir))
    assert sparse_attention(adapter) is None


@pytest.fixture(scope="module")
def small_bigbird_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The BigBird of :func:`bigbird` (block 16, 1 random block, 512 positions) with a
    WordPiece tokenizer of the generated corpus, saved for ``from_pretrained``."""
    from modeltests.demo.corpus import training_examples
    from modeltests.demo.vocabulary import counted_wordpiece

    directory = tmp_path_factory.mktemp("bigbird")
    tokenizer = counted_wordpiece([text for text, _ in training_examples(0, 400)], 300)
    tokenizer.model_max_length = 512
    model = bigbird(16, 1)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_the_adapter_runs_each_call_with_the_attention_its_length_selects(
        small_bigbird_dir: Path) -> None:
    """transformers leaves BigBird in full attention after a short input; the adapter restores
    block-sparse before a long one, so a long text's probabilities do not depend on history."""
    from modeltests.checks.latency.inputs import exact_length_text

    adapter = load_transformers(TransformersParams(path=str(small_bigbird_dir), max_length=512),
                                LoadContext(base_dir=small_bigbird_dir,
                                            rootdir=small_bigbird_dir))
    long_text = exact_length_text(adapter.tokenizer, 300)  # block-sparse above 112 tokens
    with captured_bigbird_warnings():
        first = adapter.predict([long_text]).probabilities
        assert adapter.attention.running() == SPARSE
        adapter.predict(["good film"])
        assert adapter.attention.running() == FULL  # transformers switched, and stays
        again = adapter.predict([long_text]).probabilities
        assert adapter.attention.running() == SPARSE
        # the long text under the full attention transformers would have kept, against
        # block-sparse (hidden states: this random model's logits are all close to 0)
        states = {}
        for kind in (FULL, SPARSE):
            adapter.attention.base.set_attention_type(kind)
            with torch.inference_mode():
                states[kind] = adapter.model.base_model(
                    **adapter.encode([long_text])).last_hidden_state
    assert first is not None and again is not None
    assert (first == again).all()
    assert float((states[FULL] - states[SPARSE]).abs().max()) > 1e-3  # history would show


SUITE = """model:
  adapter: transformers
  path: {bigbird}
  max_length: 512
models:
  bert:
    adapter: transformers
    path: {bert}
datasets:
  short:
    path: short.csv
checks:
  - kind: accuracy
    dataset: short
  - kind: latency
    name: against-bert
    compare_to: bert
    sequence_lengths: [64, 128]
    mode: model
    threads: 1
    warmup: 1
    min_iterations: 3
    min_seconds: 0
  - kind: latency
    name: beyond-bert
    compare_to: bert
    sequence_lengths: [64, 200]
  - kind: latency
    name: beyond-bigbird
    compare_to: bert
    sequence_lengths: [600]
"""


def test_the_check_states_the_attention_per_length_and_refuses_lengths_beyond_positions(
        pytester: pytest.Pytester, small_bigbird_dir: Path, tiny_model_dir: Path) -> None:
    pytester.makefile(".csv", short="text,label\ngood film,positive\nbad film,negative\n")
    pytester.makefile(".yaml", bigbird=SUITE.format(bigbird=small_bigbird_dir,
                                                    bert=tiny_model_dir))
    result = pytester.runpytest("bigbird.yaml", "-p", "no:cacheprovider",
                                "--modeltests-json", "out.json")
    result.stdout.fnmatch_lines([
        "bigbird.yaml:27: checks[[]2].sequence_lengths: 200 tokens is more than the compare_to "
        "model 'bert' takes (max_length 128, tokenizer model_max_length 128, "
        "max_position_embeddings 128); allowed: 1 to 128",
        "bigbird.yaml:31: checks[[]3].sequence_lengths: 600 tokens is more than the model "
        "takes (max_length 512, tokenizer model_max_length 512, max_position_embeddings 512); "
        "allowed: 1 to 512",
    ], consecutive=False)
    result.stdout.fnmatch_lines([
        "*the model was running original_full attention when this check started although "
        "configured block_sparse: an earlier input of at most 112 tokens switched it*",
        "*latency[[]against-bert[]]*PASS*; attention original_full at 64; block_sparse at 128 "
        "[[]b1_l128 model, cpu, 1 threads[]]",
    ], consecutive=False)
    result.assert_outcomes(passed=2, errors=2)  # a suite error, at setup: not a verdict
    entries = {e["nodeid"].split("::")[-1]: e for e in
               json.loads((pytester.path / "out.json").read_text())["checks"]}
    for refused in ("latency[beyond-bert]", "latency[beyond-bigbird]"):  # nothing was timed
        assert entries[refused]["outcome"] == "error" and not entries[refused]["metrics"]
    details = entries["latency[against-bert]"]["details"]
    per_length = details["attention"]["per_length"]["model"]
    assert [(p["sequence_length"], p["attention"], p["attention_agrees"]) for p in per_length] \
        == [(64, FULL, True), (128, SPARSE, True)]
    rule = details["attention"]["rules"]["model"]
    assert rule["full_attention_up_to"] == 112 and rule["found_on_arrival"] == FULL
    assert "bert" not in details["attention"]["per_length"]  # BERT has no attention switch
    curve = details["compare"]["curve"]["points"]
    assert [(p["sequence_length"], p["attention"]) for p in curve] == [(64, FULL), (128, SPARSE)]


def test_the_demo_bigbird_accuracy_equals_scikit_learn(pytester: pytest.Pytester) -> None:
    """``builtin:bigbird-tiny`` (the suite's model) through the accuracy check against its
    predictions computed here with ``from_pretrained`` and scored by scikit-learn."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeltests.demo.bigbird import ensure_wide_model

    model_dir = ensure_wide_model("bigbird", progress=False)
    data = Path(__file__).resolve().parents[2] / "suites" / "data" / "sentiment_eval.csv"
    frame = pd.read_csv(data)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    logits = []
    with torch.inference_mode():
        for start in range(0, len(frame), 64):
            batch = tokenizer(list(frame.text[start:start + 64]), padding=True, truncation=True,
                              max_length=512, return_tensors="pt")
            logits.append(model(**batch).logits.numpy())
    predicted = [model.config.id2label[i] for i in np.concatenate(logits).argmax(axis=1)]
    (pytester.path / "bigbird.yaml").write_text(f"""model:
  adapter: transformers
  path: builtin:bigbird-tiny
  max_length: 512
datasets:
  eval:
    path: {data}
checks:
  - kind: accuracy
    dataset: eval
""")
    result = pytester.runpytest("bigbird.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    check, = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["checks"]
    assert check["metrics"]["accuracy"] == pytest.approx(accuracy_score(frame.label, predicted))
    assert check["metrics"]["f1_macro"] == pytest.approx(
        f1_score(frame.label, predicted, average="macro"))
