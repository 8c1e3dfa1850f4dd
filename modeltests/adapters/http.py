"""A model served over HTTP, called with httpx: POST a batch of texts, read labels or
probabilities back (``protocol: plain`` or ``v2``, see :mod:`modeltests.adapters.protocols`).
With ``task: image-classification`` a batch of images goes as one V2 tensor (FP32 or UINT8,
NCHW or NHWC: ``image_input``), and the adapter declares image inputs (``inputs = "image"``),
so a text dataset or a text kind is refused at setup as for ``adapter: torch`` images.

One pooled ``httpx.Client`` per model keeps connections alive across requests and threads.
Header values may name environment variables as ``${NAME}`` so that tokens stay out of suites;
every value expanded that way is registered with the session's redactor, so that no report
shows it (a server that echoes the token back gets ``***`` in the messages).

An answer 429 or 503, or a connection reset, is retried up to ``max_retries`` times, after the
server's ``Retry-After`` when it sends one (at most ``max_retry_wait_s``), else after an
exponential backoff; retries are counted in the report. Other HTTP errors are not retried.

A dead server costs one wait per check, not one per request: once a request of a check times
out or cannot connect, the circuit breaker opens and every later request of that check fails at
once with the first reason; the next check tries again. ``check_timeout_s`` optionally bounds
the whole check: no request waits past it, and none is sent once it has passed. An answer body
is read up to ``max_response_mb`` (16 MB): a larger one (its ``Content-Length``, or the bytes
read so far) fails the request at once, so a runaway server cannot fill the memory. A load test
calls :meth:`HttpModel.load_client`, a copy without breaker or budget (each request stands alone).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import (TYPE_CHECKING, Any, AsyncIterator, Callable, ClassVar, Literal, Mapping,
                    NoReturn, Sequence, TypeVar)

from pydantic import BaseModel, ConfigDict, Field, model_validator

from modeltests.adapters.base import AdapterParams, LoadContext
from modeltests.adapters.callable import CallableModel
from modeltests.adapters.protocols import (plain_body, plain_outputs, v2_body, v2_image_body,
                                           v2_outputs)
from modeltests.errors import ModelLoadError, ModelOutputError, ModelPredictError
from modeltests.data.inputs import ModelInput
from modeltests.support.redaction import Redactor
from modeltests.support.text import clip

if TYPE_CHECKING:
    import httpx

    from modeltests.serving.http1 import Pool
    from modeltests.serving.loadgen import AsyncRequests, ProcessSpec, Requests, Send

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
EXCERPT_CHARS = 200
RETRY_STATUSES = (429, 503)
ERROR_BODY_BYTES = 64 * 1024
"""How much of an error page is read: enough for its excerpt in the message."""
T = TypeVar("T")
MESSAGE_CACHE = 1024
"""Load requests of one text: the request bytes of this many texts are built once."""


class HttpClientParams(AdapterParams):
    """What every model called over HTTP shares: where it is served, secrets in headers, timeouts,
    retries, the connection pool and the largest answer read (the ``http`` and ``openai``
    adapters)."""

    served: ClassVar[bool] = True
    url: str = Field(pattern=r"^https?://", description="Endpoint receiving POSTed batches "
                     "('{port}' placeholders come from the suite's serve: section).")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra request headers; '${NAME}' in a value reads environment variable "
        "NAME (masked as *** in every report).")
    timeout_s: float = Field(default=30.0, gt=0, le=3600,
                             description="Seconds to wait for one answer.")
    check_timeout_s: float | None = Field(
        default=None, gt=0, le=86400,
        description="Seconds one check may spend with this model in all: no request waits past "
        "it and none is sent after it (default: no limit).")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries of a request answered "
                             "429 or 503, or whose connection was reset.")
    retry_backoff_s: float = Field(default=0.2, ge=0, le=60, description="First wait before a "
                                   "retry without Retry-After; doubles each retry.")
    max_retry_wait_s: float = Field(default=10.0, ge=0, le=600, description="Longest wait "
                                    "before a retry, Retry-After included.")
    max_connections: int = Field(default=32, ge=1, le=1024,
                                 description="Connections the pool keeps open at most.")
    max_response_mb: float = Field(
        default=16.0, gt=0, le=4096,
        description="Largest answer body read, in MB (after decompression); a larger answer "
        "fails the request without being read whole.")


class ImageTensor(BaseModel):
    """How a batch of images goes over ``protocol: v2`` (``model.image_input``; see
    docs/how-to/images.md, "Served image models")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="images", description="Name of the input tensor.")
    datatype: Literal["FP32", "UINT8"] = Field(
        default="FP32", description="FP32: the pixels normalised with the dataset's mean and "
        "std (what adapter: torch feeds its module); UINT8: the pixels as integers 0-255 "
        "(round(pixel * 255)), which the server scales and normalises itself.")
    layout: Literal["NCHW", "NHWC"] = Field(
        default="NCHW", description="Shape of the tensor: [n, channels, height, width] or [n, "
        "height, width, channels]; data flattened row-major.")


