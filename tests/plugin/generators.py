"""A generator written in Python for the plugin tests of the generative kinds.

``fakegen`` (registered by :data:`FAKE_GENERATOR_CONFTEST`) answers "The capital of X is" with
X's capital (wrong for the countries in ``wrong``, unless it samples with an even seed), "json"
prompts with JSON (broken for "broken json"), "loop" prompts with a word repeated, and anything
else with a short sentence then end-of-text. Tokens are words; ``max_context`` is 64 words.
"""

from __future__ import annotations

FAKE_GENERATOR_CONFTEST = '''
import math
from typing import Literal

import numpy as np

from modeltests import AdapterKind, AdapterParams
from modeltests.errors import ModelPredictError
from modeltests.adapters.generation import (ContinuationScore, Generation, TextGenerator,
                                            TokenLogprobs)

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Peru": "Lima", "Kenya": "Nairobi",
            "Chile": "Santiago", "Egypt": "Cairo"}
VOCAB = 50


class FakeGenParams(AdapterParams):
    adapter: Literal["fakegen"] = "fakegen"
    wrong: list[str] = []
    flaky: bool = False
    crash_on_empty: bool = False
    nan_logits: bool = False
    refuse_long: bool = False
    surrogate: bool = False


class FakeGenerator(TextGenerator):
    max_context = 64
    eos_text = "<eos>"

    def __init__(self, params):
        self.params = params
        self.calls = 0

    def _answer(self, prompt, request):
        if self.params.surrogate:
            return "caf\\udce9"
        if not prompt.strip() and self.params.crash_on_empty:
            raise IndexError("index 0 is out of bounds for dimension 0 with size 0")
        for country, capital in CAPITALS.items():
            if f"capital of {country}" in prompt:
                right = country not in self.params.wrong or (
                    request.temperature > 0 and request.seed % 2 == 0)
                return (capital if right else "London") + " ."
        if "broken json" in prompt:
            return '{"city": '
        if "json" in prompt:
            return '{"city": "Paris", "people": 2100000}'
        if "loop" in prompt:
            return " ".join(["la"] * 100)
        if self.params.flaky and self.calls % 2 == 0:
            return "a different day ."
        return "a fine day , with sun and rain ."

    def generate(self, prompts, request):
        self.calls += 1
        out = []
        for prompt in prompts:
            words = len(prompt.split())
            if words > self.max_context and self.params.refuse_long:
                raise ModelPredictError(f"prompt of {words} tokens exceeds the context of "
                                        f"{self.max_context}")
            if words > self.max_context:
                raise ValueError(f"prompt of {words} tokens is longer than the context")
            room = self.max_context - words
            text = self._answer(prompt, request)
            reason = "eos"
            for stop in request.stop:
                if stop in text:
                    text, reason = text[:text.index(stop)], "stop"
            pieces = text.split()
            limit = min(request.max_new_tokens, room)
            if len(pieces) > limit:
                pieces = pieces[:limit]
                reason = "length" if limit == request.max_new_tokens else "context"
                text = " ".join(pieces)
            out.append(Generation(text=text, finish_reason=reason,
                                  token_ids=tuple(hash(p) % VOCAB for p in pieces),
                                  prompt_tokens=words))
        return out

    def score(self, pairs):
        return [ContinuationScore(logprob=-1.0, tokens=max(1, len(c.split())), is_greedy=False)
                for _, c in pairs]

    def count_tokens(self, text):
        return len(text.split())

    def token_logprobs(self, texts):
        out = []
        for text in texts:
            ids = tuple(hash(w) % VOCAB for w in text.split()) or (0,)
            rows = np.full((len(ids) - 1, VOCAB), -math.log(VOCAB), dtype=np.float32)
            if self.params.nan_logits and len(rows):
                rows[0, 0] = np.nan
            out.append(TokenLogprobs(token_ids=ids, logprobs=rows))
        return out


def pytest_modeltests_register_adapters(registry):
    registry.add_adapter(AdapterKind("fakegen", FakeGenParams,
                                     lambda params, ctx: FakeGenerator(params)))
'''

CAPITALS_JSONL = "\n".join(
    f'{{"prompt": "The capital of {country} is", "answer": "{capital}", "region": "{region}"}}'
    for country, capital, region in [
        ("France", "Paris", "europe"), ("Japan", "Tokyo", "asia"), ("Peru", "Lima", "america"),
        ("Kenya", "Nairobi", "africa"), ("Chile", "Santiago", "america"),
        ("Egypt", "Cairo", "africa")]) + "\n"

GEN_HEAD = """model:
  adapter: fakegen
  wrong: [Chile, Egypt]
datasets:
  capitals:
    path: capitals.jsonl
    text_column: prompt
    label_column: answer
checks:
"""
