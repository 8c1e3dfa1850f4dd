"""Images over the ``http`` adapter's ``v2`` protocol, against a fake V2 server on 127.0.0.1
(:mod:`.http_server`) that classifies 4x4 gray images by brightness: the request tensors
(shape, datatype, layout, values, one request per ``batch_size`` images), PASS and FAIL, and
every wrong answer a located error naming the server's answer. A real MLServer serving the
digits CNN is in tests/real/test_v2_interop_real.py."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite
from .http_server import Answer, LoopbackServer

VALUES = [0, 40, 90, 100, 160, 200, 230, 255]
"""One 4x4 gray image per value, labelled dark below 128 and bright above."""
MEAN, STD = 0.5, 0.25

Mangle = Callable[[dict[str, Any]], dict[str, Any]]


class V2ImageServer(LoopbackServer):
    """Reads the tensor as the suite declares it and answers [n, 2] probabilities (dark,
    bright) from each image's mean pixel; ``mangle`` alters the answer; ``bodies`` keeps every
    request."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.mangle: Mangle = lambda answer: answer
        super().__init__(lambda n, body, headers: self._answer(body))

    def _answer(self, body: dict[str, Any]) -> Answer:
        self.bodies.append(body)
        (tensor,) = body["inputs"]
        values = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
        pixels = values / 255 if tensor["datatype"] == "UINT8" else values * STD + MEAN
        bright = pixels.reshape(len(pixels), -1).mean(axis=1) > 0.5
        rows = [[0.1, 0.9] if b else [0.8, 0.2] for b in bright]
        answer = {"outputs": [{"name": "probabilities", "shape": [len(rows), 2],
                               "datatype": "FP64", "data": [x for row in rows for x in row],
                               "parameters": {"labels": "dark,bright"}}]}
        return 200, {"Content-Type": "application/json"}, json.dumps(self.mangle(answer))


@pytest.fixture
def servers() -> Iterator[list[V2ImageServer]]:
    made = [V2ImageServer() for _ in range(3)]
    running = [server.serve() for server in made]
    for generator in running:
        next(generator)
    yield made
    for generator in running:
        generator.close()


def _project(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    images = np.stack([np.full((4, 4), value, dtype=np.uint8) for value in VALUES])
    labels = np.asarray(["dark" if value < 128 else "bright" for value in VALUES])
    np.savez(pytester.path / "suites" / "gray.npz", images=images, labels=labels)


def _suite(url: str, image_input: str = "", label_map: str = "", checks: str = "") -> str:
    return (f"model:\n  adapter: http\n  protocol: v2\n  task: image-classification\n"
            f"  url: {url}\n  labels: [dark, bright]\n  batch_size: 3\n{image_input}"
            f"datasets:\n  gray:\n    path: gray.npz\n    image: {{channels: 1, mean: [{MEAN}], "
            f"std: [{STD}]}}\n{label_map}"
            "checks:\n  - kind: accuracy\n    dataset: gray\n    min_accuracy: 0.5\n" + checks)


def _run(pytester: pytest.Pytester) -> pytest.RunResult:
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def test_fp32_and_uint8_tensors_pass_and_fail(pytester: pytest.Pytester,
                                             servers: list[V2ImageServer]) -> None:
    fp32, uint8, swapped = servers
    _project(pytester)
    write_suite(pytester, "suites/fp32.yaml", _suite(
        fp32.base + "/v2/models/gray/infer",
        checks="  - kind: calibration\n    dataset: gray\n    max_brier: 0.5\n"))
    write_suite(pytester, "suites/uint8.yaml", _suite(
        uint8.base + "/v2/models/gray/infer",
        "  image_input: {name: pixels, datatype: UINT8, layout: NHWC}\n"))
    write_suite(pytester, "suites/swapped.yaml", _suite(
        swapped.base + "/v2/models/gray/infer",
        label_map="    label_map: {dark: bright, bright: dark}\n"))
    result = _run(pytester)
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/fp32.yaml     accuracy[gray]     PASS     accuracy 1.000 >= 0.500 (95% lower "
        "bound 0.676)",
        "suites/fp32.yaml     calibration[gray]  PASS     brier 0.050 <= 0.500 (95% CI *",
        "suites/swapped.yaml  accuracy[gray]     FAIL     accuracy 0.000 < 0.500 (95% upper "
        "bound 0.324)",
        "suites/uint8.yaml    accuracy[gray]     PASS     accuracy 1.000 >= 0.500 (95% lower "
        "bound 0.676)",
    ]], consecutive=True)
    # One request per batch_size (3) images, for both checks: the session predicts once.
    assert [body["inputs"][0]["shape"] for body in fp32.bodies] == [[3, 1, 4, 4], [3, 1, 4, 4],
                                                                    [2, 1, 4, 4]]
    sent = [x for body in fp32.bodies for x in body["inputs"][0]["data"]]
    pixels = np.asarray(VALUES, dtype=np.uint8).astype(np.float32) / 255.0  # as the loader
    normalised = (pixels - np.float32(MEAN)) / np.float32(STD)  # as adapter: torch
    assert sent == [float(x) for x in normalised for _ in range(16)]  # exactly, as float32
    assert {body["inputs"][0]["datatype"] for body in fp32.bodies} == {"FP32"}
    (first, *_) = uint8.bodies
    assert (first["inputs"][0]["name"], first["inputs"][0]["datatype"],
            first["inputs"][0]["shape"]) == ("pixels", "UINT8", [3, 4, 4, 1])
    assert [x for body in uint8.bodies for x in body["inputs"][0]["data"]] == \
        [v for v in VALUES for _ in range(16)]  # the file's own 0-255 values, unchanged
    models = {m["url"]: m for m in read_report(pytester)["run"]["models"]}
    facts = models[uint8.base + "/v2/models/gray/infer"]
    assert {k: facts[k] for k in ("task", "input", "datatype", "layout", "requests")} == {
        "task": "image-classification", "input": "pixels", "datatype": "UINT8",
        "layout": "NHWC", "requests": 3}


