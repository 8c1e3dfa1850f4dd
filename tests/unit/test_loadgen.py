"""The load generator's bounds and counts (fake calls; no assertion about wall-clock time)."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from modeltests.serving.loadgen import arrivals, closed_loop, null_endpoint, open_loop


def test_poisson_arrivals_are_seeded_bounded_and_near_their_rate() -> None:
    times = arrivals(1000.0, 10.0, seed=3, max_requests=100000)
    assert times == arrivals(1000.0, 10.0, seed=3, max_requests=100000)
    assert times == sorted(times) and 0 < times[0] and times[-1] < 10.0
    assert abs(len(times) - 10000) < 400  # 4 standard deviations of a Poisson count
    assert len(arrivals(1000.0, 10.0, seed=3, max_requests=50)) == 50


def test_closed_loop_stops_at_the_request_cap_and_counts_errors() -> None:
    seen: list[list[str]] = []
    lock = threading.Lock()

    def call(batch: list[str]) -> None:
        with lock:
            seen.append(batch)
            number = len(seen)
        if number % 2:
            raise RuntimeError(f"request {number} failed")

    step = closed_loop(call, ["a", "b", "c"], clients=3, duration_s=60, max_requests=40,
                       batch_size=2)
    assert (step.requests, step.errors, len(step.latencies_ms)) == (40, 20, 20)
    assert len(step.error_examples) == 5 and step.error_examples[0].startswith("RuntimeError")
    assert all(len(batch) == 2 for batch in seen) and step.scheduled == 40


def test_open_loop_sends_every_scheduled_arrival() -> None:
    calls: list[list[str]] = []
    step = open_loop(calls.append, ["x"], rate=200.0, duration_s=0.5, seed=1, max_requests=1000,
                     max_in_flight=4)
    assert step.scheduled == len(arrivals(200.0, 0.5, 1, 1000)) == len(calls) == step.requests
    assert step.errors == 0 and step.elapsed_s >= 0.5


def test_the_null_endpoint_answers_an_empty_object() -> None:
    with null_endpoint() as url:
        request = urllib.request.Request(url, data=json.dumps({"texts": ["a"]}).encode(),
                                         method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            assert (response.status, response.read()) == (200, b"{}")


def test_per_request_timings_are_kept_for_answered_requests_only() -> None:
    """The plug-in point of a streaming sender: ``send`` returns figures beside the latency."""
    from contextlib import asynccontextmanager
    from typing import AsyncIterator

    from modeltests.serving.loadgen import AsyncRequests, Send

    @asynccontextmanager
    async def open_fake(concurrency: int) -> AsyncIterator[Send]:
        count = 0

        async def send(batch: list[str]) -> dict[str, float]:
            nonlocal count
            count += 1
            if count % 3 == 0:
                raise ConnectionResetError("stream cut")
            return {"ttft_ms": float(count), "chunks": 2.0}

        yield send

    requests = AsyncRequests(open_fake, "fake stream")
    closed = closed_loop(requests, ["a"], clients=2, duration_s=60, max_requests=9)
    opened = open_loop(requests, ["a"], rate=500.0, duration_s=0.05, seed=2, max_requests=9,
                       max_in_flight=3)
    for step in (closed, opened):
        answered = len(step.latencies_ms)
        assert step.errors == step.requests // 3 and step.requests == step.scheduled
        assert len(step.timings["ttft_ms"]) == len(step.timings["chunks"]) == answered
        assert all(value % 3 for value in step.timings["ttft_ms"])


def test_http1_answers_are_parsed_by_length_chunks_or_close() -> None:
    from modeltests.serving.http1 import _parse

    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    sized = bytearray(head + b"Content-Length: 2\r\n\r\n{}HTTP/1.1")
    answer, used, keep = _parse(sized, closed=False)
    assert (answer.status, answer.body, bytes(sized[used:]), keep) == (200, b"{}", b"HTTP/1.1",
                                                                         True)
    chunked = bytearray(head + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3\r\na\"}\r\n")
    assert _parse(chunked, closed=False) is None  # the last chunk has not come
    chunked += b"0\r\n\r\n"
    assert _parse(chunked, closed=False)[0].body == b'{"a"}'
    closing = bytearray(b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert _parse(closing, closed=False)[0].status == 503 and not _parse(closing, False)[2]
    until_close = bytearray(b"HTTP/1.0 200 OK\r\n\r\nbody")
    assert _parse(until_close, closed=False) is None
    assert _parse(until_close, closed=True)[0].body == b"body"
    with pytest.raises(ValueError, match="not an HTTP/1.x status line"):
        _parse(bytearray(b"SSH-2.0-OpenSSH\r\n\r\n"), closed=False)


def test_http1_pool_resends_on_a_fresh_connection_after_the_server_closed_an_idle_one() -> None:
    """A kept-alive connection closed by the server between requests is not an error; a
    connection closed before a complete answer is."""
    import asyncio

    from modeltests.serving.http1 import Pool

    async def scenario() -> tuple[list[int], str]:
        answers = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal answers
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
            answers += 1
            if answers == 3:  # the third request gets half an answer
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}")
            else:  # keep-alive announced, then closed after the answer
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        statuses = []
        async with Pool(f"http://127.0.0.1:{port}/x", {}, 2) as pool:
            for _ in range(2):
                statuses.append((await pool.send(pool.message(b"{}"), 10)).status)
                await asyncio.sleep(0.05)  # the server's close arrives before the next send
            try:
                await pool.send(pool.message(b"{}"), 10)
                failure = "none"
            except ConnectionResetError as exc:
                failure = str(exc)
        server.close()
        await server.wait_closed()
        return statuses, failure

    statuses, failure = asyncio.run(scenario())
    assert statuses == [200, 200] and failure.startswith("no complete answer")
