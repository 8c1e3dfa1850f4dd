"""The anchor: on ``builtin:gpt-tiny`` and the demo suite's JSONL files, modeltests' perplexity
(word, byte, bits per byte), multiple-choice accuracy (acc, acc_norm) and exact match equal
lm-evaluation-harness's (``lm-eval`` 0.4.13, in-process, ``model="hf"``).

Conventions, the same on both sides here: documents scored from the start token (gpt-tiny's
``bos`` is its ``<eos>``, lm-eval's ``prefix_token_id``), in disjoint windows of the model's 64
positions (lm-eval's ``loglikelihood_rolling``; modeltests' default ``stride``); words counted as
``re.split(r"\\s+")``; bytes as UTF-8; choices as continuations ``" " + choice`` with the prompt's
trailing spaces moved onto them, acc_norm dividing by the choice's characters; generation greedy,
no special tokens added to prompts, cut at the stop string; exact match compares the whole
string (no normalisation on either side).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from .lm_suite import PERPLEXITY_AND_CHOICE

pytest.importorskip("lm_eval")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "suites" / "data"
STOP, NEW_TOKENS = " .", 4

pytestmark = pytest.mark.real


def _tasks_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("lm_eval_tasks",
                                                  ROOT / "benchmarks" / "lm_eval_tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lm_eval_tasks"] = module
    spec.loader.exec_module(module)
    return module


SUITE = """model:
  adapter: transformers
  task: text-generation
  path: {model}
  batch_size: 16
""" + PERPLEXITY_AND_CHOICE


def test_modeltests_equals_lm_eval(gpt_tiny_dir: Path, tmp_path: Path) -> None:
    import json

    import modeltests.api
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.causal_lm import load_causal_lm
    from modeltests.adapters.generation import GenerationRequest
    from modeltests.adapters.transformers import TransformersParams

    suite = tmp_path / "lm.yaml"
    suite.write_text(SUITE.format(model=gpt_tiny_dir))
    run = modeltests.api.run(suite, rootdir=tmp_path, cache=False)
    ours = {c.kind: c.entry["metrics"] for c in run}
    rows = [json.loads(line) for line in (DATA / "lm_answers.jsonl").read_text().splitlines()]
    model = load_causal_lm(TransformersParams(path=str(gpt_tiny_dir), task="text-generation",
                                              batch_size=16),
                           LoadContext(base_dir=tmp_path, rootdir=tmp_path))
    generated = model.generate([r["prompt"] for r in rows],
                               GenerationRequest(max_new_tokens=NEW_TOKENS, stop=(STOP,)))
    exact = sum(g.text == r["answer"] for g, r in zip(generated, rows)) / len(rows)

    tasks = _tasks_module()
    folder = tasks.write_tasks(tmp_path / "tasks", DATA / "lm_documents.jsonl",
                               DATA / "lm_choice.jsonl", DATA / "lm_answers.jsonl", STOP,
                               NEW_TOKENS)
    theirs = tasks.run_lm_eval(gpt_tiny_dir, folder)

    for name in ("word_perplexity", "byte_perplexity", "bits_per_byte"):
        assert ours["perplexity"][name] == pytest.approx(theirs["mt_docs"][name], rel=1e-4)
    assert ours["choice"]["accuracy"] == pytest.approx(theirs["mt_choice"]["acc"], abs=1e-9)
    assert ours["choice"]["accuracy_norm"] == pytest.approx(theirs["mt_choice"]["acc_norm"],
                                                            abs=1e-9)
    assert exact == pytest.approx(theirs["mt_answers"]["exact_match"], abs=1e-9)
