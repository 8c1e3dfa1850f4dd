"""Log-probabilities over HTTP (``adapter: openai``, ``logprobs: true``) from a completions
server backed by the real ``builtin:gpt-tiny`` (:mod:`completions_server`, vLLM's answer shape):
perplexity and choice equal the same kinds on the model in-process, and the scores equal
lm-evaluation-harness's own ``local-completions`` model on the same requests and server.

Conventions: the server must leave room for the one token an echo request generates, and is sent
every window whole, so a served context of 64 scores windows of 63 tokens that predict 62; the
in-process model scores the same windows with ``max_length: 62`` (its windows predict
``max_length`` tokens, the last one never fed); lm-eval's ``local-completions`` with
``max_length=64`` scores them too (``max_length - 1`` tokens sent, rolling windows of
``max_length - 2``). Two documents of ``lm_documents.jsonl`` are longer than that (122 and 128
words): they are scored in windows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from .completions_server import CompletionsServer
from .lm_suite import DATA, PERPLEXITY_AND_CHOICE

pytestmark = pytest.mark.real

SERVED = """model:
  adapter: openai
  url: {url}
  endpoint: completions
  served_model: gpt-tiny
  tokenizer: {model}
  logprobs: true
  max_context: 64
"""
IN_PROCESS = """model:
  adapter: transformers
  task: text-generation
  path: {model}
  max_length: 62
  batch_size: 16
"""


@pytest.fixture(scope="module")
def server(gpt_tiny_dir: Path) -> Iterator[CompletionsServer]:
    yield from CompletionsServer(gpt_tiny_dir).serving()


def _metrics(model: str, tmp_path: Path, name: str) -> dict[str, dict[str, Any]]:
    import modeltests.api

    suite = tmp_path / f"{name}.yaml"
    suite.write_text(model + PERPLEXITY_AND_CHOICE)
    return {c.kind: c.entry["metrics"] for c in modeltests.api.run(suite, rootdir=tmp_path,
                                                                   cache=False)}


def test_served_perplexity_and_choice_equal_the_in_process_model(
        server: CompletionsServer, gpt_tiny_dir: Path, tmp_path: Path) -> None:
    served = _metrics(SERVED.format(url=server.url, model=gpt_tiny_dir), tmp_path, "served")
    local = _metrics(IN_PROCESS.format(model=gpt_tiny_dir), tmp_path, "local")
    for kind in ("perplexity", "choice"):
        assert served[kind].keys() == local[kind].keys()
        for name, value in local[kind].items():
            assert served[kind][name] == pytest.approx(value, rel=1e-5), (kind, name)


def test_lm_eval_local_completions_scores_the_same(server: CompletionsServer,
                                                  gpt_tiny_dir: Path, tmp_path: Path) -> None:
    """The choice kind's requests (``prompt``, ``" " + choice``) and the documents, scored by
    lm-eval's ``LocalCompletionsAPI`` and by the openai adapter on the same server: the same
    sums of the same numbers, and the same ``is_greedy``."""
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.openai_compat import OpenAIParams, load_openai

    quiz = [json.loads(line) for line in (DATA / "lm_choice.jsonl").read_text().splitlines()]
    pairs = [(row["prompt"], " " + choice) for row in quiz for choice in row["choices"]]
    documents = [json.loads(line)["text"]
                 for line in (DATA / "lm_documents.jsonl").read_text().splitlines()]
    lm = LocalCompletionsAPI(base_url=server.url + "/completions", model="gpt-tiny",
                             tokenizer_backend="huggingface", tokenizer=str(gpt_tiny_dir),
                             max_length=64, max_retries=1)
    theirs = lm.loglikelihood([Instance("loglikelihood", {}, pair, i)
                               for i, pair in enumerate(pairs)], disable_tqdm=True)
    theirs_rolling = lm.loglikelihood_rolling(
        [Instance("loglikelihood_rolling", {}, (text,), i) for i, text in enumerate(documents)],
        disable_tqdm=True)

    params = OpenAIParams(adapter="openai", url=server.url, endpoint="completions",
                          served_model="gpt-tiny", tokenizer=str(gpt_tiny_dir), logprobs=True,
                          max_context=64)
    ours = load_openai(params, LoadContext(base_dir=tmp_path, rootdir=tmp_path))
    scored = ours.score(pairs)
    rolled = ours.rolling_logprob(documents)
    ours.close()
    assert [(s.logprob, s.is_greedy) for s in scored] == [tuple(t) for t in theirs]
    assert [d.logprob for d in rolled] == theirs_rolling
    assert any(s.is_greedy for s in scored) and not all(s.is_greedy for s in scored)
    assert max(d.windows for d in rolled) > 1
