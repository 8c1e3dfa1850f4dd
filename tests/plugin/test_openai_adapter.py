"""The ``openai`` adapter against a fake OpenAI-compatible server on 127.0.0.1
(:mod:`tests.plugin.openai_server`): generative kinds over streamed chat completions, and every
hostile stream as a located result that waits at most ``timeout_s`` once per check."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator

import pytest

from .helpers import assert_no_traceback, checks_by_nodeid, lit, read_report, write_suite
from .openai_server import TEMPLATE_ERROR, FakeOpenAI, independent_figures

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CAPITALS = "\n".join(
    f'{{"prompt": "The capital of {country} is", "answer": "{capital}"}}'
    for country, capital in [("France", "Paris"), ("Japan", "Tokyo"), ("Peru", "Lima"),
                             ("Chile", "Santiago")]) + "\n"
COMPLETION = """  - kind: completion
    dataset: capitals
    max_new_tokens: 4
    stop: [" ."]
    normalize: [strip]
    min_match_rate: 0.2
"""


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    yield from FakeOpenAI().serving()


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.mode, server.scoring, server.first_s, server.gap_s = "ok", "ok", 0.0, 0.0
    server.bodies.clear()
    server.paths.clear()
    return server


def suite(url: str, checks: str, **model: object) -> str:
    extra = "".join(f"  {key}: {value}\n" for key, value in model.items())
    return (f"model:\n  adapter: openai\n  url: {url}\n  served_model: fake\n{extra}"
            "datasets:\n  capitals:\n    path: capitals.jsonl\n    prompt_column: prompt\n"
            "    answer_column: answer\nchecks:\n" + checks)


def run(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    write_suite(pytester, "suites/capitals.jsonl", CAPITALS)
    write_suite(pytester, "suites/served.yaml", text)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def test_completion_over_a_streamed_chat_server(pytester: pytest.Pytester,
                                                fake: FakeOpenAI) -> None:
    fake.mode = "usage"
    result = run(pytester, suite(fake.url, COMPLETION, stream_usage="true"))
    result.stdout.fnmatch_lines(["suites/served.yaml  completion[[]capitals]  PASS     "
                                 "match_rate 0.750 >= 0.200 (95% CI 0.301 to 0.954)"])
    result.assert_outcomes(passed=1)
    found = checks_by_nodeid(read_report(pytester))["suites/served.yaml::completion[capitals]"]
    assert found["metrics"]["match_rate"] == pytest.approx(3 / 4)
    assert fake.bodies[0] == {
        "model": "fake", "stream": True, "max_tokens": 4, "temperature": 0.0,
        "messages": [{"role": "user", "content": "The capital of France is"}],
        "stop": [" ."], "stream_options": {"include_usage": True}}


HOSTILE = [
    ("nothing", "{url}: streamed nothing within 0.5 s (model.timeout_s)"),
    ("stall", "{url}: the stream stalled: nothing for 0.5 s after 2 events, 6 characters"),
    ("no done", "{url}: sent finish_reason 'stop' but no data: [DONE] and kept the stream open "
                "for 0.5 s (model.timeout_s)"),
    ("malformed", "{url}: event 2 is not JSON: \"{{'content': 'x'\""),
    ("garbage", "{url}: the stream ended mid-answer, without a finish_reason or data: [DONE] (0 "
                "events, 0 characters; 2 lines not server-sent events, e.g. 'hello world')"),
    ("cut", "{url}: the stream broke off mid-answer (2 events, 6 characters): peer closed "
            "connection without sending complete message body (incomplete chunked read)"),
    ("long", "{url} answered 9 tokens (counted by usage), more than max_tokens 4"),
    ("template error", f"{{url}} streamed an error: '{TEMPLATE_ERROR}'"),
    ("http error", f"{{url}} answered HTTP 400: '{{{{\"detail\": \"{TEMPLATE_ERROR}\"}}}}'"),
    ("not sse", "{url} answered Content-Type 'application/json', not a stream of events "
                "(text/event-stream): it starts '{{\"choices\": []}}'"),
]


@pytest.mark.parametrize(("mode", "message"), HOSTILE, ids=[mode for mode, _ in HOSTILE])
def test_a_hostile_stream_is_a_located_error(pytester: pytest.Pytester, fake: FakeOpenAI,
                                             mode: str, message: str) -> None:
    fake.mode = mode
    result = run(pytester, suite(fake.url, COMPLETION, timeout_s=0.5))
    url = fake.url + "/chat/completions"
    result.stdout.fnmatch_lines([lit("suites/served.yaml:12: " + message.format(url=url))])
    result.assert_outcomes(failed=1)
    # A stalled stream opens the breaker: one wait per check, not one per prompt.
    assert len(fake.bodies) == 1


def test_a_dead_server_is_one_located_error(pytester: pytest.Pytester) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    result = run(pytester, suite(url, COMPLETION))
    result.stdout.fnmatch_lines([lit(f"suites/served.yaml:11: cannot reach {url}/chat/"
                                     "completions: connection refused")])
    result.assert_outcomes(failed=1)


def test_kinds_that_need_log_probabilities_refuse_with_the_reason(
        pytester: pytest.Pytester, fake: FakeOpenAI) -> None:
    text = suite(fake.url, "  - kind: perplexity\n    dataset: docs\n    max_perplexity: 50\n")
    text = text.replace("datasets:\n", "datasets:\n  docs:\n    path: capitals.jsonl\n"
                        "    document_column: prompt\n")
    result = run(pytester, text)
    result.stdout.fnmatch_lines([lit(
        "suites/served.yaml:14: the openai adapter scores no given text without "
        f"model.logprobs: true (then POST {fake.url}/completions with echo: true, logprobs: 1, "
        "as lm-eval's local-completions; vLLM answers it, transformers serve and llama.cpp's "
        "server do not): set it, or score the same weights in-process (adapter: transformers, "
        "task: text-generation)")])
    result.assert_outcomes(failed=1)
    assert fake.bodies == []


PERPLEXITY = "  - kind: perplexity\n    dataset: docs\n    max_perplexity: 50\n"


def scoring_suite(url: str, tokenizer: Path, **model: object) -> str:
    """The capitals' prompts as documents, scored over ``url`` with ``logprobs: true``."""
    text = suite(url, PERPLEXITY, tokenizer=str(tokenizer), logprobs="true", **model)
    return text.replace("datasets:\n", "datasets:\n  docs:\n    path: capitals.jsonl\n"
                        "    document_column: prompt\n")


