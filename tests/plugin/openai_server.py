"""A fake OpenAI-compatible server for the ``openai`` adapter's tests: it answers
``/v1/chat/completions`` (and ``/v1/completions``) with server-sent events the way vLLM and
``transformers serve`` do, or misbehaves as :attr:`FakeOpenAI.mode` says.

Answers: "The capital of X is" -> " Paris ." (the deltas are words; " London ." for Chile and
Egypt), anything else -> " the cat sat ." Every delta follows a pause of ``gap_s`` seconds after
``first_s`` before the first one (known delays for the load figures' test).

A scoring request (``echo: true``, a prompt of token ids) is answered in vLLM's shape with
log-probability -1 for every token (``null`` for the first), or broken as
:attr:`FakeOpenAI.scoring` says.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator, Mapping

from .http_server import HANG, Answer, LoopbackServer, Stream

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Peru": "Lima", "Kenya": "Nairobi"}
TEMPLATE_ERROR = ("Cannot use chat template functions because tokenizer.chat_template is not "
                  "set and no template argument was passed!")


def answer_words(prompt: str) -> list[str]:
    """The words the fake model answers ``prompt`` with (each one streamed delta)."""
    for country, capital in CAPITALS.items():
        if f"capital of {country}" in prompt:
            return [f" {capital}", " ."]
    if "capital of" in prompt:
        return [" London", " ."]
    return [" the", " cat", " sat", " ."]


def chunk(content: str | None = None, finish: str | None = None, chat: bool = True) -> str:
    """One ``data:`` event of a streamed completion."""
    if chat:
        choice: dict[str, Any] = {"index": 0, "delta": {} if content is None else
                                  {"content": content}, "finish_reason": finish}
    else:
        choice = {"index": 0, "text": content or "", "finish_reason": finish}
    kind = "chat.completion.chunk" if chat else "text_completion"
    return "data: " + json.dumps({"id": "x", "object": kind, "choices": [choice]}) + "\n\n"


class FakeOpenAI(LoopbackServer):
    """The fake server; ``mode`` picks its behaviour (``ok`` by default)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.first_s = 0.0
        self.gap_s = 0.0
        self.scoring = "ok"
        self.bodies: list[dict[str, Any]] = []
        super().__init__(self._answer, keep_alive=True)
        self.url = self.base + "/v1"

    def _answer(self, number: int, body: dict[str, Any], headers: Mapping[str, str]
                ) -> Answer | Stream | str:
        self.bodies.append(body)
        if body.get("echo"):
            return self._scored(body["prompt"])
        chat = "messages" in body
        prompt = body["messages"][-1]["content"] if chat else body["prompt"]
        words = answer_words(prompt)
        mode = self.mode
        if mode == "http error":
            return 400, {}, json.dumps({"detail": TEMPLATE_ERROR})
        if mode == "hang":
            return HANG
        if mode == "nothing":
            return Stream([], end="hang")
        if mode == "not sse":
            return Stream(['{"choices": []}'], content_type="application/json")
        if mode == "template error":  # transformers serve's error event, then the end
            return Stream([f'data: {{"error": "{TEMPLATE_ERROR}"}}'])
        if mode == "malformed":
            return Stream([chunk(words[0], chat=chat), "data: {'content': 'x'\n\n"])
        if mode == "garbage":
            return Stream(["hello world\n", "<html>busy</html>\n\n"])
        pieces: list[str | float] = [chunk(chat=chat) if chat else "", self.first_s]
        for index, word in enumerate(words):
            if index:
                pieces.append(self.gap_s)
            pieces.append(chunk(word, chat=chat))
        if mode == "cut":
            return Stream(pieces[:3], end="cut")
        if mode == "stall":
            return Stream(pieces[:3], end="hang")
        usage = len(words)
        if mode == "long":
            usage = body["max_tokens"] + 5
        pieces.append(chunk(None, "stop", chat=chat))
        if mode in ("usage", "long"):
            pieces.append("data: " + json.dumps({"choices": [], "usage": {
                "prompt_tokens": len(prompt.split()), "completion_tokens": usage}}) + "\n\n")
        if mode == "no done":
            return Stream(pieces, end="hang")
        if mode != "no done close":
            pieces.append("data: [DONE]\n\n")
        return Stream(pieces)

    def _scored(self, prompt: list[int]) -> Answer:
        """The answer to a scoring request, as :attr:`scoring` says: ``ok``, ``no logprobs``
        (``null``), ``no echo`` (the generated token's only), ``long`` (two more entries),
        ``null`` / ``nan`` (the last prompt token's), ``usage`` (three more prompt tokens counted),
        ``refuse`` (HTTP 400)."""
        mode = self.scoring
        if mode == "refuse":
            return 400, {}, json.dumps({"object": "error", "type": "BadRequestError",
                                        "message": "echo is not supported", "code": 400})
        values: list[float | None] = [None, *([-1.0] * len(prompt))]
        if mode == "no echo":
            values = values[-1:]
        elif mode == "long":
            values += [-1.0, -1.0]
        elif mode in ("null", "nan"):
            values[len(prompt) - 1] = None if mode == "null" else float("nan")
        logprobs = {"token_logprobs": values, "tokens": [str(t) for t in values],
                    "top_logprobs": [None if v is None else {"x": -1.0} for v in values]}
        choice = {"index": 0, "text": "", "finish_reason": "length",
                  "logprobs": None if mode == "no logprobs" else logprobs}
        return 200, {"Content-Type": "application/json"}, json.dumps({
            "object": "text_completion", "choices": [choice],
            "usage": {"prompt_tokens": len(prompt) + 3 * (mode == "usage"),
                      "completion_tokens": 1}})

    def serving(self) -> Iterator[FakeOpenAI]:
        for _ in self.serve():
            yield self


def independent_figures(url: str, requests: int) -> dict[str, list[float]]:
    """TTFT, TPOT, e2e and inter-token gaps (ms) of ``requests`` chat requests to ``url`` (the
    base, ending /v1), measured by a plain httpx streaming loop written here: not the openai
    adapter's parser, the independent client its load figures are checked against."""
    import httpx

    found: dict[str, list[float]] = {"ttft": [], "tpot": [], "itl": [], "e2e": []}
    body = {"model": "fake", "stream": True, "max_tokens": 8, "temperature": 0.0,
            "messages": [{"role": "user", "content": "I really enjoyed it."}],
            "stream_options": {"include_usage": True}}
    with httpx.Client() as client:
        for _ in range(requests):
            start, stamps, last, tokens = time.perf_counter(), [], 0.0, 0
            with client.stream("POST", url + "/chat/completions", json=body) as response:
                for line in response.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    now, payload = time.perf_counter(), json.loads(line[6:])
                    if payload["choices"] and payload["choices"][0]["delta"].get("content"):
                        stamps.append(now)
                    tokens = (payload.get("usage") or {}).get("completion_tokens", tokens)
                    last = now
            found["ttft"].append((stamps[0] - start) * 1000)
            found["e2e"].append((last - start) * 1000)
            found["tpot"].append((last - stamps[0]) * 1000 / (tokens - 1))
            found["itl"] += [(b - a) * 1000 for a, b in zip(stamps, stamps[1:])]
    return found
