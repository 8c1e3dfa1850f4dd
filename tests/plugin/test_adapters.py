"""The ``torch`` and ``http`` adapters and the JSONL / Parquet dataset formats, as a user sees
them: a suite runs on each, and failures read as located messages."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator

import pandas as pd
import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
import torch  # noqa: F401

from .helpers import DATA_CSV, assert_no_traceback, checks_by_nodeid, lit, make_project, \
    read_report, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TORCH_MODEL = '''
import torch

WORDS = {"good": 0, "great": 1, "bad": 2, "awful": 3, "terrible": 4, "boring": 5, "not": 6}


class BagOfWords(torch.nn.Module):
    """Positive words push towards 'positive', negative words and 'not' the other way."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(len(WORDS), 2)
        with torch.no_grad():
            weights = torch.tensor([[-1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 3.0],
                                    [1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -3.0]])
            self.linear.weight.copy_(weights)
            self.linear.bias.copy_(torch.tensor([0.1, -0.1]))

    def forward(self, features):
        return self.linear(features)


def build():
    return BagOfWords()


def collate(texts):
    features = torch.zeros(len(texts), len(WORDS))
    for row, text in enumerate(texts):
        for word in text.lower().split():
            if word in WORDS:
                features[row, WORDS[word]] += 1
    return features
'''

CHECKS = """checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 0.6
"""


def test_torch_module_from_a_factory_with_its_own_collate(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    pytester.makepyfile(bow=TORCH_MODEL)
    write_suite(pytester, "suites/torch.yaml",
                "model:\n  adapter: torch\n  factory: bow:build\n  collate: bow:collate\n"
                "  labels: [negative, positive]\ndatasets:\n  dev:\n    path: data.csv\n" + CHECKS)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (check,) = read_report(pytester)["checks"]
    assert check["metrics"]["accuracy"] == 1.0
    assert check["sample_size"] == 8


def test_torch_factory_that_is_not_a_module(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    pytester.makepyfile(bow=TORCH_MODEL + "\n\ndef not_a_module():\n    return 42\n")
    write_suite(pytester, "suites/torch.yaml",
                "model:\n  adapter: torch\n  factory: bow:not_a_module\n  collate: bow:collate\n"
                "  labels: [negative, positive]\ndatasets:\n  dev:\n    path: data.csv\n" + CHECKS)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        "suites/torch.yaml:1: model.factory: 'bow:not_a_module' returned int, not a "
        "torch.nn.Module")])
    result.assert_outcomes(errors=1)
    assert_no_traceback(result.stdout.str())


class _Handler(BaseHTTPRequestHandler):
    """Answers like the fake keyword model; checks the bearer token."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != "Bearer s3cret":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b"no token")
            return
        answers = [[0.1, 0.9] if ("good" in t or "great" in t) and "not" not in t else [0.8, 0.2]
                   for t in body["texts"]]
        payload = json.dumps({"predictions": answers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/predict"
    httpd.shutdown()
    httpd.server_close()


def http_suite(url: str) -> str:
    return (f"model:\n  adapter: http\n  url: {url}\n  labels: [negative, positive]\n"
            "  headers: {Authorization: 'Bearer ${MODEL_TOKEN}'}\n  batch_size: 3\n"
            "datasets:\n  dev:\n    path: data.csv\n" + CHECKS)


def test_http_model_with_a_token_from_the_environment(
        pytester: pytest.Pytester, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_TOKEN", "s3cret")
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/remote.yaml", http_suite(server))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (check,) = read_report(pytester)["checks"]
    assert check["metrics"]["accuracy"] == 1.0


def test_http_errors_read_as_messages(
        pytester: pytest.Pytester, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_TOKEN", "wrong")
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/remote.yaml", http_suite(server))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        f"suites/remote.yaml:1: {server} answered HTTP 401: 'no token'")])
    result.assert_outcomes(failed=1)
    assert_no_traceback(result.stdout.str())


def test_http_token_variable_missing(pytester: pytest.Pytester, server: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODEL_TOKEN", raising=False)
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/remote.yaml", http_suite(server))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        "suites/remote.yaml:1: model.headers: environment variable MODEL_TOKEN is not set")])
    result.assert_outcomes(errors=1)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_dataset_formats_give_the_same_metrics(pytester: pytest.Pytester, suffix: str) -> None:
    make_project(pytester, suite=None)
    frame = pd.read_csv(pytester.path / "suites" / "data.csv")
    path = pytester.path / "suites" / f"dev{suffix}"
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        path.write_text(DATA_CSV)
    write_suite(pytester, "suites/formats.yaml",
                "model:\n  adapter: callable\n  target: fakemodel:predict\n"
                f"  labels: [negative, positive]\ndatasets:\n  dev:\n    path: dev{suffix}\n"
                "checks:\n  - kind: accuracy\n    dataset: dev\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    check = checks_by_nodeid(read_report(pytester))["suites/formats.yaml::accuracy[dev]"]
    assert check["sample_size"] == 8
    assert check["metrics"]["accuracy"] == pytest.approx(7 / 8)


def test_hub_id_that_is_not_available_offline(pytester: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/hub.yaml",
                "model:\n  adapter: transformers\n  path: no-such-org/no-such-model\n"
                "datasets:\n  dev:\n    path: data.csv\n" + CHECKS)
    # a subprocess: transformers' lazy imports must not land in this process's module table
    result = pytester.runpytest_subprocess("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "suites/hub.yaml:1: model 'no-such-org/no-such-model' is neither a local directory "
        f"(looked for {pytester.path / 'suites' / 'no-such-org' / 'no-such-model'}) nor a hub "
        "model available offline (*"])
    result.assert_outcomes(errors=1)
    assert_no_traceback(result.stdout.str())
