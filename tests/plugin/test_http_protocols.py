"""The ``http`` adapter's retries (429 with Retry-After, 503, resets) and its ``v2`` protocol
(the Open Inference Protocol), against a real local server on 127.0.0.1 in a thread.

The server counts the requests it received; no assertion is about wall-clock time.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite
from .http_server import RESET, Answer, LoopbackServer

def fake_rows(texts: list[str]) -> list[list[float]]:
    return [[0.2, 0.8] if ("good" in t or "great" in t) else [0.9, 0.1] for t in texts]


class Server(LoopbackServer):
    """Answers each POST with ``respond(request_number, body)``; status 0 resets."""

    def __init__(self) -> None:
        self.answer: Callable[[int, dict[str, Any]], Answer] = \
            lambda n, body: (200, {}, json.dumps({"predictions": fake_rows(body["texts"])}))
        super().__init__(lambda n, body, headers: self._answer(n, body))

    def _answer(self, number: int, body: dict[str, Any]) -> Answer | str:
        status, headers, text = self.answer(number, body)
        return RESET if status == 0 else (status, headers, text)


@pytest.fixture
def server() -> Iterator[Server]:
    yield from Server().serve()


def suite(url: str, **model: object) -> str:
    extra = "".join(f"  {key}: {value}\n" for key, value in model.items())
    return (f"model:\n  adapter: http\n  url: {url}\n  labels: [negative, positive]\n" + extra +
            "datasets:\n  dev:\n    path: data.csv\nchecks:\n"
            "  - kind: accuracy\n    dataset: dev\n    min_accuracy: 0.5\n")


def run(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/remote.yaml", text)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def model_facts(pytester: pytest.Pytester) -> dict[str, Any]:
    (facts,) = read_report(pytester)["run"]["models"]
    return dict(facts)


def test_429_with_retry_after_is_retried_and_counted(pytester: pytest.Pytester,
                                                     server: Server) -> None:
    ok = server.answer
    server.answer = lambda n, body: (429, {"Retry-After": "0.2"}, "slow down") if n == 1 \
        else ok(n, body)
    result = run(pytester, suite(server.base + "/predict"))
    result.assert_outcomes(passed=1)
    facts = model_facts(pytester)
    assert (server.requests, facts["requests"], facts["retries"]) == (2, 2, 1)


def test_503_is_retried_max_retries_times_then_fails(pytester: pytest.Pytester,
                                                     server: Server) -> None:
    server.answer = lambda n, body: (503, {}, "overloaded")
    result = run(pytester, suite(server.base + "/predict", max_retries=2, retry_backoff_s=0.01))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"suites/remote.yaml:1: {server.base}/predict answered HTTP 503: 'overloaded'"])
    assert server.requests == 3


def test_a_reset_connection_is_retried(pytester: pytest.Pytester, server: Server) -> None:
    ok = server.answer
    server.answer = lambda n, body: (0, {}, "") if n == 1 else ok(n, body)
    result = run(pytester, suite(server.base + "/predict", retry_backoff_s=0.01))
    result.assert_outcomes(passed=1)
    assert (server.requests, model_facts(pytester)["retries"]) == (2, 1)


def test_a_retry_after_past_the_check_budget_is_not_waited_for(pytester: pytest.Pytester,
                                                               server: Server) -> None:
    server.answer = lambda n, body: (429, {"Retry-After": "30"}, "later")
    result = run(pytester, suite(server.base + "/predict", check_timeout_s=5,
                                 max_retry_wait_s=60))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([lit(
        f"suites/remote.yaml:1: not sent to {server.base}/predict again: no retry before the "
        "check's time budget of 5 s ran out (model.check_timeout_s)")])
    assert server.requests == 1


def v2_answer(body: dict[str, Any], columns: str = "negative,positive", drop: int = 0) -> Answer:
    (tensor,) = body["inputs"]
    rows = fake_rows(tensor["data"])[drop:]
    if columns == "positive,negative":
        rows = [row[::-1] for row in rows]
    output = {"name": "probabilities", "datatype": "FP64", "shape": [len(rows), 2],
              "data": [x for row in rows for x in row], "parameters": {"labels": columns}}
    return 200, {}, json.dumps({"model_name": "m", "outputs": [output]})


def test_v2_sends_a_bytes_tensor_and_reads_probability_columns_by_name(
        pytester: pytest.Pytester, server: Server) -> None:
    seen: list[dict[str, Any]] = []

    def respond(n: int, body: dict[str, Any]) -> Answer:
        seen.append(body)
        return v2_answer(body, columns="positive,negative")

    server.answer = respond
    result = run(pytester, suite(server.base + "/v2/models/m/infer", protocol="v2"))
    result.assert_outcomes(passed=1)
    (tensor,) = seen[0]["inputs"]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("text", "BYTES", [8])
    assert read_report(pytester)["checks"][0]["metrics"]["accuracy"] == 7 / 8


def test_v2_fewer_outputs_than_texts_is_an_error(pytester: pytest.Pytester,
                                                 server: Server) -> None:
    server.answer = lambda n, body: v2_answer(body, drop=1)
    result = run(pytester, suite(server.base + "/v2/models/m/infer", protocol="v2"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"suites/remote.yaml:1: {server.base}/v2/models/m/infer returned 7 outputs for 8 texts"])


def test_v2_top_label_only_answers_give_labels_without_probabilities(
        pytester: pytest.Pytester, server: Server) -> None:
    def respond(n: int, body: dict[str, Any]) -> Answer:  # MLServer's Hugging Face runtime
        rows = fake_rows(body["inputs"][0]["data"])
        data = [json.dumps({"label": "positive" if r[1] > 0.5 else "negative", "score": max(r)})
                for r in rows]
        output = {"name": "output", "datatype": "BYTES", "shape": [len(data), 1], "data": data}
        return 200, {}, json.dumps({"outputs": [output]})

    server.answer = respond
    result = run(pytester, suite(server.base + "/v2/models/m/infer", protocol="v2",
                                 label_output="output"))
    result.assert_outcomes(passed=1)
    assert read_report(pytester)["checks"][0]["metrics"]["accuracy"] == 7 / 8


@pytest.mark.parametrize("protocol", ["plain", "v2"])
def test_text_pairs_are_sent_as_pairs(pytester: pytest.Pytester, server: Server,
                                      protocol: str) -> None:
    """plain: each pair a two-element list; v2: two BYTES tensors, first and second sides."""
    from .test_pairs import PAIRS_CSV

    seen: list[dict[str, Any]] = []

    def respond(n: int, body: dict[str, Any]) -> Answer:
        seen.append(body)
        if protocol == "plain":
            pairs = body["texts"]
        else:
            firsts, seconds = (tensor["data"] for tensor in body["inputs"])
            pairs = list(zip(firsts, seconds))
        # "match" when the sides share a word of four letters or more, as test_pairs' fake.
        rows = [[0.1, 0.9] if {w for w in a.split() if len(w) >= 4} & set(b.split())
                else [0.8, 0.2] for a, b in pairs]
        if protocol == "plain":
            return 200, {}, json.dumps({"predictions": rows})
        output = {"name": "probabilities", "datatype": "FP64", "shape": [len(rows), 2],
                  "data": [x for row in rows for x in row]}
        return 200, {}, json.dumps({"model_name": "m", "outputs": [output]})

    server.answer = respond
    make_project(pytester, suite=None)
    (pytester.path / "suites" / "pairs.csv").write_text(PAIRS_CSV)
    write_suite(pytester, "suites/remote.yaml", (
        f"model:\n  adapter: http\n  url: {server.base}/predict\n  protocol: {protocol}\n"
        "  labels: [other, match]\ndatasets:\n  qa:\n    path: pairs.csv\n"
        "    text_column: [question, answer]\nchecks:\n"
        "  - kind: accuracy\n    dataset: qa\n    min_accuracy: 0.4\n"))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.assert_outcomes(passed=1)
    if protocol == "plain":
        assert seen[0]["texts"][0] == ["where is the hotel", "the hotel is near the station"]
    else:
        assert [(t["name"], t["shape"]) for t in seen[0]["inputs"]] == [("text", [10]),
                                                                         ("text_pair", [10])]
    assert read_report(pytester)["checks"][0]["metrics"]["accuracy"] == pytest.approx(8 / 10)