class HttpParams(HttpClientParams):
    """Where the model is served and which protocol it speaks."""

    adapter: Literal["http"] = "http"
    labels: list[str] = Field(description="Label names, in the order of probability columns.")
    protocol: Literal["plain", "v2"] = Field(
        default="plain", description="'plain': {input_key: texts} -> {output_key: outputs}; "
        "'v2': the Open Inference Protocol (KServe, Triton, MLServer), POST "
        "/v2/models/NAME/infer with a BYTES tensor.")
    input_key: str = "texts"
    output_key: str = "predictions"
    input_name: str = Field(default="text", description="v2: name of the BYTES input tensor.")
    pair_input_name: str = Field(
        default="text_pair", description="v2, text pairs: name of the second BYTES input "
        "tensor (the second sides; the first sides go under input_name).")
    probabilities_output: str = Field(default="probabilities",
                                      description="v2: output tensor of shape [texts, labels].")
    label_output: str = Field(default="label", description="v2: BYTES output of labels, read "
                              "when no probabilities come back, else the cross-check of the "
                              "probability columns' order.")
    request_outputs: list[str] = Field(
        default_factory=list, description="v2: the outputs to ask for (the request's "
        "'outputs'), e.g. [predict_proba, predict] for MLServer's scikit-learn runtime "
        "(default: none named, the server's default outputs).")
    task: Literal["classification", "image-classification"] = Field(
        default="classification", description="classification: texts in (a BYTES tensor, or "
        "plain JSON); image-classification: images in, as the numeric tensor image_input "
        "describes (needs protocol: v2 and a dataset of images).")
    image_input: ImageTensor = Field(
        default_factory=ImageTensor, description="task: image-classification: the input "
        "tensor's name, datatype (FP32 or UINT8) and layout (NCHW or NHWC).")

    @model_validator(mode="after")
    def _images_go_as_v2_tensors(self) -> HttpParams:
        if self.task == "image-classification" and self.protocol != "v2":
            raise ValueError("task: image-classification sends images as V2 tensors: it needs "
                             "protocol: v2")
        if "image_input" in self.model_fields_set and self.task != "image-classification":
            raise ValueError("'image_input' describes the tensor of images: it needs task: "
                             "image-classification")
        return self

    @model_validator(mode="after")
    def _requested_outputs_are_read(self) -> HttpParams:
        if not self.request_outputs:
            return self
        if self.protocol != "v2":
            raise ValueError("'request_outputs' names V2 output tensors: it needs protocol: v2")
        read = {self.probabilities_output, self.label_output}
        if not read & set(self.request_outputs):
            raise ValueError(
                f"'request_outputs' {self.request_outputs} names neither probabilities_output "
                f"{self.probabilities_output!r} nor label_output {self.label_output!r}: the "
                "answer would hold nothing this adapter reads")
        return self


def expand_headers(params: HttpClientParams, context: LoadContext) -> dict[str, str]:
    """The suite's ``headers`` with ``${VAR}`` read from the environment; each value read is
    masked in everything modeltests writes."""
    return {k: _expand(v, context) for k, v in params.headers.items()}


