"""The ``load`` check against a real local server on 127.0.0.1: steps, errors with a Wilson
interval, retries, the generator's ceiling, a server killed mid-load, bad parameters.

Assertions are on counts and on the report's structure, never on wall-clock time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from modeltests.serving.server import port_is_free

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite
from .test_http_protocols import Server, fake_rows, server  # noqa: F401  (the fixture)
from .test_serve import STUB_SERVER, served_suite, starts, gone


def suite(url: str, load: str) -> str:
    return (f"model:\n  adapter: http\n  url: {url}\n  labels: [negative, positive]\n"
            "  retry_backoff_s: 0.01\n"
            "checks:\n  - kind: load\n    warmup_requests: 0\n    ceiling_duration_s: 0.2\n"
            + load)


def run(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    make_project(pytester, suite=None)
    (pytester.path / "stubserver.py").write_text(STUB_SERVER)
    write_suite(pytester, "suites/load.yaml", text)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def load_entry(pytester: pytest.Pytester) -> dict[str, Any]:
    (entry,) = read_report(pytester)["checks"]
    return dict(entry)


def test_every_step_is_reported_with_the_generator_ceiling(pytester: pytest.Pytester,
                                                           server: Server) -> None:
    result = run(pytester, suite(server.base + "/predict",
                                 "    concurrency: [1, 2]\n    rates: [20]\n    duration_s: 0.3\n"
                                 "    max_requests_per_step: 5\n    slo_p99_ms: 60000\n"
                                 "    max_error_rate: 0\n    min_throughput_at_slo: 0.001\n"))
    result.assert_outcomes(passed=1)
    entry = load_entry(pytester)
    steps = entry["details"]["steps"]
    assert [step["step"] for step in steps] == ["1 clients", "2 clients", "20 req/s"]
    assert [step["requests"] for step in steps[:2]] == [5, 5]  # the request cap bounds a step
    assert server.requests == sum(step["requests"] for step in steps)
    assert entry["details"]["generator_ceiling_rps"] > 0
    assert entry["metrics"]["error_rate"] == 0 and entry["metrics"]["throughput_at_slo"] > 0
    assert all(step["p99_supported"] is False for step in steps)
    html = (pytester.path / "reports/modeltests.html").read_text()
    assert "Throughput per step" in html and "p99 latency per step" in html


def test_errors_fail_the_check_with_a_wilson_interval(pytester: pytest.Pytester,
                                                      server: Server) -> None:
    server.answer = lambda n, body: (500, {}, "boom") if n % 2 else \
        (200, {}, json.dumps({"predictions": fake_rows(body["texts"])}))
    result = run(pytester, suite(server.base + "/predict",
                                 "    concurrency: [1]\n    duration_s: 30\n"
                                 "    max_requests_per_step: 20\n    max_error_rate: 0.05\n"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "load[[]0] failed (suites/load.yaml:7, n=20)",
        "  error_rate 0.500 > 0.050 (95% CI 0.299 to 0.701)  [[]max_error_rate]",
        "  failing examples (5 of 10):",
        lit(f"    - [1 clients] '' error: ModelPredictError: {server.base}/predict answered HTTP "
            "500: 'boom'"),
    ])
    assert server.requests == 20


def test_429_answers_are_retried_and_counted_per_step(pytester: pytest.Pytester,
                                                      server: Server) -> None:
    server.answer = lambda n, body: (429, {"Retry-After": "0"}, "wait") if n % 2 else \
        (200, {}, json.dumps({"predictions": fake_rows(body["texts"])}))
    result = run(pytester, suite(server.base + "/predict",
                                 "    concurrency: [1]\n    duration_s: 30\n"
                                 "    max_requests_per_step: 10\n    max_error_rate: 0\n"))
    result.assert_outcomes(passed=1)
    (step,) = load_entry(pytester)["details"]["steps"]
    assert (step["requests"], step["errors"], step["retries"]) == (10, 0, 10)
    assert server.requests == 20


def test_a_server_killed_mid_load_counts_errors_and_is_cleaned_up(
        pytester: pytest.Pytester) -> None:
    load = ("  - kind: load\n    warmup_requests: 0\n    ceiling_duration_s: 0.2\n"
            "    concurrency: [1]\n    duration_s: 30\n    max_requests_per_step: 30\n"
            "    max_error_rate: 0.01\n")
    result = run(pytester, served_suite("die", load))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  error_rate * > 0.010 (95% CI * to *)  [[]max_error_rate]",
                                 "    - [[]1 clients] '' error: ModelPredictError: cannot reach *"])
    (step,) = load_entry(pytester)["details"]["steps"]
    assert step["requests"] == 30 and step["errors"] >= 27  # all but the 2 answered before death
    (pid,) = starts(pytester)
    server = read_report(pytester)["run"]["models"][0]["server"]
    assert gone(pid) and port_is_free(server["ports"]["port"])


def test_a_load_check_without_steps_is_a_located_error(pytester: pytest.Pytester,
                                                       server: Server) -> None:
    result = run(pytester, suite(server.base + "/predict", "    duration_s: 1\n"))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["suites/load.yaml:7: checks[[]0]: give 'concurrency' "
                                 "(closed-loop clients) or 'rates' (open-loop requests/s), or "
                                 "both*"])
    assert server.requests == 0
