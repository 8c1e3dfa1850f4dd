"""A text generator served over the OpenAI-compatible API (``adapter: openai``): vLLM, TGI,
llama.cpp's server, ``transformers serve`` ... answer ``POST /v1/chat/completions`` or
``/v1/completions`` with a stream of server-sent events.

Every request streams (``"stream": true``) and is parsed by :mod:`modeltests.adapters.sse`;
the transport (pooled httpx client, retries on 429/503 with ``Retry-After``, the check's time
budget, the circuit breaker, secrets in headers masked) is the ``http`` adapter's
:class:`~modeltests.adapters.http.HttpTransport`. Per request the adapter records when each
non-empty delta arrived (the first is the time to first token; the gaps are the inter-token
latencies), the output token count (the server's ``usage`` when it sends one, else the
``tokenizer`` the suite names, else one per delta, and the result says which) and the finish
reason.

A server that misbehaves gives a located error, never a hang beyond ``timeout_s`` (and the
check's ``check_timeout_s``): a stream that sends nothing, stalls, never ends, breaks off
mid-answer, sends lines that are not events or events that are not JSON, an error event (a
chat-template error), an answer longer than ``max_tokens``, or an HTTP error. A stream that
stalls opens the breaker like a server that does not answer.

Log-probabilities of given text (``score``, ``rolling_logprob``: the perplexity and choice
kinds) come only with ``logprobs: true``, from ``POST /completions`` with ``echo: true`` and
token-id prompts, as lm-evaluation-harness's ``local-completions`` model asks (vLLM answers it;
see :mod:`modeltests.adapters.openai_scoring`). Without it, or from a server that answers
without them, they raise :class:`~modeltests.errors.UnsupportedCapabilityError`: perplexity and
choice refuse the model with that reason, located at the check.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Sequence

from pydantic import Field, model_validator

from modeltests.adapters.base import LoadContext
from modeltests.adapters.generation import (
    ContinuationScore,
    DocumentScore,
    FinishReason,
    Generation,
    GenerationRequest,
    TextGenerator,
    TimedGeneration,
)
from modeltests.adapters.http import HttpClientParams, HttpTransport, expand_headers
from modeltests.adapters.openai_scoring import EchoScorer
from modeltests.adapters.sse import EventParser
from modeltests.errors import ModelLoadError, ModelOutputError, UnsupportedCapabilityError

if TYPE_CHECKING:
    import httpx

PATHS = {"chat": "/chat/completions", "completions": "/completions"}
DELTAS = "streamed deltas (one token each)"


class OpenAIParams(HttpClientParams):
    """A generator behind an OpenAI-compatible server, streamed."""

    adapter: Literal["openai"] = "openai"
    url: str = Field(pattern=r"^https?://", description="The server's OpenAI-compatible base "
                     "URL, e.g. http://127.0.0.1:{port}/v1 (the endpoint's path is appended).")
    endpoint: Literal["chat", "completions"] = Field(
        default="chat", description="'chat': POST /chat/completions with the prompt as one "
        "user message (the server applies its chat template); 'completions': POST /completions "
        "with the raw prompt.")
    served_model: str = Field(description="The request's 'model': the name the server serves "
                              "the model under.")
    tokenizer: str | None = Field(
        default=None, description="A directory (or builtin:NAME) whose tokenizer counts output "
        "tokens when the server sends no 'usage', and prompt tokens for the latency kind's "
        "prompt lengths (default: the server's usage, else one token per streamed delta).")
    stream_usage: bool = Field(
        default=False, description="Ask for the token counts in the stream "
        "(stream_options.include_usage; vLLM sends them, transformers serve answers 422).")
    send_stop: bool = Field(
        default=True, description="Send a check's stop strings to the server ('stop'); false "
        "for servers that refuse them (transformers serve answers 422). Either way the answer is "
        "cut at the first stop string here too.")
    max_context: int | None = Field(default=None, ge=2, description="The served model's "
                                    "context in tokens, when known (prompt plus generation).")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="More fields of the "
                                       "generation requests, e.g. {top_k: 1} (they override the "
                                       "adapter's; scoring requests are sent without them).")
    logprobs: bool = Field(
        default=False, description="Score given text (perplexity, choice) with the server's "
        "log-probabilities: POST /completions with echo: true, logprobs: 1, max_tokens: 1 and "
        "the text as token ids of 'tokenizer' (required), in windows of max_context - 1 tokens "
        "(lm-eval's local-completions; vLLM answers it). Default off: such kinds refuse the "
        "model, and no server is asked for what it may not offer.")
    served: ClassVar[bool] = True

    @model_validator(mode="after")
    def _scoring_has_a_tokenizer(self) -> OpenAIParams:
        if self.logprobs and self.tokenizer is None:
            raise ValueError("'logprobs: true' sends the scored text as token ids: it needs "
                             "'tokenizer' (the served model's tokenizer: a directory or "
                             "builtin:NAME)")
        if self.logprobs and self.max_context is not None and self.max_context < 3:
            raise ValueError(f"'logprobs: true' scores windows of max_context - 1 tokens (one "
                             f"left for the generated token) that predict at least one: "
                             f"max_context must be at least 3 (got {self.max_context})")
        return self


@dataclass
class StreamRecord:
    """What one streamed answer held."""

    text: str = ""
    finish_reason: str | None = None
    chunk_ns: list[int] = field(default_factory=list)
    """Arrival of each non-empty delta (``time.perf_counter_ns``)."""
    usage_tokens: int | None = None
    prompt_tokens: int | None = None
    done: bool = False
    events: int = 0
    last_ns: int = 0
    """Arrival of the last event before ``[DONE]``."""


class OpenAIGenerator(TextGenerator):
    """Generation over an OpenAI-compatible server (see the module docstring)."""

    def __init__(self, params: OpenAIParams, transport: HttpTransport,
                 tokenizer_dir: str | None, scoring: HttpTransport | None = None) -> None:
        self.params = params
        self.transport = transport
        self.scoring = scoring
        """The transport to ``/completions`` for log-probabilities (``logprobs: true``)."""
        self.tokenizer_dir = tokenizer_dir
        self.max_context = params.max_context
        self.labels = []
        self.device = "remote"
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.counted_by: set[str] = set()
        self.server_reasons: dict[str, int] = {}
        self.stream_ends: set[str] = set()

    # -- the calls ------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str], request: GenerationRequest) -> list[Generation]:
        generations = []
        for prompt in prompts:
            generations.append(self.generate_timed(prompt, request).generation)
            self.batch_done(1)
        return generations

    def generate_timed(self, prompt: str, request: GenerationRequest) -> TimedGeneration:
        body = json.dumps(self.body(prompt, request)).encode()
        self.transport.client()  # made (httpx imported) before the clock starts
        started = time.perf_counter_ns()
        record = self.transport.exchange(body, lambda response, timeout: self.read_stream(
            response, timeout, started))
        return self._timed(record, started, request)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[ContinuationScore]:
        return self._scorer().score(pairs)

    def rolling_logprob(self, texts: Sequence[str], stride: int | None = None
                        ) -> list[DocumentScore]:
        return self._scorer().rolling(texts, stride)

    def _scorer(self) -> EchoScorer:
        if self.scoring is None:
            base = self.transport.url.removesuffix(PATHS[self.params.endpoint])
            raise UnsupportedCapabilityError(
                f"the openai adapter scores no given text without model.logprobs: true (then "
                f"POST {base}/completions with echo: true, logprobs: 1, as lm-eval's "
                "local-completions; vLLM answers it, transformers serve and llama.cpp's server "
                "do not): set it, or score the same weights in-process (adapter: transformers, "
                "task: text-generation)")
        tokenizer = self.tokenizer()
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None \
            else tokenizer.eos_token_id
        if start is None:
            raise UnsupportedCapabilityError(
                f"tokenizer {self.params.tokenizer} has neither a start (bos) nor an "
                "end-of-text (eos) token to begin a scored text with")
        return EchoScorer(self.scoring, self.params.served_model, self._token_ids, int(start),
                          self.max_context, self.batch_done)

    def _token_ids(self, text: str) -> list[int]:
        return list(self.tokenizer()(text, add_special_tokens=False)["input_ids"]) \
            if text else []

    def count_tokens(self, text: str) -> int:
        tokenizer = self.tokenizer()
        if tokenizer is None:
            raise UnsupportedCapabilityError(f"the openai adapter counts no tokens without "
                                             "model.tokenizer")
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def tokenizer(self) -> Any:
        """The suite's tokenizer (loaded on first use), or None."""
        with self._lock:
            if self._tokenizer is None and self.tokenizer_dir is not None:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_dir)
            return self._tokenizer

    # -- requests -------------------------------------------------------------------------------
    def body(self, prompt: str, request: GenerationRequest) -> dict[str, Any]:
        """The JSON request for ``prompt`` under ``request``."""
        body: dict[str, Any] = {"model": self.params.served_model, "stream": True,
                                "max_tokens": request.max_new_tokens,
                                "temperature": request.temperature}
        if self.params.endpoint == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if request.stop and self.params.send_stop:
            body["stop"] = list(request.stop)
        if request.seed is not None and not request.greedy:
            body["seed"] = request.seed
        if self.params.stream_usage:
            body["stream_options"] = {"include_usage": True}
        return {**body, **self.params.extra_body}

    def read_stream(self, response: httpx.Response, timeout: float, started: int
                    ) -> StreamRecord:
        """The events of one streamed answer, read until ``data: [DONE]`` or the end of the
        stream, within ``timeout`` seconds of ``started``; a located error otherwise."""
        import httpx

        url = self.transport.url
        kind = response.headers.get("Content-Type", "")
        if not kind.startswith("text/event-stream"):
            first = next(response.iter_bytes(), b"")
            raise ModelOutputError(f"{url} answered Content-Type {kind or 'none'!r}, not a "
                                   f"stream of events (text/event-stream): it starts "
                                   f"{self.transport.excerpt(first)}")
        parser, record = EventParser(), StreamRecord()
        deadline = started + int(timeout * 1e9)
        limit, size = int(self.params.max_response_mb * 1_000_000), 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    self.transport.fail_too_large(f"more than {limit:,} bytes streamed")
                for event in parser.feed(chunk):
                    self._event(event.data, record)
                    if record.done:
                        return record
                if time.perf_counter_ns() > deadline:
                    self._stalled(f"the answer took longer than {timeout:g} s "
                                  f"({self._so_far(record)})")
        except httpx.TimeoutException:
            self._stalled(self._silence(record, timeout))
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ModelOutputError(f"{url}: the stream broke off mid-answer "
                                   f"({self._so_far(record)}): "
                                   f"{self.transport.masked_error(exc)}") from None
        unfinished = parser.close()
        if unfinished is not None:
            self._event(unfinished.data, record)
            if record.done:
                return record
        if record.finish_reason is None:
            raise ModelOutputError(f"{url}: the stream ended mid-answer, without a "
                                   f"finish_reason or data: [DONE] ({self._so_far(record)}"
                                   f"{self._ignored(parser)})")
        self.stream_ends.add("finish_reason, no [DONE]")
        return record

    def _event(self, data: str, record: StreamRecord) -> None:
        url = self.transport.url
        record.events += 1
        if data.strip() == "[DONE]":
            record.done = True
            self.stream_ends.add("[DONE]")
            if record.finish_reason is None:
                raise ModelOutputError(f"{url}: data: [DONE] came before any finish_reason "
                                       f"({self._so_far(record)})")
            return
        try:
            payload = json.loads(data)
        except ValueError:
            raise ModelOutputError(f"{url}: event {record.events} is not JSON: "
                                   f"{self.transport.excerpt(data.encode())}") from None
        record.last_ns = time.perf_counter_ns()
        if not isinstance(payload, dict):
            raise ModelOutputError(f"{url}: event {record.events} is not a JSON object: "
                                   f"{self.transport.excerpt(data.encode())}")
        if "error" in payload:
            error = payload["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ModelOutputError(f"{url} streamed an error: "
                                   f"{self.transport.excerpt(str(message).encode())}")
        usage = payload.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            record.usage_tokens = usage["completion_tokens"]
            if isinstance(usage.get("prompt_tokens"), int):
                record.prompt_tokens = usage["prompt_tokens"]
        choices = payload.get("choices")
        if not isinstance(choices, list):
            raise ModelOutputError(f"{url}: event {record.events} has no 'choices' list: "
                                   f"{self.transport.excerpt(data.encode())}")
        if not choices:  # the usage chunk
            return
        choice = choices[0]
        piece = (choice.get("delta") or {}).get("content") if self.params.endpoint == "chat" \
            else choice.get("text")
        if piece:
            if not isinstance(piece, str):
                raise ModelOutputError(f"{url}: event {record.events}: the delta's content is "
                                       f"{type(piece).__name__}, not text")
            record.chunk_ns.append(time.perf_counter_ns())
            record.text += piece
        if choice.get("finish_reason"):
            record.finish_reason = str(choice["finish_reason"])

    def _timed(self, record: StreamRecord, started: int, request: GenerationRequest
               ) -> TimedGeneration:
        url = self.transport.url
        token_ids: tuple[int, ...] = ()
        tokenizer = self.tokenizer()
        if record.usage_tokens is not None:
            count, source = record.usage_tokens, "usage"
        elif tokenizer is not None:
            token_ids = tuple(tokenizer(record.text, add_special_tokens=False)["input_ids"])
            count, source = len(token_ids), f"tokenizer {self.params.tokenizer}"
        else:
            count, source = len(record.chunk_ns), DELTAS
        self.counted_by.add(source)
        if count > request.max_new_tokens:
            raise ModelOutputError(f"{url} answered {count} tokens (counted by {source}), more "
                                   f"than max_tokens {request.max_new_tokens}")
        reason = record.finish_reason or "stop"
        self.server_reasons[reason] = self.server_reasons.get(reason, 0) + 1
        finish = self._finish(reason, request)
        text, stopped = _cut_at_stop(record.text, request.stop)
        generation = Generation(text, "stop" if stopped else finish, token_ids,
                                record.prompt_tokens, count if not token_ids else None)
        end_ms = (record.last_ns - started) / 1e6 if record.last_ns else None
        if not record.chunk_ns:
            return TimedGeneration(generation, 0.0, 0.0, (), end_ms)
        chunk_ms = tuple((ns - started) / 1e6 for ns in record.chunk_ns)
        return TimedGeneration(generation, chunk_ms[0], chunk_ms[-1], chunk_ms, end_ms)

    def _finish(self, reason: str, request: GenerationRequest) -> FinishReason:
        if reason == "length":
            return "length"
        if reason == "stop":
            return "stop" if request.stop else "eos"
        raise ModelOutputError(f"{self.transport.url} ended an answer with finish_reason "
                               f"{reason!r}; expected 'stop' or 'length'")

    # -- failures -------------------------------------------------------------------------------
    def _stalled(self, reason: str) -> None:
        self.transport.open_breaker(reason, prefix="")

    def _silence(self, record: StreamRecord, timeout: float) -> str:
        if not record.events:
            return f"streamed nothing within {timeout:g} s (model.timeout_s)"
        if record.finish_reason is not None:
            return (f"sent finish_reason {record.finish_reason!r} but no data: [DONE] and kept "
                    f"the stream open for {timeout:g} s (model.timeout_s)")
        return f"the stream stalled: nothing for {timeout:g} s after {self._so_far(record)}"

    @staticmethod
    def _so_far(record: StreamRecord) -> str:
        return (f"{record.events} event{'s' if record.events != 1 else ''}, "
                f"{len(record.text)} characters")

    @staticmethod
    def _ignored(parser: EventParser) -> str:
        if not parser.ignored:
            return ""
        return (f"; {parser.ignored} line{'s' if parser.ignored != 1 else ''} not server-sent "
                f"events, e.g. {parser.ignored_lines[0]!r}")

    # -- the session's view ---------------------------------------------------------------------
    def start_check(self) -> None:
        self.transport.start_check()
        if self.scoring is not None:
            self.scoring.start_check()

    def load_client(self) -> OpenAIGenerator:
        """The same server and connection pool without breaker or budget: under load each
        request stands alone (a failure is an error of that request)."""
        transport = HttpTransport(self.params, {}, self.transport.redactor, self.transport.url,
                                  breaker=False)
        transport.headers = self.transport.headers
        transport._client = self.transport.client()
        copy = OpenAIGenerator(self.params, transport, self.tokenizer_dir)
        copy._tokenizer = self.tokenizer()
        return copy

    def counters(self) -> dict[str, int]:
        both = [t for t in (self.transport, self.scoring) if t is not None]
        return {"requests": sum(t.requests_sent for t in both),
                "retries": sum(t.retries for t in both)}

    def notes(self) -> list[str]:
        if DELTAS not in self.counted_by:
            return []
        return [f"{self.transport.url} sent no token counts (usage) and model.tokenizer is not "
                "set: output tokens were counted one per streamed delta"]

    def describe(self) -> dict[str, Any]:
        return {"adapter": "openai", "url": self.transport.url, "device": self.device,
                "endpoint": self.params.endpoint, "served_model": self.params.served_model,
                "logprobs_from": self.scoring.url if self.scoring is not None else None,
                "output_tokens_from": sorted(self.counted_by),
                "streams_end_with": sorted(self.stream_ends),
                "finish_reasons": dict(self.server_reasons), **self.counters()}

    def close(self) -> None:
        self.transport.close()
        if self.scoring is not None:
            self.scoring.close()


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to its first stop string (a server that ignores or keeps ``stop``), and
    whether one was found."""
    found = [i for i in (text.find(stop) for stop in stops if stop) if i >= 0]
    return (text[:min(found)], True) if found else (text, False)


def load_openai(params: OpenAIParams, context: LoadContext) -> OpenAIGenerator:
    base = context.expand(params.url).rstrip("/")
    headers = expand_headers(params, context)
    transport = HttpTransport(params, headers, context.redactor, url=base + PATHS[params.endpoint])
    scoring = HttpTransport(params, headers, context.redactor, url=base + PATHS["completions"]) \
        if params.logprobs else None
    tokenizer_dir = None if params.tokenizer is None else str(_tokenizer_dir(params.tokenizer,
                                                                             context))
    return OpenAIGenerator(params, transport, tokenizer_dir, scoring)


def _tokenizer_dir(tokenizer: str, context: LoadContext) -> Path:
    """The directory of ``tokenizer:``: a built-in model, a directory, or a GGUF file
    (converted once, as the transformers adapter does, e.g. ``builtin:smollm2-135m``)."""
    from modeltests.adapters.transformers import converted_gguf

    if tokenizer.startswith("builtin:"):
        path = Path(context.builtin_model(tokenizer.removeprefix("builtin:")))
    else:
        path = context.resolve(tokenizer)
    if path.suffix == ".gguf" and path.is_file():
        return converted_gguf(path, context)
    if not path.is_dir():
        raise ModelLoadError(context.problem("tokenizer", f"{path} is not a directory (a "
                                             "tokenizer's files), a .gguf file or builtin:NAME"))
    return path