def test_logprobs_score_over_completions_with_echo(pytester: pytest.Pytester, fake: FakeOpenAI,
                                                   gpt_tiny_dir: Path) -> None:
    """``logprobs: true`` sends each document as token ids to /completions (the chat endpoint
    serves generation only) and sums the prompt's log-probabilities: -1 per token here."""
    from transformers import AutoTokenizer

    result = run(pytester, scoring_suite(fake.url, gpt_tiny_dir))
    result.stdout.fnmatch_lines(["suites/served.yaml  perplexity[[]docs]  PASS     perplexity "
                                 "2.718 <= 50 (95% CI 2.718 to 2.718)"])
    result.assert_outcomes(passed=1)
    found = checks_by_nodeid(read_report(pytester))["suites/served.yaml::perplexity[docs]"]
    assert found["metrics"]["perplexity"] == pytest.approx(math.e)
    tokenizer = AutoTokenizer.from_pretrained(gpt_tiny_dir)
    ids = tokenizer("The capital of France is", add_special_tokens=False)["input_ids"]
    assert fake.bodies[0] == {"model": "fake", "prompt": [tokenizer.bos_token_id, *ids],
                              "max_tokens": 1, "temperature": 0, "logprobs": 1, "echo": True}
    assert set(fake.paths) == {"/v1/completions"} and len(fake.paths) == 4


SCORING_HOSTILE = [
    ("no logprobs", "{url} answered a scoring request (echo: true, logprobs: 1, max_tokens: 1) "
                    "without log-probabilities ('logprobs': null): it scores no given text"),
    ("no echo", "{url} answered 1 log-probability for a prompt of {n} tokens (echo: true, "
                "logprobs: 1, max_tokens: 1): it does not echo the prompt's log-probabilities "
                "(llama.cpp's server scores only the generated token: "
                "ggml-org/llama.cpp#27174)"),
    ("long", "{url} answered {n3} log-probabilities for a prompt of {n} tokens and max_tokens 1 "
             "(expected {n1}: one per prompt token, the first null, then the generated token's)"),
    ("null", "{url}: the log-probability of prompt token {last} (of {n}) is null, not a finite "
             "number <= 0"),
    ("nan", "{url}: the log-probability of prompt token {last} (of {n}) is nan, not a finite "
            "number <= 0"),
    ("usage", "{url} counted {n3} prompt tokens for the {n} token ids sent "
              "(usage.prompt_tokens): it did not score them as sent"),
    ("refuse", "{url} answered HTTP 400 to a scoring request (echo: true, logprobs: 1, "
               "max_tokens: 1, a prompt of {n} token ids): '{{\"object\": \"error\", \"type\": "
               "\"BadRequestError\", \"message\": \"echo is not supported\", \"code\": 400}}'. "
               "A server that scores no given text refuses so, and one whose context is shorter "
               "than the prompt (model.max_context is unset: set it to the served model's context "
               "to score long texts in windows)"),
]


@pytest.mark.parametrize(("mode", "message"), SCORING_HOSTILE,
                         ids=[mode for mode, _ in SCORING_HOSTILE])
def test_a_hostile_scoring_answer_is_a_located_error(
        pytester: pytest.Pytester, fake: FakeOpenAI, gpt_tiny_dir: Path, mode: str,
        message: str) -> None:
    from transformers import AutoTokenizer

    fake.scoring = mode
    result = run(pytester, scoring_suite(fake.url, gpt_tiny_dir))
    tokenizer = AutoTokenizer.from_pretrained(gpt_tiny_dir)
    n = 1 + len(tokenizer("The capital of France is", add_special_tokens=False)["input_ids"])
    expected = message.format(url=fake.url + "/completions", n=n, n1=n + 1, n3=n + 3,
                              last=n - 1)
    result.stdout.fnmatch_lines([lit("suites/served.yaml:16: " + expected)])
    result.assert_outcomes(failed=1)
    assert len(fake.bodies) == 1


