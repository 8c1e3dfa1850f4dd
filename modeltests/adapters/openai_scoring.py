"""Log-probabilities of given text from an OpenAI-compatible server (the ``openai`` adapter's
``logprobs: true``), asked for as lm-evaluation-harness's ``local-completions`` model asks:

- one window of token ids per request, ``POST /completions`` with ``{"prompt": [ids],
  "echo": true, "logprobs": 1, "max_tokens": 1, "temperature": 0}`` (not streamed); the ids come
  from the suite's ``tokenizer``, so the server scores exactly the tokens meant, never a
  re-tokenization of text;
- the answer's ``choices[0].logprobs.token_logprobs`` holds one entry per prompt token (the
  first ``null``: nothing predicts it) and then the generated token's, as vLLM answers; the
  continuation's log-probability is the sum over its positions, and it is greedy when each of
  its tokens is the most probable entry of ``top_logprobs`` at its position;
- pairs and documents become windows by :mod:`~modeltests.adapters.lm_windows` with windows
  two tokens shorter than ``max_context`` (the server is sent the whole window and must have room
  for the generated token): the windows of lm-eval's ``local-completions`` with ``max_length``
  set to the same context.

Where lm-eval reads ``token_logprobs[ctxlen:-1]`` whatever came back (a server that ignores
``echo`` answers one entry, and every continuation then scores 0), this module reads the prompt's
positions and refuses an answer of another length, a ``null`` or non-finite value among them,
or a server that counted another prompt length than the ids sent (its ``usage``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from modeltests.adapters.generation import ContinuationScore, DocumentScore
from modeltests.adapters.lm_windows import Window, encode_pair, pair_window, rolling_windows
from modeltests.errors import ModelOutputError, ModelPredictError, UnsupportedCapabilityError

if TYPE_CHECKING:
    import httpx

    from modeltests.adapters.http import HttpTransport

ASKED = "echo: true, logprobs: 1, max_tokens: 1"
NO_ECHO = ("it does not echo the prompt's log-probabilities (llama.cpp's server scores only the "
           "generated token: ggml-org/llama.cpp#27174)")


@dataclass
class EchoScorer:
    """Scores windows of token ids on a server's ``/completions`` (see the module docstring)."""

    transport: HttpTransport
    served_model: str
    tokenize: Callable[[str], list[int]]
    start_id: int
    max_context: int | None
    done: Callable[[int], None]

    @property
    def url(self) -> str:
        return self.transport.url

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[ContinuationScore]:
        """lm-eval's ``loglikelihood`` of each pair, one request each."""
        scores = []
        for context, continuation in pairs:
            context_ids, continuation_ids = encode_pair(self.tokenize, self.start_id, context,
                                                        continuation)
            size = self._size(len(context_ids) + len(continuation_ids))
            tokens, count = pair_window(context_ids, continuation_ids, size, continuation)
            logprob, greedy = self.window((tokens, count))
            scores.append(ContinuationScore(logprob, count, greedy))
            self.done(1)
        return scores

    def rolling(self, texts: Sequence[str], stride: int | None) -> list[DocumentScore]:
        """lm-eval's ``loglikelihood_rolling`` of each text (windows predicting ``stride``
        tokens each; disjoint by default)."""
        scores = []
        for text in texts:
            ids = self.tokenize(text)
            windows = rolling_windows(ids, self.start_id, self._size(len(ids)), stride)
            total = sum(self.window(window)[0] for window in windows)
            scores.append(DocumentScore(total, sum(k for _, k in windows), len(windows)))
            self.done(1)
        return scores

    def _size(self, tokens: int) -> int:
        """Tokens a window predicts at most: ``max_context - 2``, else all of them."""
        return self.max_context - 2 if self.max_context else max(1, tokens)

    def window(self, window: Window) -> tuple[float, bool]:
        """The summed log-probability of the window's last ``count`` tokens, and whether each
        is the server's most probable token there."""
        tokens, count = window
        body = {"model": self.served_model, "prompt": tokens, "max_tokens": 1,
                "temperature": 0, "logprobs": 1, "echo": True}
        payload = self.transport.exchange(json.dumps(body).encode(), self._read,
                                          refused=self._refused(len(tokens)))
        return self.read_logprobs(payload, len(tokens), count)

    def _read(self, response: httpx.Response, timeout: float) -> Any:
        raw = self.transport.read_capped(response)
        try:
            return json.loads(raw)
        except ValueError:
            raise ModelOutputError(f"{self.url} answered a scoring request with a body that is "
                                   f"not JSON: {self.transport.excerpt(raw)}") from None

    def _refused(self, prompt: int) -> Callable[[int, str], Exception]:
        def error(status: int, excerpt: str) -> Exception:
            if status >= 500:
                return ModelPredictError(f"{self.url} answered HTTP {status}: {excerpt}")
            context = ("model.max_context is unset: set it to the served model's context to "
                       "score long texts in windows" if self.max_context is None else
                       f"model.max_context is {self.max_context}")
            return UnsupportedCapabilityError(
                f"{self.url} answered HTTP {status} to a scoring request ({ASKED}, a prompt of "
                f"{prompt} token ids): {excerpt}. A server that scores no given text refuses "
                f"so, and one whose context is shorter than the prompt ({context})")
        return error

    def read_logprobs(self, payload: Any, prompt: int, count: int) -> tuple[float, bool]:
        """The sum over the prompt's last ``count`` positions of ``token_logprobs`` and whether
        each is the largest of ``top_logprobs`` there (lm-eval's ``is_greedy``); a located error
        for an answer that is not one entry per prompt token and then the generated one."""
        logprobs = self._logprobs(payload)
        values, top = logprobs.get("token_logprobs"), logprobs.get("top_logprobs")
        if not isinstance(values, list):
            raise ModelOutputError(f"{self.url}: 'token_logprobs' is "
                                   f"{type(values).__name__}, not a list")
        if len(values) < prompt:
            raise UnsupportedCapabilityError(
                f"{self.url} answered {len(values)} log-probabilit"
                f"{'y' if len(values) == 1 else 'ies'} for a prompt of {prompt} tokens ({ASKED}): "
                f"{NO_ECHO}")
        if len(values) > prompt + 1:
            raise ModelOutputError(
                f"{self.url} answered {len(values)} log-probabilities for a prompt of {prompt} "
                f"tokens and max_tokens 1 (expected {prompt + 1}: one per prompt token, the "
                "first null, then the generated token's)")
        self._check_usage(payload, prompt)
        if not isinstance(top, list) or len(top) < prompt:
            raise ModelOutputError(f"{self.url}: 'top_logprobs' is not a list of one entry per "
                                   f"prompt token ({prompt}): {_clip(top)}")
        total, greedy = 0.0, True
        for position in range(prompt - count, prompt):
            value = _logprob(values[position])
            if value is None:
                raise ModelOutputError(
                    f"{self.url}: the log-probability of prompt token {position} (of {prompt}) "
                    f"is {_clip(values[position])}, not a finite number <= 0")
            candidates = top[position]
            best = [_logprob(v) for v in candidates.values()] if isinstance(candidates, dict) \
                else []
            if not best or None in best:
                raise ModelOutputError(
                    f"{self.url}: top_logprobs of prompt token {position} is "
                    f"{_clip(candidates)}, not a map of tokens to log-probabilities")
            total += value
            greedy = greedy and value == max(v for v in best if v is not None)
        return total, greedy

    def _logprobs(self, payload: Any) -> dict[str, Any]:
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ModelOutputError(f"{self.url} answered a scoring request without a choice: "
                                   f"{self.transport.excerpt(json.dumps(payload).encode())}")
        logprobs = choices[0].get("logprobs")
        if logprobs is None:
            raise UnsupportedCapabilityError(
                f"{self.url} answered a scoring request ({ASKED}) without log-probabilities "
                "('logprobs': null): it scores no given text")
        if not isinstance(logprobs, dict):
            raise ModelOutputError(f"{self.url}: 'logprobs' is {_clip(logprobs)}, not an object")
        return logprobs

    def _check_usage(self, payload: dict[str, Any], prompt: int) -> None:
        """A server that counts another prompt length did not take the ids as the prompt."""
        usage = payload.get("usage")
        counted = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        if isinstance(counted, int) and counted != prompt:
            raise ModelOutputError(f"{self.url} counted {counted} prompt tokens for the {prompt} "
                                   "token ids sent (usage.prompt_tokens): it did not score them "
                                   "as sent")


def _logprob(value: object) -> float | None:
    """``value`` as a log-probability, or None when it is not a finite number <= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value <= 1e-6 else None


def _clip(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
