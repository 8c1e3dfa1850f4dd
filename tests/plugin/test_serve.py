"""A suite's ``serve:`` section: the session starts a real local server (a small
``http.server`` script on 127.0.0.1, on ports the session picked), waits for readiness, and
stops it at the end, also after failures, a server that ignores SIGTERM, and SIGTERM to pytest.

No orphan: after each run the server's process is gone and its port is free. No assertion is
about wall-clock time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modeltests.serving.server import port_is_free

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite

STUB_SERVER = '''
import json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, mode = int(sys.argv[1]), sys.argv[2]
print(f"stub server on port {port}, mode {mode}", flush=True)
with open("starts.txt", "a") as handle:
    handle.write(f"{os.getpid()}\\n")
if mode == "exit":
    print("fatal: no model file here", flush=True)
    sys.exit(3)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
posts = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.answer(404 if mode == "never-ready" else 200, "{}")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        posts.append(1)
        if mode == "hang":
            open("posted.txt", "w").close()
            time.sleep(120)
        if mode == "die" and len(posts) > 2:
            os._exit(1)  # killed in the middle of a check
        rows = [[0.2, 0.8] if ("good" in t or "great" in t) else [0.9, 0.1] for t in body["texts"]]
        self.answer(200, json.dumps({"predictions": rows}))

    def answer(self, status, text):
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''


def served_suite(mode: str, checks: str, port: str = "{port}", **serve: object) -> str:
    extra = "".join(f"  {key}: {value}\n" for key, value in serve.items())
    return (f"serve:\n  command: ['{{python}}', '../stubserver.py', '{port}', {mode}]\n"
            f"  ready_url: http://127.0.0.1:{port}/ready\n" + extra +
            f"model:\n  adapter: http\n  url: http://127.0.0.1:{port}/predict\n"
            "  labels: [negative, positive]\n  batch_size: 2\n  max_retries: 0\n"
            "datasets:\n  dev:\n    path: data.csv\nchecks:\n" + checks)


ACCURACY = "  - kind: accuracy\n    dataset: dev\n    min_accuracy: 0.5\n"
AGAIN = "  - kind: accuracy\n    name: again\n    dataset: dev\n    min_accuracy: 0.5\n"


def run(pytester: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    make_project(pytester, suite=None)
    (pytester.path / "stubserver.py").write_text(STUB_SERVER)
    write_suite(pytester, "suites/served.yaml", text)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", *args)
    assert_no_traceback(result.stdout.str())
    return result


def starts(pytester: pytest.Pytester) -> list[int]:
    path = pytester.path / "suites" / "starts.txt"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


AVAILABILITY = ("  - kind: availability\n    generated_examples: 0\n    min_server_ready: 1\n"
                "    max_server_cold_start_seconds: 300\n")


def test_the_server_starts_once_and_is_stopped_after_the_session(pytester: pytest.Pytester
                                                                 ) -> None:
    result = run(pytester, served_suite("ok", AVAILABILITY + ACCURACY + AGAIN))
    result.assert_outcomes(passed=3)
    availability = read_report(pytester)["checks"][0]["metrics"]
    assert availability["server_ready"] == 1 and availability["server_cold_start_seconds"] > 0
    (pid,) = starts(pytester)  # one server for both checks
    (model,) = read_report(pytester)["run"]["models"]
    server = model["server"]
    assert server["pid"] == pid and server["cold_start_s"] > 0 and server["polls"] >= 1
    assert model["url"] == f"http://127.0.0.1:{server['ports']['port']}/predict"
    assert gone(pid) and port_is_free(server["ports"]["port"])


def test_a_server_that_never_gets_ready_errors_every_check_with_its_log(
        pytester: pytest.Pytester) -> None:
    result = run(pytester, served_suite("never-ready", ACCURACY + AGAIN, startup_timeout_s=5))
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "suites/served.yaml:1: serve: the server was not ready within 5 s "
        "(serve.startup_timeout_s): http://127.0.0.1:*/ready never answered 200 in * polls; "
        "the last 1 lines of its log:",
        "  | stub server on port *, mode never-ready",
    ])
    (pid,) = starts(pytester)  # not started again for the second check
    assert gone(pid)


def test_a_server_that_exits_at_start_errors_with_its_exit_code_and_log(
        pytester: pytest.Pytester) -> None:
    result = run(pytester, served_suite("exit", ACCURACY))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "suites/served.yaml:1: serve: the server exited with code 3 before it was ready; the "
        "last 2 lines of its log:",
        "  | stub server on port *, mode exit",
        "  | fatal: no model file here",
    ])


def test_a_port_already_taken_is_a_clear_error(pytester: pytest.Pytester) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(pytester, served_suite("ok", ACCURACY, port=str(port)))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([lit(
        f"suites/served.yaml:1: serve.ready_url: port {port} on 127.0.0.1 is already taken "
        "before the server was started (another server is running there?); stop it, or use a "
        "'{port}' placeholder so that a free port is picked")])
    assert starts(pytester) == []  # never started: its answers would pass for ours


def test_a_server_killed_mid_check_fails_the_check_and_is_cleaned_up(
        pytester: pytest.Pytester) -> None:
    result = run(pytester, served_suite("die", ACCURACY))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["suites/served.yaml:4: cannot reach http://127.0.0.1:*/predict: "
                                 "the connection was reset (Server disconnected without sending "
                                 "a response.)"])
    (pid,) = starts(pytester)
    server = read_report(pytester)["run"]["models"][0]["server"]
    assert gone(pid) and port_is_free(server["ports"]["port"])


def test_a_server_ignoring_sigterm_is_killed(pytester: pytest.Pytester) -> None:
    result = run(pytester, served_suite("ignore-term", ACCURACY, stop_timeout_s=0.5))
    result.assert_outcomes(passed=1)
    (pid,) = starts(pytester)
    server = read_report(pytester)["run"]["models"][0]["server"]
    assert gone(pid) and port_is_free(server["ports"]["port"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_pytest_stops_the_server(pytester: pytest.Pytester, signum: int) -> None:
    make_project(pytester, suite=None)
    (pytester.path / "stubserver.py").write_text(STUB_SERVER)
    write_suite(pytester, "suites/served.yaml", served_suite("hang", ACCURACY))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    session = subprocess.Popen([sys.executable, "-m", "pytest", "suites/", "-p",
                                "no:cacheprovider"], cwd=pytester.path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    posted = pytester.path / "suites" / "posted.txt"
    for _ in range(600):  # at most 60 s for the session to start the server and send a request
        if posted.exists() or session.poll() is not None:
            break
        time.sleep(0.1)
    assert posted.exists()
    session.send_signal(signum)
    output = session.communicate(timeout=60)[0].decode()
    (pid,) = starts(pytester)
    assert f"modeltests: run interrupted ({signal.Signals(signum).name})" in output
    assert gone(pid)
    report = json.loads((pytester.path / "reports/modeltests.json").read_text())
    assert port_is_free(report["run"]["models"][0]["server"]["ports"]["port"])


def stopped(pid: int) -> bool:
    """Gone, or a zombie waiting for a parent to reap it (it runs nothing, holds no port)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigkill_to_pytest_stops_the_servers_own_children(pytester: pytest.Pytester) -> None:
    """A ``command`` given as a string runs through /bin/sh: the stub server is the shell's
    child, the session's grandchild, which the parent-death signal never reaches. SIGKILL to
    pytest (no cleanup runs) must still stop it: the watchdog stops the whole group."""
    make_project(pytester, suite=None)
    (pytester.path / "stubserver.py").write_text(STUB_SERVER)
    suite = served_suite("hang", ACCURACY).replace(
        "  command: ['{python}', '../stubserver.py', '{port}', hang]\n",
        "  command: \"'{python}' ../stubserver.py {port} hang & wait\"\n")
    write_suite(pytester, "suites/served.yaml", suite)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    session = subprocess.Popen([sys.executable, "-m", "pytest", "suites/", "-p",
                                "no:cacheprovider"], cwd=pytester.path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    posted = pytester.path / "suites" / "posted.txt"
    for _ in range(600):  # at most 60 s for the session to start the server and send a request
        if posted.exists() or session.poll() is not None:
            break
        time.sleep(0.1)
    assert posted.exists()
    (pid,) = starts(pytester)
    assert not stopped(pid)
    session.kill()
    session.wait()
    for _ in range(300):  # the watchdog's SIGTERM, or its SIGKILL 10 s later
        if stopped(pid):
            break
        time.sleep(0.1)
    assert stopped(pid)


def test_a_port_placeholder_without_serve_is_a_located_error(pytester: pytest.Pytester) -> None:
    text = served_suite("ok", ACCURACY).split("model:", 1)[1]
    result = run(pytester, "model:" + text)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([lit(
        "suites/served.yaml:3: model.url: placeholders such as '{port}' are filled by a "
        "'serve:' section, and the suite has none (got 'http://127.0.0.1:{port}/predict')")])


def test_each_xdist_worker_starts_its_own_server_on_its_own_port(pytester: pytest.Pytester
                                                                 ) -> None:
    checks = ACCURACY + AGAIN + "  - kind: accuracy\n    name: third\n    dataset: dev\n" \
        "  - kind: accuracy\n    name: fourth\n    dataset: dev\n"
    result = run(pytester, served_suite("ok", checks), "-n", "2", "-p", "no:benchmark")
    result.assert_outcomes(passed=4)
    pids = starts(pytester)
    ports = {m["server"]["ports"]["port"] for m in read_report(pytester)["run"]["models"]}
    assert 1 <= len(pids) <= 2 and len(ports) == len(pids)
    assert all(gone(pid) for pid in pids) and all(port_is_free(port) for port in ports)


def test_every_problem_of_a_serve_section_is_reported_at_its_line(pytester: pytest.Pytester
                                                                  ) -> None:
    text = ("serve:\n  command: []\n  ready_url: ftp://x\n  startup: 3\nmodel:\n  adapter: http\n"
            "  url: http://127.0.0.1:{port}/p\n  labels: [negative, positive]\nchecks:\n"
            "  - kind: availability\n")
    result = run(pytester, text)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "suites/served.yaml:2: serve.command: the command must not be empty (got [[]])",
        "suites/served.yaml:3: serve.ready_url: String should match pattern '^https?://' (got "
        "'ftp://x')",
        "suites/served.yaml:4: serve.startup: unknown key 'startup' (allowed: command, cwd, env, "
        "ready_url, startup_timeout_s, stop_timeout_s)",
    ])
    assert starts(pytester) == []