def test_logprobs_without_a_tokenizer_is_a_suite_error(pytester: pytest.Pytester,
                                                       fake: FakeOpenAI) -> None:
    result = run(pytester, suite(fake.url, PERPLEXITY, logprobs="true"))
    result.stdout.fnmatch_lines(["*'logprobs: true' sends the scored text as token ids: it "
                                 "needs 'tokenizer'*"])
    assert fake.bodies == []


def test_latency_reads_the_stream_clock(pytester: pytest.Pytester, fake: FakeOpenAI,
                                        gpt_tiny_dir: Path) -> None:
    """``latency`` times a served generator by its stream: the first delta is the first token;
    the token counts come from the server's usage (prompts are built with the tokenizer)."""
    fake.mode = "usage"
    checks = ("  - kind: latency\n    prompt_lengths: [4]\n    output_lengths: [4]\n"
              "    warmup: 1\n    min_iterations: 3\n    max_iterations: 3\n"
              "    min_seconds: 0\n")
    result = run(pytester, suite(fake.url, checks, tokenizer=str(gpt_tiny_dir)))
    result.assert_outcomes(passed=1)
    found = checks_by_nodeid(read_report(pytester))["suites/served.yaml::latency[0]"]
    # " the cat sat ." streams 4 deltas; usage says 4 tokens: one TPOT per call.
    assert found["details"]["timing"] == "generate_timed (the generator's own clock per token)"
    assert found["details"]["configs"][0]["new_tokens"] == {"min": 4, "max": 4, "mean": 4.0}
    assert all(body["max_tokens"] == 4 for body in fake.bodies)


LOAD = """  - kind: load
    concurrency: [2]
    rates: [8]
    duration_s: 1.0
    warmup_requests: 1
    max_new_tokens: 8
    slo: {ttft_ms: 10000, tpot_ms: 10000}
    min_goodput: 0.5
"""


def test_load_on_a_generator_agrees_with_an_independent_client(
        pytester: pytest.Pytester, fake: FakeOpenAI) -> None:
    """The server waits 50 ms before the first delta and 20 ms between the 4 deltas: TTFT,
    TPOT and e2e are at least those, and the check's medians agree with a plain httpx loop's."""
    import statistics

    fake.mode, fake.first_s, fake.gap_s = "usage", 0.05, 0.02
    result = run(pytester, suite(fake.url, LOAD, stream_usage="true"))
    result.assert_outcomes(passed=1)
    found = checks_by_nodeid(read_report(pytester))["suites/served.yaml::load[0]"]
    closed, opened = found["details"]["steps"]
    assert (closed["step"], opened["step"]) == ("2 clients", "8 req/s")
    assert closed["errors"] == opened["errors"] == 0
    assert closed["output_tokens"] == 4 * closed["answered"]
    assert closed["good"] == closed["answered"] and found["metrics"]["goodput"] == 1.0
    # Each request has 3 gaps between its 4 deltas.
    assert closed["itl"]["n"] == 3 * closed["answered"]
    independent = independent_figures(fake.url, 8)
    for name, floor in (("ttft", 50.0), ("tpot", 20.0), ("e2e", 110.0)):
        ours, theirs = closed[name]["p50_ms"], statistics.median(independent[name])
        assert ours >= floor and theirs >= floor
        assert abs(ours - theirs) <= max(15.0, 0.3 * theirs), (name, ours, theirs)


def test_load_on_a_dead_generator_counts_errors(pytester: pytest.Pytester) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    checks = LOAD.replace("    min_goodput: 0.5\n", "    max_error_rate: 0.1\n").replace(
        "    warmup_requests: 1\n", "    warmup_requests: 0\n")
    result = run(pytester, suite(url, checks))
    result.assert_outcomes(failed=1)
    found = checks_by_nodeid(read_report(pytester))["suites/served.yaml::load[0]"]
    closed = found["details"]["steps"][0]
    assert closed["answered"] == 0 and closed["errors"] == closed["requests"] > 0
    assert "ttft" not in closed and closed["goodput"] == 0.0
    assert closed["error_examples"][0] == (
        f"ModelPredictError: cannot reach {url}/chat/completions: connection refused")


def test_load_keys_of_the_other_task_are_located_errors(pytester: pytest.Pytester,
                                                        fake: FakeOpenAI) -> None:
    checks = "  - kind: load\n    concurrency: [1]\n    slo_p99_ms: 100\n"
    result = run(pytester, suite(fake.url, checks))
    result.stdout.fnmatch_lines([lit(
        "suites/served.yaml:13: checks[0].slo_p99_ms: does not apply to a text generator (its "
        "objectives go under slo:)")])
    result.assert_outcomes(failed=1)
    assert fake.bodies == []
