"""The transformers generator (``task: text-generation``) on ``builtin:gpt-tiny``: generation,
scoring and rolling windows checked against the model's own forward pass and its corpus."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from modeltests.adapters.base import LoadContext  # noqa: E402
from modeltests.adapters.generation import GenerationRequest  # noqa: E402
from modeltests.errors import ModelLoadError, ModelPredictError  # noqa: E402

pytestmark = pytest.mark.real


def _load(directory: Path, **params: object):  # type: ignore[no-untyped-def]
    from modeltests.adapters.causal_lm import load_causal_lm
    from modeltests.adapters.transformers import TransformersParams

    return load_causal_lm(TransformersParams(path=str(directory), task="text-generation",
                                             **params),  # type: ignore[arg-type]
                          LoadContext(base_dir=directory, rootdir=directory,
                                      location="suite.yaml:3"))


def _forward_logprob(model, tokens: list[int], count: int) -> float:  # type: ignore[no-untyped-def]
    """log p of the last ``count`` tokens given the rest, from one plain forward pass."""
    import torch

    with torch.inference_mode():
        logits = model.model(input_ids=torch.tensor([tokens[:-1]])).logits[0]
    table = torch.log_softmax(logits.float(), dim=-1)
    return sum(float(table[i - 1, tokens[i]]) for i in range(len(tokens) - count, len(tokens)))


def test_batched_generation_equals_one_prompt_at_a_time(gpt_tiny_dir: Path) -> None:
    from modeltests.demo.lm_corpus import capital_questions, sums

    prompts = [p for p, _ in capital_questions()[:6] + sums()[:6]]
    request = GenerationRequest(max_new_tokens=5)
    batched = _load(gpt_tiny_dir, batch_size=8).generate(prompts, request)
    alone = _load(gpt_tiny_dir, batch_size=1).generate(prompts, request)
    assert [g.token_ids for g in batched] == [g.token_ids for g in alone]
    assert all(g.new_tokens <= 5 for g in batched)


def test_generation_is_the_argmax_of_the_forward_pass(gpt_tiny_dir: Path) -> None:
    import torch

    model = _load(gpt_tiny_dir)
    generation = model.generate(["anna went to the"], GenerationRequest(max_new_tokens=3))[0]
    tokens = model.prompt_tokens("anna went to the")
    expected = []
    for _ in range(len(generation.token_ids)):
        with torch.inference_mode():
            logits = model.model(input_ids=torch.tensor([tokens])).logits[0, -1]
        tokens.append(int(logits.argmax()))
        expected.append(tokens[-1])
    assert list(generation.token_ids) == expected
    assert generation.prompt_tokens == 4


def test_timed_generation_is_the_plain_generation_with_a_clock(gpt_tiny_dir: Path) -> None:
    # generate_timed streams one prompt through a TokenClock: the answer must be the one generate
    # gives, and the clock stamps at most one token per step of the answer (plus end-of-text).
    model = _load(gpt_tiny_dir)
    prompt, request = "anna went to the", GenerationRequest(max_new_tokens=6)
    timed = model.generate_timed(prompt, request)
    assert timed.generation == model.generate([prompt], request)[0]
    assert 0 < timed.first_token_ms <= timed.total_ms
    assert timed.generation.new_tokens >= 2 and timed.tpot_ms is not None
    with pytest.raises(ModelPredictError, match="beyond the model's context"):
        model.generate_timed(prompt, GenerationRequest(max_new_tokens=model.context))


def test_finish_reasons_and_stop_strings(gpt_tiny_dir: Path) -> None:
    model = _load(gpt_tiny_dir)
    # "the capital of france is" -> "... ." then the end-of-text token
    full = model.generate(["the capital of france is"], GenerationRequest(max_new_tokens=10))[0]
    assert full.finish_reason == "eos" and full.text.endswith(".")
    short = model.generate(["the capital of france is"], GenerationRequest(max_new_tokens=1))[0]
    assert (short.finish_reason, short.new_tokens) == ("length", 1)
    stopped = model.generate(["the capital of france is"],
                             GenerationRequest(max_new_tokens=10, stop=(" .",)))[0]
    assert stopped.finish_reason == "stop"
    assert stopped.text == full.text[:full.text.index(" .")]
    assert " ." not in stopped.text


def test_sampling_repeats_with_its_seed(gpt_tiny_dir: Path) -> None:
    model = _load(gpt_tiny_dir)
    request = GenerationRequest(max_new_tokens=8, temperature=1.5, seed=3)
    first = model.generate(["one day"] * 4, request)
    assert model.generate(["one day"] * 4, request) == first


def test_score_is_the_log_probability_of_the_continuation(gpt_tiny_dir: Path) -> None:
    model = _load(gpt_tiny_dir)
    context, continuation = "the capital of italy is", " rome ."
    scored = model.score([(context, continuation), ("", "anna went to the park .")])
    whole = model.encode([context + continuation])[0]
    assert scored[0].tokens == 2
    assert scored[0].logprob == pytest.approx(_forward_logprob(model, whole, 2), abs=1e-4)
    empty = [model.start_id, *model.encode(["anna went to the park ."])[0]]
    assert scored[1].tokens == len(empty) - 1
    assert scored[1].logprob == pytest.approx(_forward_logprob(model, empty, len(empty) - 1),
                                              abs=1e-4)
    greedy = model.generate([context], GenerationRequest(max_new_tokens=1))[0].text
    assert model.score([(context, " " + greedy)])[0].is_greedy


def test_rolling_windows_cover_every_token_once(gpt_tiny_dir: Path) -> None:
    """A document longer than the context: disjoint windows (lm-eval's) and overlapping ones
    score every token once; within the context, the windowed score is the plain one."""
    from modeltests.demo.lm_corpus import heldout_stories

    model = _load(gpt_tiny_dir)
    long = " ".join(heldout_stories(6))
    tokens = model.count_tokens(long)
    assert tokens > model.max_context
    disjoint, strided = model.rolling_logprob([long]), model.rolling_logprob([long], stride=16)
    assert disjoint[0].tokens == strided[0].tokens == tokens
    assert disjoint[0].windows == math.ceil(tokens / model.max_context)
    assert strided[0].windows == math.ceil(tokens / 16)
    short = heldout_stories(1)[0]
    assert model.rolling_logprob([short])[0].logprob == pytest.approx(
        model.score([("", short)])[0].logprob, abs=1e-4)


def test_prompts_and_requests_beyond_the_context_are_clean_errors(gpt_tiny_dir: Path) -> None:
    model = _load(gpt_tiny_dir)
    context = model.max_context
    with pytest.raises(ModelPredictError, match=f"max_new_tokens {context} is beyond the "
                       f"model's context of {context} tokens"):
        model.generate(["anna"], GenerationRequest(max_new_tokens=context))
    too_long = " ".join(["anna"] * (context + 1))
    with pytest.raises(ModelPredictError, match=f"prompt 1 is {context + 1} tokens, longer "
                       f"than the model's context of {context} tokens"):
        model.generate(["ben", too_long], GenerationRequest(max_new_tokens=2))
    full = " ".join(["anna"] * context)
    at_limit = model.generate([full], GenerationRequest(max_new_tokens=2))[0]
    assert (at_limit.finish_reason, at_limit.text) == ("context", "")
    near = " ".join(["anna"] * (context - 1))
    assert model.generate([near], GenerationRequest(max_new_tokens=4))[0].finish_reason in \
        ("context", "eos")


@pytest.mark.parametrize("tokens", [0, -1])
def test_max_new_tokens_below_one_is_refused(tokens: int) -> None:
    with pytest.raises(ValueError, match=f"max_new_tokens must be at least 1 \\(got {tokens}\\)"):
        GenerationRequest(max_new_tokens=tokens)


def test_chat_without_a_template_is_a_located_error(gpt_tiny_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"suite.yaml:3: model.chat: .* has no chat "
                       r"template \(tokenizer_config.json 'chat_template'\); set chat: false"):
        _load(gpt_tiny_dir, chat=True)


def test_a_classifier_checkpoint_is_refused_as_a_generator(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="text-generation was asked, but .* is a "
                       "sequence-classification checkpoint"):
        _load(tiny_model_dir)
