"""A model served over HTTP: POST a JSON batch of texts, read labels or probabilities back.

Request body: ``{"<input_key>": ["text", ...]}``. Response body: ``{"<output_key>": [...]}`` with,
per text, a label name, a label index or a list of probabilities (as the callable adapter).
Header values may name environment variables as ``${NAME}`` so that tokens stay out of suites.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any, Literal

from pydantic import Field

from modeltests.adapters.base import AdapterParams, LoadContext
from modeltests.adapters.callable import CallableModel
from modeltests.errors import ModelLoadError, ModelPredictError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class HttpParams(AdapterParams):
    """Where the model is served and how its JSON looks."""

    adapter: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://", description="Endpoint receiving POSTed batches.")
    labels: list[str] = Field(description="Label names, in the order of probability columns.")
    input_key: str = "texts"
    output_key: str = "predictions"
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    timeout_s: float = Field(default=30.0, gt=0, le=3600)


def _expand(value: str, location: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ModelLoadError(f"{location}: model.headers: environment variable {name} is "
                                 "not set")
        return os.environ[name]

    return _ENV.sub(substitute, value)


class HttpEndpoint:
    """Callable posting a batch of texts to the endpoint."""

    def __init__(self, params: HttpParams, headers: dict[str, str]) -> None:
        self.params = params
        self.headers = {"Content-Type": "application/json", **headers}

    def __call__(self, texts: list[str]) -> list[Any]:
        body = json.dumps({self.params.input_key: texts}).encode()
        request = urllib.request.Request(self.params.url, data=body, headers=self.headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.params.timeout_s) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise ModelPredictError(f"{self.params.url} answered HTTP {exc.code}: "
                                    f"{exc.read()[:200]!r}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ModelPredictError(f"cannot reach {self.params.url}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ModelPredictError(f"{self.params.url} did not answer JSON: {exc}") from None
        if not isinstance(payload, dict) or self.params.output_key not in payload:
            raise ModelPredictError(f"{self.params.url} answered without the key "
                                    f"{self.params.output_key!r} (model.output_key)")
        return list(payload[self.params.output_key])


def load_http(params: HttpParams, context: LoadContext) -> CallableModel:
    headers = {k: _expand(v, context.location) for k, v in params.headers.items()}
    model = CallableModel(HttpEndpoint(params, headers), params.labels, params.batch_size,
                          name=params.url)
    model.device = "remote"
    return model
