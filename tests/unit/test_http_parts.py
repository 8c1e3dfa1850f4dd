"""Pure parts of the ``http`` adapter: Retry-After and the Open Inference Protocol's answers."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from modeltests.adapters.http import _retry_after_seconds
from modeltests.adapters.protocols import v2_body, v2_outputs
from modeltests.errors import ModelPredictError

URL = "http://127.0.0.1:1/v2/models/m/infer"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert _retry_after_seconds("2.5") == 2.5
    assert _retry_after_seconds("-3") == 0.0
    assert _retry_after_seconds(None) is None and _retry_after_seconds("soon") is None
    later = _retry_after_seconds(formatdate(time.time() + 60, usegmt=True))
    assert later is not None and 50 < later <= 60


def test_v2_body_is_one_bytes_tensor() -> None:
    assert v2_body(["a", "b"], "text") == {"inputs": [
        {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}


def probabilities(data: list[float], shape: list[int], labels: str | None = None) -> dict:
    output: dict = {"name": "probabilities", "datatype": "FP32", "shape": shape, "data": data}
    if labels is not None:
        output["parameters"] = {"labels": labels}
    return {"outputs": [output]}


def test_v2_probability_columns_follow_the_suite_labels() -> None:
    answer = probabilities([0.9, 0.1, 0.3, 0.7], [2, 2], "positive,negative")
    read = v2_outputs(answer, URL, "probabilities", "label", ["negative", "positive"])
    assert read.values == [[0.1, 0.9], [0.7, 0.3]] and read.note is None


@pytest.mark.parametrize("answer, message", [
    ({"error": "boom"}, "answered without 'outputs'"),
    (probabilities([0.5, 0.5, 0.5], [2, 2]), "with shape [2, 2] and 3 values"),
    (probabilities([0.5, 0.5], [1, 2], "good,bad"), "names its probability columns"),
    ({"outputs": [{"name": "other", "datatype": "FP32", "shape": [1], "data": [1]}]},
     "answered the outputs ['other']; expected 'probabilities'"),
])
def test_v2_answers_that_do_not_fit_are_errors(answer: dict, message: str) -> None:
    with pytest.raises(ModelPredictError, match=message.replace("[", r"\[")):
        v2_outputs(answer, URL, "probabilities", "label", ["negative", "positive"])
