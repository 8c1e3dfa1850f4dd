"""A run stopped by SIGTERM (CI cancellation, ``timeout``) or SIGINT (Ctrl-C) still writes both
reports, says it was interrupted, and lists the checks that did not run; the exit code is
pytest's (2, interrupted). Real signals to a real pytest subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import CALLABLE_HEAD, make_project

SLEEPER = """
import time
from pathlib import Path

from modeltests import CheckParams, CheckResult


class SleeperParams(CheckParams):
    kind: str = "sleeper"


def pytest_modeltests_register_checks(registry):
    @registry.check("sleeper", params=SleeperParams, needs_model=False)
    def run(context, params):
        Path("started.txt").write_text("started")
        time.sleep(120)  # the signal arrives here
        return CheckResult(metrics={"slept": 1.0}, sample_size=1)
"""

SUITE = CALLABLE_HEAD + """  - kind: accuracy
    dataset: dev
    min_accuracy: 0.5
  - kind: sleeper
  - kind: accuracy
    name: after
    dataset: dev
"""


@pytest.mark.parametrize(("signum", "word"), [(signal.SIGTERM, "SIGTERM"),
                                               (signal.SIGINT, "SIGINT")])
def test_an_interrupted_run_writes_what_finished_and_what_did_not(
        pytester: pytest.Pytester, signum: int, word: str) -> None:
    pytester.makeconftest(SLEEPER)
    make_project(pytester, SUITE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
    process = subprocess.Popen([sys.executable, "-m", "pytest", "suites/", "-p",
                                "no:cacheprovider"], cwd=pytester.path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = pytester.path / "started.txt"
    for _ in range(600):  # the sleeper check is running once this file exists
        if started.exists() or process.poll() is not None:
            break
        time.sleep(0.1)
    assert started.exists(), process.communicate()[0]
    process.send_signal(signum)
    output = process.communicate(timeout=120)[0]

    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert f"modeltests: run interrupted ({word}): 2 checks did not run" in output
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    assert document["run"]["interrupted"] is True
    assert document["run"]["interrupted_by"] == word
    assert document["run"]["not_run"] == ["suites/sentiment.yaml::sleeper[1]",
                                          "suites/sentiment.yaml::accuracy[after]"]
    assert [(c["name"], c["outcome"]) for c in document["checks"]] == [("accuracy[dev]",
                                                                        "passed")]
    assert document["summary"] == {"passed": 1}
    html = (pytester.path / "reports" / "modeltests.html").read_text()
    assert f"Run interrupted ({word})" in html and "sleeper[1]" in html


def test_a_finished_run_says_it_was_not_interrupted(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider")
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    assert document["run"]["interrupted"] is False and "not_run" not in document["run"]


def test_a_collection_error_stops_the_run_and_says_why(pytester: pytest.Pytester) -> None:
    # pytest stops before running anything when a test module cannot be imported: the checks it
    # collected are listed as not run, under pytest's reason (not a signal nobody sent).
    make_project(pytester)
    pytester.makepyfile(test_broken="import no_such_module_here\n")
    result = pytester.runpytest("suites/", "test_broken.py", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["modeltests: run interrupted (1 error during collection): 2 checks did not run"])
    document = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    assert document["run"]["interrupted_by"] == "1 error during collection"
    assert document["run"]["not_run"] == ["suites/sentiment.yaml::accuracy[dev]",
                                          "suites/sentiment.yaml::availability[smoke]"]


def test_a_run_without_suites_writes_nothing_of_ours(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import no_such_module_here\n")
    result = pytester.runpytest("test_broken.py", "-p", "no:cacheprovider")
    assert "modeltests:" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()
