"""A model served over HTTP: POST a JSON batch of texts, read labels or probabilities back.

Request body: ``{"<input_key>": ["text", ...]}``. Response body: ``{"<output_key>": [...]}`` with,
per text, a label name, a label index or a list of probabilities (as the callable adapter).
Header values may name environment variables as ``${NAME}`` so that tokens stay out of suites;
every value expanded that way is registered with the session's redactor, so that no report
shows it (a server that echoes the token back gets ``***`` in the messages).

A dead server costs one wait per check, not one per request: once a request of a check times
out or cannot connect, the circuit breaker opens and every later request of that check fails at
once with the first reason; the next check tries again. ``check_timeout_s`` optionally bounds
the whole check: no request waits past it, and none is sent once it has passed.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from typing import Any, Literal

from pydantic import Field

from modeltests.adapters.base import AdapterParams, LoadContext
from modeltests.adapters.callable import CallableModel
from modeltests.errors import ModelLoadError, ModelPredictError
from modeltests.redaction import Redactor
from modeltests.text import clip

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
EXCERPT_CHARS = 200


class HttpParams(AdapterParams):
    """Where the model is served and how its JSON looks."""

    adapter: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://", description="Endpoint receiving POSTed batches.")
    labels: list[str] = Field(description="Label names, in the order of probability columns.")
    input_key: str = "texts"
    output_key: str = "predictions"
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


class HttpEndpoint:
    """Callable posting a batch of texts to the endpoint, with a per-check circuit breaker."""

    def __init__(self, params: HttpParams, headers: dict[str, str],
                 redactor: Redactor | None = None) -> None:
        self.params = params
        self.headers = {"Content-Type": "application/json", **headers}
        self.redactor = redactor or Redactor()
        self.requests_sent = 0
        self._failure: str | None = None  # why the breaker is open
        self._deadline: float | None = None

    def start_check(self) -> None:
        """Close the breaker and start the check's time budget."""
        self._failure = None
        budget = self.params.check_timeout_s
        self._deadline = None if budget is None else time.monotonic() + budget

    def __call__(self, texts: list[str]) -> list[Any]:
        timeout = self._timeout()
        body = json.dumps({self.params.input_key: texts}).encode()
        request = urllib.request.Request(self.params.url, data=body, headers=self.headers,
                                         method="POST")
        self.requests_sent += 1
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ModelPredictError(f"{self.params.url} answered HTTP {exc.code}: "
                                    f"{self._excerpt(exc.read())}") from None
        except OSError as exc:  # URLError, TimeoutError, ConnectionError: the server is gone
            self._failure = self._reason(exc, timeout)
            raise ModelPredictError(f"cannot reach {self.params.url}: {self._failure}") from None
        except http.client.HTTPException as exc:
            raise ModelPredictError(f"{self.params.url} answered malformed HTTP "
                                    f"({type(exc).__name__}: {exc})") from None
        return self._outputs(raw)

    def _timeout(self) -> float:
        """Seconds the next request may wait, or the error that stops it being sent."""
        if self._failure is not None:
            raise ModelPredictError(f"not sent to {self.params.url}: it already failed in this "
                                    f"check: {self._failure}")
        if self._deadline is None:
            return self.params.timeout_s
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._failure = self._budget_spent()
            raise ModelPredictError(f"not sent to {self.params.url}: {self._failure}")
        return min(self.params.timeout_s, remaining)

    def _budget_spent(self) -> str:
        return (f"the check's time budget of {_seconds(self.params.check_timeout_s or 0)} ran "
                "out (model.check_timeout_s)")

    def _reason(self, exc: OSError, timeout: float) -> str:
        cause = getattr(exc, "reason", exc)
        if isinstance(cause, TimeoutError) or isinstance(exc, TimeoutError):
            if timeout < self.params.timeout_s:
                return f"no answer before {self._budget_spent()}"
            return f"no answer within {_seconds(self.params.timeout_s)} (model.timeout_s)"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        return self.redactor.mask(str(cause) or type(cause).__name__)

    def _outputs(self, raw: bytes) -> list[Any]:
        try:
            payload = json.loads(raw.decode("utf-8"))
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ModelPredictError(f"{self.params.url} did not answer JSON ({exc}); the answer "
                                    f"starts {self._excerpt(raw)}") from None
        if not isinstance(payload, dict) or self.params.output_key not in payload:
            raise ModelPredictError(f"{self.params.url} answered without the key "
                                    f"{self.params.output_key!r} (model.output_key)")
        outputs = payload[self.params.output_key]
        if not isinstance(outputs, list):
            raise ModelPredictError(f"{self.params.url} answered {self.params.output_key!r} as "
                                    f"{type(outputs).__name__}, not a list (one output per text)")
        return outputs

    def _excerpt(self, raw: bytes) -> str:
        """The start of an answer body, secrets masked before it is cut (no half secret)."""
        text = self.redactor.mask(raw.decode("utf-8", errors="replace"))
        return repr(clip(text, EXCERPT_CHARS))


class HttpModel(CallableModel):
    """The served model: the callable adapter over an :class:`HttpEndpoint`."""

    def __init__(self, endpoint: HttpEndpoint, labels: list[str], batch_size: int) -> None:
        super().__init__(endpoint, labels, batch_size, name=endpoint.params.url)
        self.endpoint = endpoint
        self.device = "remote"

    def start_check(self) -> None:
        self.endpoint.start_check()

    def describe(self) -> dict[str, Any]:
        return {"adapter": "http", "url": self.endpoint.params.url, "device": self.device}


def load_http(params: HttpParams, context: LoadContext) -> HttpModel:
    headers = {k: _expand(v, context) for k, v in params.headers.items()}
    return HttpModel(HttpEndpoint(params, headers, context.redactor), params.labels,
                     params.batch_size)
