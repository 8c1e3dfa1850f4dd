"""The ``http`` adapter against a real local server (127.0.0.1) that misbehaves: it hangs, it
refuses, it answers 500 or something that is not JSON, it echoes the secret token back.

A dead server costs one wait per check (the circuit breaker); ``check_timeout_s`` bounds a
check; a token read from the environment is masked in the terminal, the JSON, the HTML and the
JUnit XML. No assertion is about wall-clock time: the server counts the requests it received.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Iterator, Mapping

import pytest

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite
from .http_server import HANG, Answer, LoopbackServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SECRET = "tok-7f3a9c21e5b8"


class Server(LoopbackServer):
    """A loopback HTTP server whose behaviour a test picks with ``mode``."""

    def __init__(self) -> None:
        self.mode = "ok"
        super().__init__(self._answer, keep_alive=False)
        self.url = self.base + "/predict"

    def _answer(self, number: int, body: dict[str, Any], headers: Mapping[str, str]
                ) -> Answer | str:
        if self.mode == "hang":
            return HANG
        token = headers.get("Authorization", "")
        if self.mode == "error":  # echoes the request's token in its error page
            return 500, {}, f"internal error; you sent Authorization: {token}"
        if self.mode == "not json":
            return 200, {}, "<html>Service Unavailable</html>"
        if self.mode == "echo":  # "predicts" the token as the label of each text
            return 200, {}, json.dumps({"predictions": [token] * len(body["texts"])})
        answers = [[0.1, 0.9] if "good" in t or "great" in t else [0.8, 0.2]
                   for t in body["texts"]]
        return 200, {}, json.dumps({"predictions": answers})


@pytest.fixture
def server() -> Iterator[Server]:
    yield from Server().serve()


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MODEL_TOKEN", SECRET)
    return SECRET


def exact(text: str) -> str:
    """``text`` as an fnmatch pattern matching itself, ``[`` and ``*`` included."""
    return lit(text).replace("*", "[*]")


def http_suite(url: str, checks: str, **model: object) -> str:
    extra = "".join(f"  {key}: {value}\n" for key, value in model.items())
    return (f"model:\n  adapter: http\n  url: {url}\n  labels: [negative, positive]\n"
            "  headers: {Authorization: 'Bearer ${MODEL_TOKEN}'}\n" + extra +
            "datasets:\n  dev:\n    path: data.csv\nchecks:\n" + checks)


AVAILABILITY = "  - kind: availability\n"
ACCURACY = "  - kind: accuracy\n    dataset: dev\n    min_accuracy: 0.5\n"


def run(pytester: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/remote.yaml", text)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", *args)
    assert_no_traceback(result.stdout.str())
    return result


def test_a_hanging_server_costs_one_wait_per_check(pytester: pytest.Pytester, server: Server,
                                                   token: str) -> None:
    server.mode = "hang"
    suite = http_suite(server.url, AVAILABILITY + ACCURACY, timeout_s=0.5)
    result = run(pytester, suite)
    waited = f"cannot reach {server.url}: no answer within 0.5 s (model.timeout_s)"
    not_sent = f"not sent to {server.url}: it already failed in this check: no answer within " \
               "0.5 s (model.timeout_s)"
    result.stdout.fnmatch_lines([
        "availability[[]0] failed (suites/remote.yaml:11, n=57)",
        "  smoke_pass_rate 0.000 < 1.000  [[]min_smoke_pass_rate]",
        "  edge_pass_rate 0.000 < 1.000  [[]min_edge_pass_rate]",
        "  determinism_diff inf > 1.00e-06  [[]max_determinism_diff]",
        "  batch_diff inf > 1.00e-04  [[]max_batch_diff]",
        "  generated_pass_rate 0.000 < 1.000  [[]min_generated_pass_rate]",
        "  failing examples (15):",
        lit(f"    - [smoke 0] 'This is a perfectly ordinary sentence.' error: {waited}"),
        lit(f"    - [smoke 1] 'I really enjoyed it.' error: {not_sent}"),
    ])
    result.stdout.fnmatch_lines([lit(f"suites/remote.yaml:1: {waited}")])
    result.assert_outcomes(failed=2)
    # About 60 calls were made: one request per check reached the server, each check waited once.
    assert server.requests == 2


def test_a_check_time_budget_cuts_a_long_timeout(pytester: pytest.Pytester, server: Server,
                                                 token: str) -> None:
    server.mode = "hang"
    # The budget starts with the check; 2 s leaves a slow machine time to send the request.
    result = run(pytester, http_suite(server.url, ACCURACY, timeout_s=600, check_timeout_s=2))
    result.stdout.fnmatch_lines([lit(
        f"suites/remote.yaml:1: cannot reach {server.url}: no answer before the check's time "
        "budget of 2 s ran out (model.check_timeout_s)")])
    result.assert_outcomes(failed=1)
    assert server.requests == 1


def test_a_refused_connection_fails_fast_with_the_reason(pytester: pytest.Pytester,
                                                         token: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the socket is closed
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/predict"
    result = run(pytester, http_suite(url, AVAILABILITY))
    result.stdout.fnmatch_lines([
        lit(f"    - [smoke 0] 'This is a perfectly ordinary sentence.' error: cannot reach {url}: "
            "connection refused"),
        lit(f"    - [smoke 1] 'I really enjoyed it.' error: not sent to {url}: it already "
            "failed in this check: connection refused"),
    ])
    result.assert_outcomes(failed=1)


def test_an_invalid_json_answer_is_quoted(pytester: pytest.Pytester, server: Server,
                                          token: str) -> None:
    server.mode = "not json"
    result = run(pytester, http_suite(server.url, ACCURACY))
    result.stdout.fnmatch_lines([lit(
        f"suites/remote.yaml:1: {server.url} did not answer JSON (Expecting value: line 1 "
        "column 1 (char 0)); the answer starts '<html>Service Unavailable</html>'")])
    result.assert_outcomes(failed=1)


def _assert_secret_nowhere(pytester: pytest.Pytester, result: pytest.RunResult) -> None:
    texts = {"terminal": result.stdout.str() + result.stderr.str(),
             "json": (pytester.path / "reports/modeltests.json").read_text(),
             "html": (pytester.path / "reports/modeltests.html").read_text(),
             "junit": (pytester.path / "junit.xml").read_text()}
    assert {name: SECRET in text for name, text in texts.items()} == dict.fromkeys(texts, False)
    assert "***" in texts["json"] and "***" in texts["html"]


def test_an_error_page_echoing_the_token_is_masked(pytester: pytest.Pytester, server: Server,
                                                   token: str) -> None:
    server.mode = "error"
    result = run(pytester, http_suite(server.url, AVAILABILITY + ACCURACY),
                 "--junitxml=junit.xml", "-rA")
    message = f"{server.url} answered HTTP 500: 'internal error; you sent Authorization: " \
              "Bearer ***'"
    result.stdout.fnmatch_lines([exact(f"suites/remote.yaml:1: {message}")])
    result.stdout.fnmatch_lines([exact(f"    - [smoke 0] 'This is a perfectly ordinary sentence.' "
                                     f"error: {message}")])
    result.assert_outcomes(failed=2)
    _assert_secret_nowhere(pytester, result)
    # An answering server is not cut off: each input of the availability check was tried.
    assert server.requests > 10
    entries = read_report(pytester)["checks"]
    assert all(SECRET not in json.dumps(entry) for entry in entries)


@pytest.mark.parametrize("xdist", [(), ("-n", "2", "-p", "no:benchmark")], ids=["serial", "-n 2"])
def test_a_token_echoed_as_a_prediction_is_masked(pytester: pytest.Pytester, server: Server,
                                                  token: str, xdist: tuple[str, ...]) -> None:
    server.mode = "echo"
    result = run(pytester, http_suite(server.url, AVAILABILITY + ACCURACY),
                 "--junitxml=junit.xml", *xdist)
    result.stdout.fnmatch_lines([exact(
        "suites/remote.yaml:1: model predicted label(s) ['Bearer ***'] that are not among its "
        "labels ['negative', 'positive']")])
    result.assert_outcomes(failed=2)
    _assert_secret_nowhere(pytester, result)


def test_modeltests_run_masks_the_token_too(pytester: pytest.Pytester, server: Server,
                                            token: str) -> None:
    import modeltests

    server.mode = "error"
    make_project(pytester, suite=None)
    path = write_suite(pytester, "suites/remote.yaml", http_suite(server.url, ACCURACY))
    (check,) = modeltests.run(path, rootdir=pytester.path).checks
    assert check.outcome == "failed"
    assert check.message.endswith("you sent Authorization: Bearer ***'")
