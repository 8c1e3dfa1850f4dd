"""An OpenAI-compatible ``/v1/completions`` server on 127.0.0.1 backed by a real model (loaded
with ``AutoModelForCausalLM.from_pretrained``), answering scoring requests as vLLM does.

It answers ``echo: true, max_tokens: 1`` requests (a prompt of token ids, or text it tokenizes
without special tokens, or a list of either: one choice each) with the model's genuine prompt log-probabilities: one forward over the
prompt, ``token_logprobs`` with ``null`` for the first token, then each prompt token's
log-probability given the tokens before it, then the greedy next token's; ``top_logprobs`` at
each position holds the token there and the ``logprobs`` most probable ones, keyed by their
decoded text; ``usage`` counts the prompt. Like vLLM it refuses (HTTP 400) a prompt that leaves
no room in the model's context for ``max_tokens``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Iterator, Mapping

from plugin.http_server import Answer, LoopbackServer


class CompletionsServer(LoopbackServer):
    """The server (see the module docstring); ``url`` is its base, ending ``/v1``."""

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        self.context = int(self.model.config.n_positions)
        self.forward_lock = threading.Lock()
        super().__init__(self._answer, keep_alive=True)
        self.url = self.base + "/v1"

    def _handler(self, keep_alive: bool) -> type[BaseHTTPRequestHandler]:
        # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK of the headers (40 ms a request on Linux loopback).
        handler = super()._handler(keep_alive)
        handler.disable_nagle_algorithm = True
        return handler

    def serving(self) -> Iterator[CompletionsServer]:
        for _ in self.serve():
            yield self

    def _answer(self, number: int, body: dict[str, Any], headers: Mapping[str, str]) -> Answer:
        prompt = body["prompt"]
        batch = prompt if isinstance(prompt, list) and prompt and \
            all(isinstance(p, (list, str)) for p in prompt) else [prompt]
        prompts = [list(p) if isinstance(p, list) else
                   self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in batch]
        max_tokens = int(body.get("max_tokens", 16))
        if not body.get("echo") or max_tokens != 1:
            return _error(f"this server answers scoring requests only (echo: true, max_tokens: "
                          f"1), not {json.dumps(body)[:80]}")
        longest = max(len(ids) for ids in prompts)
        if longest + max_tokens > self.context:
            return _error(f"This model's maximum context length is {self.context} tokens. "
                          f"However, you requested {longest + max_tokens} tokens "
                          f"({longest} in the messages, {max_tokens} in the completion).")
        choices = []
        for index, ids in enumerate(prompts):
            logprobs = self._logprobs(ids, int(body.get("logprobs") or 0))
            choices.append({"index": index, "text": logprobs.pop("text"), "logprobs": logprobs,
                            "finish_reason": "length", "stop_reason": None})
        counted = sum(len(ids) for ids in prompts)
        return 200, {"Content-Type": "application/json"}, json.dumps({
            "id": f"cmpl-{number}", "object": "text_completion", "created": 0,
            "model": body.get("model"), "choices": choices,
            "usage": {"prompt_tokens": counted, "completion_tokens": len(prompts),
                      "total_tokens": counted + len(prompts)}})

    def _logprobs(self, ids: list[int], top: int) -> dict[str, Any]:
        import torch

        with self.forward_lock, torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([ids])).logits[0]
        table = torch.log_softmax(logits.float(), dim=-1)
        tokens = [*ids, int(table[-1].argmax())]
        values: list[float | None] = [None]
        tops: list[dict[str, float] | None] = [None]
        for position in range(1, len(tokens)):
            row, token = table[position - 1], tokens[position]
            values.append(float(row[token]))
            best = torch.topk(row, top) if top else None
            entries = {self._text(token): float(row[token])}
            if best is not None:
                entries.update({self._text(int(i)): float(v)
                                for v, i in zip(best.values, best.indices)})
            tops.append(entries)
        texts = [self._text(t) for t in tokens]
        offsets = [sum(len(t) for t in texts[:i]) for i in range(len(texts))]
        return {"text": "".join(texts), "tokens": texts, "token_logprobs": values,
                "top_logprobs": tops, "text_offset": offsets}

    def _text(self, token: int) -> str:
        return str(self.tokenizer.decode([token]))


def _error(message: str) -> Answer:
    return 400, {"Content-Type": "application/json"}, json.dumps({
        "object": "error", "message": message, "type": "BadRequestError", "param": None,
        "code": 400})