def _rows_dropped(answer: dict[str, Any]) -> dict[str, Any]:
    (output,) = answer["outputs"]
    output["shape"] = [output["shape"][0] - 1, 2]
    output["data"] = output["data"][2:]
    return answer


def _as_bytes(answer: dict[str, Any]) -> dict[str, Any]:
    answer["outputs"][0]["datatype"] = "BYTES"
    return answer


def _three_columns(answer: dict[str, Any]) -> dict[str, Any]:
    (output,) = answer["outputs"]
    rows = output["shape"][0]
    output.update(shape=[rows, 3], data=[1 / 3] * (rows * 3))
    del output["parameters"]
    return answer


def test_wrong_answers_are_located_errors_naming_the_answer(
        pytester: pytest.Pytester, servers: list[V2ImageServer]) -> None:
    _project(pytester)
    for server, mangle, name in zip(servers, (_rows_dropped, _as_bytes, _three_columns),
                                    ("rows", "datatype", "columns")):
        server.mangle = mangle
        write_suite(pytester, f"suites/{name}.yaml", _suite(server.base + "/infer"))
    write_suite(pytester, "suites/plain.yaml", _suite(servers[0].base).replace(
        "protocol: v2", "protocol: plain"))
    write_suite(pytester, "suites/misplaced.yaml", _suite(servers[0].base).replace(
        "  task: image-classification\n", "  image_input: {datatype: UINT8}\n"))
    write_suite(pytester, "suites/attack.yaml", _suite(servers[0].base).replace(
        "kind: accuracy", "kind: adversarial").replace(
        "min_accuracy: 0.5", "attacks: [{attack: fgsm, eps: 0.1}]"))
    result = _run(pytester)
    rows, datatype, columns = (server.base + "/infer" for server in servers)
    result.stdout.fnmatch_lines_random([lit(line) for line in [
        "*suites/attack.yaml:13: checks[0].kind: adversarial attacks run the model's torch "
        "module in this process (ART's gradients and queries), and the suite's model "
        "(HttpModel, remote) exposes none: attack the same weights loaded with adapter: torch",
        f"*suites/columns.yaml:1: {columns} answered output 'probabilities' with shape [3, 3] "
        "for 3 images sent; expected [3, 2] (one row per image, one column per label of "
        "model.labels)",
        f"*suites/datatype.yaml:1: {datatype} answered output 'probabilities' as 'BYTES', not a "
        "numeric tensor",
        "*suites/misplaced.yaml:1: model: 'image_input' describes the tensor of images: it "
        "needs task: image-classification*",
        "*suites/plain.yaml:1: model: task: image-classification sends images as V2 tensors: "
        "it needs protocol: v2*",
        f"*suites/rows.yaml:1: {rows} answered output 'probabilities' with shape [2, 2] for 3 "
        "images sent; expected [3, 2] (one row per image, one column per label of "
        "model.labels)",
    ]])