def _expand(value: str, context: LoadContext) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ModelLoadError(f"{context.location}: model.headers: environment variable "
                                 f"{name} is not set")
        context.redactor.add(os.environ[name])
        return os.environ[name]

    return _ENV.sub(substitute, value)


def _seconds(value: float) -> str:
    return f"{value:g} s"


class HttpTransport:
    """Requests to one URL over a pooled httpx client, with retries, a per-check time budget, a
    circuit breaker and secrets masked in every message (shared by the ``http`` and ``openai``
    adapters)."""

    def __init__(self, params: HttpClientParams, headers: dict[str, str],
                 redactor: Redactor | None = None, url: str | None = None,
                 breaker: bool = True) -> None:
        self.params = params
        self.url = url or params.url
        self.headers = {"Content-Type": "application/json", **headers}
        self.redactor = redactor or Redactor()
        self.breaker = breaker
        self.requests_sent = 0
        self.retries = 0
        self.notes: set[str] = set()  # how answers were read, when it could not be checked
        self._failure: str | None = None  # why the breaker is open
        self._deadline: float | None = None
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def start_check(self) -> None:
        """Close the breaker and start the check's time budget."""
        self._failure = None
        budget = self.params.check_timeout_s if self.breaker else None
        self._deadline = None if budget is None else time.monotonic() + budget

    def client(self) -> httpx.Client:
        """The pooled client, made on first use (httpx is imported only then)."""
        with self._lock:
            if self._client is None:
                import httpx

                size = self.params.max_connections
                self._client = httpx.Client(
                    headers=self.headers, timeout=self.params.timeout_s,
                    limits=httpx.Limits(max_connections=size, max_keepalive_connections=size))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self.breaker:
                self._client.close()
            self._client = None

    def exchange(self, body: bytes, read: Callable[[httpx.Response, float], T],
                 refused: Callable[[int, str], Exception] | None = None) -> T:
        """POST ``body`` and ``read(response, timeout)`` the first answer that is not retried
        (retries on 429, 503, resets before an answer); an HTTP error is read only as far as
        its excerpt needs, and raised as ``refused(status, excerpt)`` when given, else as
        :class:`ModelPredictError`. ``read`` may raise :class:`ModelPredictError` (a stream that
        stalls or breaks off mid-answer), which is not retried."""
        import httpx

        for attempt in range(self.params.max_retries + 1):
            timeout = self._timeout()
            self._count("requests_sent")
            last = attempt == self.params.max_retries
            try:
                with self.client().stream("POST", self.url, content=body,
                                          timeout=timeout) as response:
                    if response.status_code < 400:
                        return read(response, timeout)
                    status, retry_after = response.status_code, response.headers.get("Retry-After")
                    content = _read_some(response, ERROR_BODY_BYTES)
            except httpx.TimeoutException:
                self.open_breaker(self._timed_out(timeout))
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if last:
                    self.open_breaker(f"the connection was reset ({self.masked_error(exc)})")
                self._wait_before_retry(attempt, None)
                continue
            except httpx.HTTPError as exc:  # ConnectError and the like: the server is gone
                self.open_breaker(self._reason(exc))
            if status in RETRY_STATUSES and not last:
                self._wait_before_retry(attempt, retry_after)
                continue
            if refused is not None:
                raise refused(status, self.excerpt(content))
            raise ModelPredictError(f"{self.url} answered HTTP {status}: "
                                    f"{self.excerpt(content)}")
        raise AssertionError("unreachable: the last attempt returns or raises")

    def read_capped(self, response: httpx.Response) -> bytes:
        """A response body read whole, refused once it passes ``model.max_response_mb``."""
        limit = int(self.params.max_response_mb * 1_000_000)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            self.fail_too_large(f"Content-Length {int(declared):,} bytes")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                self.fail_too_large(f"more than {limit:,} bytes read, the rest left unread")
            chunks.append(chunk)
        return b"".join(chunks)

    def fail_too_large(self, found: str) -> NoReturn:
        """Raise that an answer passed ``model.max_response_mb`` (``found``: what showed it)."""
        raise ModelPredictError(
            f"{self.url} answered a body larger than {self.params.max_response_mb:g} MB "
            f"(model.max_response_mb) ({found}); increase max_response_mb if such answers are "
            "expected")

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def open_breaker(self, reason: str, prefix: str = "cannot reach ") -> NoReturn:
        """The server cannot be reached (or its answer stalled): open the breaker (when it has
        one) and raise."""
        if self.breaker:
            self._failure = reason
        raise ModelPredictError(f"{prefix}{self.url}: {reason}")

    def _wait_before_retry(self, attempt: int, retry_after: str | None) -> None:
        time.sleep(self._retry_wait(attempt, retry_after))

    def _retry_wait(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before the next attempt (counted as a retry), or the error that
        stops it: the check's budget would run out first."""
        wait = _retry_after_seconds(retry_after)
        if wait is None:
            wait = self.params.retry_backoff_s * 2 ** attempt
        wait = min(wait, self.params.max_retry_wait_s)
        if self._deadline is not None and time.monotonic() + wait >= self._deadline:
            self._failure = f"no retry before {self._budget_spent()}"
            raise ModelPredictError(f"not sent to {self.url} again: {self._failure}")
        self._count("retries")
        return wait

    def _timeout(self) -> float:
        """Seconds the next request may wait, or the error that stops it being sent."""
        if self._failure is not None:
            raise ModelPredictError(f"not sent to {self.url}: it already failed in this "
                                    f"check: {self._failure}")
        if self._deadline is None:
            return self.params.timeout_s
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._failure = self._budget_spent()
            raise ModelPredictError(f"not sent to {self.url}: {self._failure}")
        return min(self.params.timeout_s, remaining)

    def _budget_spent(self) -> str:
        return (f"the check's time budget of {_seconds(self.params.check_timeout_s or 0)} ran "
                "out (model.check_timeout_s)")

    def _timed_out(self, timeout: float) -> str:
        if timeout < self.params.timeout_s:
            return f"no answer before {self._budget_spent()}"
        return f"no answer within {_seconds(self.params.timeout_s)} (model.timeout_s)"

    def _reason(self, exc: Exception) -> str:
        text = self.masked_error(exc)
        return "connection refused" if "refused" in text.lower() else text

    def masked_error(self, exc: Exception) -> str:
        """An exception's text for a message, with the model's secrets masked."""
        return self.redactor.mask(str(exc) or type(exc).__name__)

    def excerpt(self, raw: bytes) -> str:
        """The start of an answer body, secrets masked before it is cut (no half secret)."""
        text = self.redactor.mask(raw.decode("utf-8", errors="replace"))
        return repr(clip(text, EXCERPT_CHARS))


class HttpEndpoint(HttpTransport):
    """Callable posting a batch of texts to the endpoint, with a per-check circuit breaker."""

    params: HttpParams

    def __init__(self, params: HttpParams, headers: dict[str, str],
                 redactor: Redactor | None = None, url: str | None = None,
                 breaker: bool = True) -> None:
        super().__init__(params, headers, redactor, url, breaker)

    def copy_without_breaker(self) -> HttpEndpoint:
        """The same endpoint and connection pool, every request on its own."""
        other = HttpEndpoint(self.params, {}, self.redactor, self.url, breaker=False)
        other.headers = self.headers
        other.notes = self.notes
        other._client = self.client()
        return other

    def __call__(self, texts: Sequence[ModelInput]) -> list[Any]:
        raw = self.post(texts)
        return self.outputs(raw, len(texts))

    def post(self, texts: Sequence[ModelInput]) -> bytes:
        """The body of the first answer that is not retried (retries on 429, 503, resets)."""
        return self.exchange(self._body(texts), lambda response, _: self.read_capped(response))

    def load_requests(self, read: Callable[[bytes, list[ModelInput]], object] | None,
                      batch_size: int | None = None,
                      spec: ProcessSpec | None = None) -> AsyncRequests | None:
        """Requests sent from the load generator's event loop over its light HTTP/1.1 client
        (:mod:`modeltests.serving.http1`): the same bodies, retries, timeouts and error messages
        as :meth:`post`, one request per ``batch_size`` texts; ``read(body, texts)`` checks each
        answer (None: answers are not read, as for the null endpoint). None for https://
        endpoints (the caller then uses threads)."""
        from modeltests.serving.loadgen import AsyncRequests

        if not self.url.startswith("http://"):
            return None

        @asynccontextmanager
        async def open_pool(concurrency: int) -> AsyncIterator[Send]:
            from modeltests.serving.http1 import Pool

            async with Pool(self.url, self.headers, self.params.max_connections) as pool:
                messages: dict[tuple[ModelInput, ...], bytes] = {}

                async def send(texts: list[ModelInput]) -> None:
                    size = batch_size or len(texts) or 1
                    for start in range(0, len(texts), size):
                        chunk = texts[start:start + size]
                        raw = await self._post_async(pool, chunk, messages)
                        if read is not None:
                            read(raw, chunk)

                yield send

        return AsyncRequests(open_pool, "asyncio http/1.1", spec)

    async def _post_async(self, pool: Pool, texts: Sequence[ModelInput],
                          messages: dict[tuple[ModelInput, ...], bytes]) -> bytes:
        """:meth:`post` on the event loop; a request of one text is built once (``messages``:
        the load texts cycle)."""
        import asyncio

        key = tuple(texts)
        message = messages.get(key) if len(key) == 1 else None
        if message is None:
            message = pool.message(self._body(texts))
            if len(key) == 1 and len(messages) < MESSAGE_CACHE:
                messages[key] = message
        for attempt in range(self.params.max_retries + 1):
            timeout = self._timeout()
            self._count("requests_sent")
            last = attempt == self.params.max_retries
            try:
                answer = await pool.send(message, timeout)
            except (TimeoutError, asyncio.TimeoutError):
                self.open_breaker(self._timed_out(timeout))
            except ConnectionResetError as exc:
                if last:
                    self.open_breaker(f"the connection was reset ({self.masked_error(exc)})")
                await asyncio.sleep(self._retry_wait(attempt, None))
                continue
            except ConnectionRefusedError:
                self.open_breaker("connection refused")
            except OSError as exc:
                self.open_breaker(self.masked_error(exc))
            if answer.status in RETRY_STATUSES and not last:
                await asyncio.sleep(self._retry_wait(attempt, answer.headers.get("retry-after")))
                continue
            if answer.status >= 400:
                raise ModelPredictError(f"{self.url} answered HTTP {answer.status}: "
                                        f"{self.excerpt(answer.body)}")
            return answer.body
        raise AssertionError("unreachable: the last attempt returns or raises")

    @property
    def images(self) -> bool:
        """Whether this endpoint classifies images (``task: image-classification``)."""
        return self.params.task == "image-classification"

    def _body(self, texts: Sequence[ModelInput]) -> bytes:
        if self.images:
            tensor = self.params.image_input
            return json.dumps(v2_image_body(texts, tensor.name, tensor.datatype, tensor.layout,
                                            self.params.request_outputs)).encode()
        if self.params.protocol == "v2":
            return json.dumps(v2_body(texts, self.params.input_name, self.params.pair_input_name,
                                      self.params.request_outputs)).encode()
        return json.dumps(plain_body(texts, self.params.input_key)).encode()

    def outputs(self, raw: bytes, sent: int | None = None) -> list[Any]:
        """The outputs of an answer's body, one per text (by the model's protocol); for
        images, a probability tensor must have one row per image ``sent``."""
        try:
            payload = json.loads(raw.decode("utf-8"))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ModelPredictError(f"{self.url} did not answer JSON ({exc}); the answer "
                                    f"starts {self.excerpt(raw)}") from None
        if self.params.protocol == "v2":
            read = v2_outputs(payload, self.url, self.params.probabilities_output,
                              self.params.label_output, self.params.labels,
                              sent if self.images else None)
            if read.note is not None:
                self.notes.add(read.note)
            return read.values
        return plain_outputs(payload, self.params.output_key, self.url)


def _read_some(response: httpx.Response, limit: int) -> bytes:
    """At most about ``limit`` bytes of ``response``'s body (the rest is never read)."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class HttpModel(CallableModel):
    """The served model: the callable adapter over an :class:`HttpEndpoint`."""

    def __init__(self, endpoint: HttpEndpoint, labels: list[str], batch_size: int) -> None:
        super().__init__(endpoint, labels, batch_size, name=endpoint.url)
        self.endpoint = endpoint
        self.device = "remote"
        if endpoint.images:
            self.inputs = "image"

    def _validated(self, answer: Any, chunk: Sequence[ModelInput]) -> list[Any]:
        outputs = list(answer)
        if self.endpoint.images and len(outputs) != len(chunk):
            raise ModelOutputError(f"{self.name} answered {len(outputs)} labels for "
                                   f"{len(chunk)} images sent")
        return super()._validated(outputs, chunk)

    def start_check(self) -> None:
        self.endpoint.start_check()

    def load_client(self) -> HttpModel:
        copy = HttpModel(self.endpoint.copy_without_breaker(), self.labels, self.batch_size)
        copy.endpoint.start_check()
        return copy

    def load_requests(self) -> Requests:
        """Requests on the load generator's event loop; every answer read and checked as
        :meth:`predict` checks it (threads and httpx for https:// endpoints)."""
        spec = self._spec(self.endpoint.url, read=True)
        requests = self.endpoint.load_requests(self._check_answer, self.batch_size, spec)
        return requests or super().load_requests()

    def _spec(self, url: str, read: bool) -> HttpLoadSpec:
        endpoint = self.endpoint
        return HttpLoadSpec(endpoint.params, endpoint.headers, url, self.labels, self.batch_size,
                            read, endpoint.redactor)

    def _check_answer(self, raw: bytes, texts: list[ModelInput]) -> None:
        self._to_predictions(self._validated(self.endpoint.outputs(raw, len(texts)), texts))

    def null_twin(self, url: str) -> Requests:
        twin = HttpEndpoint(self.endpoint.params, {}, self.endpoint.redactor, url, breaker=False)
        twin.headers = self.endpoint.headers
        twin.start_check()
        requests = twin.load_requests(None, spec=self._spec(url, read=False))
        if requests is not None:
            return requests
        twin._client = self.endpoint.client()  # the same pool as the real requests
        return twin.post

    def counters(self) -> dict[str, int]:
        return {"requests": self.endpoint.requests_sent, "retries": self.endpoint.retries}

    def notes(self) -> list[str]:
        return sorted(self.endpoint.notes)

    def describe(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"adapter": "http", "url": self.endpoint.url,
                                 "device": self.device, "protocol": self.endpoint.params.protocol}
        if self.endpoint.images:
            tensor = self.endpoint.params.image_input
            facts.update({"task": "image-classification", "input": tensor.name,
                          "datatype": tensor.datatype, "layout": tensor.layout})
        return {**facts, **self.counters()}

    def close(self) -> None:
        self.endpoint.close()


@dataclass
class HttpLoadSpec:
    """An :class:`HttpModel`'s load requests, rebuilt in a load worker process (picklable)."""

    params: HttpParams
    headers: dict[str, str]
    url: str
    labels: list[str]
    batch_size: int
    read: bool
    redactor: Redactor

    def build(self) -> tuple[AsyncRequests, Callable[[], Mapping[str, int]]]:
        endpoint = HttpEndpoint(self.params, {}, self.redactor, self.url, breaker=False)
        endpoint.headers = self.headers
        endpoint.start_check()
        model = HttpModel(endpoint, self.labels, self.batch_size)
        requests = endpoint.load_requests(model._check_answer if self.read else None,
                                          self.batch_size)
        if requests is None:
            raise ModelPredictError(f"{self.url}: only http:// endpoints are loaded from "
                                    "worker processes")
        return requests, model.counters


def load_http(params: HttpParams, context: LoadContext) -> HttpModel:
    endpoint = HttpEndpoint(params, expand_headers(params, context), context.redactor,
                            url=context.expand(params.url))
    return HttpModel(endpoint, params.labels, params.batch_size)
