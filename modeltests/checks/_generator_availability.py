"""``availability`` on a text generator: valid generations on odd prompts, at and past the
context limit, stopping where asked, finite next-token distributions, and the same greedy tokens
twice and inside a padded batch.

A prompt is answered validly when ``generate`` returns what
:func:`~modeltests.adapters.generation.validate_generations` accepts (one generation, valid
UTF-8, a known finish reason, at most ``max_new_tokens`` tokens). Past the context a generator
may also refuse the prompt with its own error (a :class:`~modeltests.errors.ModelTestsError`,
e.g. "prompt of 70 tokens exceeds the context of 64"): that is the clean message a user needs;
any other exception is a crash and fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from modeltests.errors import ModelTestsError, UnsupportedCapabilityError

if TYPE_CHECKING:
    from modeltests.adapters.generation import Generation, GenerationRequest, TextGenerator
    from modeltests.context import CheckContext

SPECIAL_TOKEN_TEXTS = ("<|endoftext|>", "</s>", "<s>", "[PAD]", "<unk>", "<|im_start|>")

EDGE_PROMPTS: dict[str, str] = {
    "empty prompt": "",
    "whitespace only": " \t\n  ",
    "single character": "a",
    "emoji": "😍🔥👍 tell me more 🎉",
    "control characters": "bad\x00input\x07with\x1bcontrol\x7fchars",
    "special-token text": " ".join(SPECIAL_TOKEN_TEXTS),
    "Chinese": "北京是中国的首都。",
    "Arabic": "القاهرة عاصمة مصر",
    "mixed scripts": "Paris 巴黎 Париж باريس 👍",
    "HTML markup": "<script>alert('x')</script><b>hello</b>",
}

NEVER_PRODUCED = "\u2603\u2603never-produced\u2603\u2603"
"""A stop string no model writes: generation must end as if there were none."""

GENERATOR_DEFAULTS: dict[str, tuple[str, float]] = {
    "batch_agreement": (">=", 1.0), "stop_pass_rate": (">=", 1.0),
    "finite_logprob_rate": (">=", 1.0)}
"""Gates only a generator measures, applied (with these limits) unless the suite sets them."""

Generate = Callable[[Sequence[str], "GenerationRequest"], "list[Generation]"]


def generator_validity(context: CheckContext, model: TextGenerator, smoke: list[str],
                       extra: list[str], generated: list[str], max_new_tokens: int,
                       context_prompts: bool, failures: list[dict[str, Any]]
                       ) -> tuple[dict[str, float], dict[str, Any], int]:
    """The metrics of a generator's availability, the report's details, and how many prompts
    were tried. Every call goes through ``context`` unlocated: a failure on an odd prompt is a
    finding, kept in ``failures``."""
    from modeltests.adapters.generation import GenerationRequest, validate_generations

    def generate(prompts: Sequence[str], request: GenerationRequest) -> list[Generation]:
        return context.call_model(model, "generate", len(prompts), lambda: validate_generations(
            model.generate(list(prompts), request), prompts, request), locate=False)

    request = GenerationRequest(max_new_tokens=max_new_tokens)
    metrics: dict[str, float] = {}
    details: dict[str, Any] = {}
    smoke_rows = {f"smoke {i}": text for i, text in enumerate(smoke)}
    metrics["smoke_pass_rate"], answers = _try_each(generate, smoke_rows, request, failures)
    edges = dict(EDGE_PROMPTS)
    if model.eos_text:
        edges["end-of-text text"] = f"Hello {model.eos_text} world"
    edges.update({f"extra {i}": text for i, text in enumerate(extra)})
    metrics["edge_pass_rate"], more = _try_each(generate, edges, request, failures)
    answers.update(more)
    if context_prompts:
        tried, passed = _context_limit(model, generate, max_new_tokens, failures, details)
        if tried:
            total = len(edges) + tried
            metrics["edge_pass_rate"] = (metrics["edge_pass_rate"] * len(edges) + passed) / total
            edges.update({name: "" for name in details["context_prompts"]})
    if generated:
        named = {f"generated {i}": text for i, text in enumerate(generated)}
        metrics["generated_pass_rate"], _ = _try_each(
            generate, named, GenerationRequest(max_new_tokens=min(4, max_new_tokens)), failures,
            batched=True)
    stops = _stopping(model, generate, smoke, max_new_tokens, answers, failures)
    metrics["stop_pass_rate"] = sum(stops.values()) / len(stops)
    details["stop_tests"] = stops
    ordinary = [*smoke, "The weather was mild and the streets were quiet today, so we walked."]
    metrics.update(_repeatability(context, model, generate, ordinary, request, failures,
                                  details))
    details["edge_inputs"] = list(edges)
    return metrics, details, len(smoke_rows) + len(edges) + len(generated)


def _try_each(generate: Generate, named: dict[str, str], request: GenerationRequest,
              failures: list[dict[str, Any]], batched: bool = False
              ) -> tuple[float, dict[str, Generation]]:
    """Share of prompts answered validly, and each valid answer."""
    if not named:
        return 1.0, {}
    if batched:
        try:
            got = generate(list(named.values()), request)
            return 1.0, dict(zip(named, got))
        except ModelTestsError:
            pass  # find out which prompts fail
    answers = {}
    for name, prompt in named.items():
        try:
            answers[name] = generate([prompt], request)[0]
        except ModelTestsError as exc:
            failures.append({"input": name, "text": prompt[:300], "error": str(exc)})
    return len(answers) / len(named), answers


def _context_limit(model: TextGenerator, generate: Generate, max_new_tokens: int,
                   failures: list[dict[str, Any]], details: dict[str, Any]) -> tuple[int, int]:
    """Prompts that fill the context but ``max_new_tokens`` (must answer), fill it exactly and
    go one token past it (must answer, ending with ``context``, or refuse cleanly); how many
    were tried and passed. Needs ``max_context`` and ``count_tokens``."""
    from modeltests.adapters.generation import GenerationRequest

    limit = model.max_context
    details["context_prompts"] = []
    if limit is None:
        details["context_limit"] = "not tried: the generator states no max_context"
        return 0, 0
    request = GenerationRequest(max_new_tokens=min(max_new_tokens, 4))
    cases = [(f"{limit - request.max_new_tokens} tokens (context minus max_new_tokens)",
              limit - request.max_new_tokens, False),
             (f"{limit} tokens (the whole context)", limit, True),
             (f"{limit + 1} tokens (one past the context)", limit + 1, True)]
    tried = passed = 0
    for name, tokens, may_refuse in cases:
        try:
            prompt = prompt_of_tokens(model, tokens)
        except UnsupportedCapabilityError:
            details["context_limit"] = "not tried: the generator cannot count tokens"
            return tried, passed
        if prompt is None:
            details.setdefault("context_not_built", []).append(name)
            continue
        tried += 1
        details["context_prompts"].append(name)
        ok, why = _answers_at_limit(generate, prompt, request, may_refuse)
        passed += ok
        if not ok:
            failures.append({"input": name, "text": prompt[:120] + "...", "error": why})
    return tried, passed


def _answers_at_limit(generate: Generate, prompt: str, request: GenerationRequest,
                      may_refuse: bool) -> tuple[bool, str]:
    try:
        generate([prompt], request)
        return True, ""
    except ModelTestsError as exc:
        crashed = exc.__cause__ is not None
        if may_refuse and not crashed:
            return True, ""
        return False, str(exc) if crashed else f"refused a prompt that fits: {exc}"


def prompt_of_tokens(model: TextGenerator, tokens: int) -> str | None:
    """A prompt of exactly ``tokens`` tokens for ``model`` (repeated ordinary words), or None
    when its tokenizer makes no such length from them."""
    unit = "the "

    def count(m: int) -> int:
        return model.count_tokens((unit * m).rstrip())

    low, high = 1, max(2, tokens)
    while count(high) < tokens:
        high *= 2
        if high > 64 * max(tokens, 1):
            return None
    while low < high:  # the fewest repeats with at least ``tokens`` tokens
        middle = (low + high) // 2
        if count(middle) < tokens:
            low = middle + 1
        else:
            high = middle
    return (unit * low).rstrip() if count(low) == tokens else None


def _stopping(model: TextGenerator, generate: Generate, smoke: list[str], max_new_tokens: int,
              answers: dict[str, Generation], failures: list[dict[str, Any]]
              ) -> dict[str, bool]:
    """max_new_tokens respected (1, 2 and 5 tokens), a stop string taken from the greedy output
    ends it there, a stop string never produced changes nothing, and no end-of-text text is
    left in an output that ended at end-of-text."""
    from modeltests.adapters.generation import GenerationRequest

    prompt = smoke[0]
    results: dict[str, bool] = {}

    def record(name: str, ok: bool, why: str) -> None:
        results[name] = ok
        if not ok:
            failures.append({"input": name, "text": prompt[:300], "error": why})

    for limit in (1, 2, 5):
        try:
            got = generate([prompt], GenerationRequest(max_new_tokens=limit))[0]
        except ModelTestsError as exc:
            record(f"max_new_tokens {limit}", False, str(exc))
            continue
        exact = got.finish_reason != "length" or not got.token_ids or got.new_tokens == limit
        record(f"max_new_tokens {limit}", exact, f"finish_reason 'length' after "
               f"{got.new_tokens} tokens, not {limit}")
    try:
        plain = generate([prompt], GenerationRequest(max_new_tokens=max_new_tokens))[0]
        never = generate([prompt], GenerationRequest(max_new_tokens=max_new_tokens,
                                                     stop=(NEVER_PRODUCED,)))[0]
        record("stop string never produced", never.text == plain.text
               and never.finish_reason != "stop", f"output changed to {never.text[:80]!r} "
               f"({never.finish_reason}) from {plain.text[:80]!r} ({plain.finish_reason})")
        stop = _stop_string(plain.text)
        if stop is not None:
            cut = generate([prompt], GenerationRequest(max_new_tokens=max_new_tokens,
                                                       stop=(stop,)))[0]
            expected = plain.text[:plain.text.index(stop)]
            record(f"stop string {stop!r}", cut.finish_reason == "stop"
                   and cut.text == expected, f"expected {expected[:80]!r} ending 'stop', got "
                   f"{cut.text[:80]!r} ending {cut.finish_reason!r}")
    except ModelTestsError as exc:
        record("stop strings", False, str(exc))
    if model.eos_text:
        leaked = [name for name, g in answers.items()
                  if g.finish_reason == "eos" and model.eos_text in g.text]
        record("end-of-text", not leaked, f"{model.eos_text!r} left in the output of "
               f"{', '.join(leaked[:3])}")
    return results


def _stop_string(text: str) -> str | None:
    """A word of the output after its first one (so the text before it is not empty), or
    None for an output of fewer than two words."""
    words = text.split()
    for word in words[1:]:
        if text.index(word) > 0:
            return word
    return None


def _repeatability(context: CheckContext, model: TextGenerator, generate: Generate,
                   prompts: list[str], request: GenerationRequest,
                   failures: list[dict[str, Any]], details: dict[str, Any]
                   ) -> dict[str, float]:
    """Greedy tokens of two identical calls (``determinism_diff``: share of prompts that
    differ), of each prompt alone and inside one padded batch (``batch_agreement``), the
    largest log-probability change between those (``batch_diff``), and whether the next-token
    distributions are finite (``finite_logprob_rate``)."""
    try:
        first, second = generate(prompts, request), generate(prompts, request)
        alone = [generate([p], request)[0] for p in prompts]
    except ModelTestsError as exc:
        failures.append({"input": "repeatability", "text": "", "error": str(exc)})
        return {"determinism_diff": 1.0, "batch_agreement": 0.0}
    differ = [i for i, (a, b) in enumerate(zip(first, second)) if _tokens(a) != _tokens(b)]
    agree = [i for i, (a, b) in enumerate(zip(first, alone)) if _tokens(a) == _tokens(b)]
    for i in differ:
        failures.append({"input": "greedy determinism", "text": prompts[i][:300],
                         "error": f"{first[i].text[:60]!r} then {second[i].text[:60]!r}"})
    for i in sorted(set(range(len(prompts))) - set(agree)):
        failures.append({"input": "batch invariance", "text": prompts[i][:300],
                         "error": f"in a batch {first[i].text[:60]!r}, alone "
                                  f"{alone[i].text[:60]!r}"})
    metrics = {"determinism_diff": len(differ) / len(prompts),
               "batch_agreement": len(agree) / len(prompts)}
    metrics.update(_logprob_checks(context, model, [p + g.text for p, g in zip(prompts, alone)],
                                   failures, details))
    return metrics


def _logprob_checks(context: CheckContext, model: TextGenerator, texts: list[str],
                    failures: list[dict[str, Any]], details: dict[str, Any]
                    ) -> dict[str, float]:
    import numpy as np

    from modeltests.adapters.generation import TokenLogprobs, validate_token_logprobs

    def score(batch: list[str]) -> list[TokenLogprobs]:
        return context.call_model(model, "token_logprobs", len(batch), lambda:
                                  validate_token_logprobs(model.token_logprobs(batch), batch),
                                  locate=False)

    alone: list[TokenLogprobs] = []
    finite = 0
    for text in texts:
        try:
            alone.append(score([text])[0])
            finite += 1
        except UnsupportedCapabilityError:
            details["logprobs"] = "not tried: the generator gives no next-token distributions"
            return {}
        except ModelTestsError as exc:
            failures.append({"input": "finite log-probabilities", "text": text[:300],
                             "error": str(exc)})
    metrics = {"finite_logprob_rate": finite / len(texts)}
    if finite < len(texts):
        return metrics
    try:
        batched = score(texts)
    except ModelTestsError as exc:
        failures.append({"input": "batch invariance (log-probabilities)", "text": "",
                         "error": str(exc)})
        return metrics
    worst = 0.0
    for text, one, many in zip(texts, alone, batched):
        if one.token_ids != many.token_ids or one.logprobs.shape != many.logprobs.shape:
            worst = float("inf")
            failures.append({"input": "batch invariance (log-probabilities)", "text": text[:300],
                             "error": "the batch tokenised the text differently"})
            continue
        if one.logprobs.size:
            worst = max(worst, float(np.abs(one.logprobs - many.logprobs).max()))
    metrics["batch_diff"] = worst
    return metrics


def _tokens(generation: Generation) -> tuple[int, ...] | str:
    """What greedy decoding chose: the token ids, or the text when the adapter gives none."""
    return generation.token_ids or generation.text
