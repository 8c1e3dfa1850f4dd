"""``--modeltests-mlflow [URI]``: each run logged into an MLflow experiment (params, metrics with
their interval ends, verdicts as tags, the reports as artifacts), read back through
MlflowClient; without MLflow the option says how to install it."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from modeltests.history import tracker

from .helpers import assert_no_traceback, make_project, read_report

os.environ.setdefault("HF_HUB_OFFLINE", "1")

needs_mlflow = pytest.mark.skipif(not tracker.mlflow_installed(),
                                  reason="MLflow is not installed (pip install -e '.[mlflow]')")


def full_mlflow() -> bool:
    try:
        importlib.metadata.distribution("mlflow")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


FULL_MLFLOW = full_mlflow()  # read at collection: pytester's in-process runs disturb the lookup


def test_without_mlflow_the_option_says_how_to_install_it(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracker, "mlflow_installed", lambda: False)
    make_project(pytester)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-mlflow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: --modeltests-mlflow: logging runs into MLflow needs MLflow, which is not "
        "installed: pip install 'modeltests[mlflow]' (or pip install 'mlflow-skinny==3.18.*', "
        "enough to log to a folder or a tracking server)"])
    assert_no_traceback(result.stdout.str() + result.stderr.str())


@pytest.fixture(scope="module")
def client_class() -> Any:
    """MlflowClient, imported once before any pytester in-process run of this module (each run
    drops the modules first imported inside it)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient


def logged(client_class: Any, uri: str) -> tuple[Any, Any, list[str]]:
    client = client_class(tracking_uri=uri)
    experiment = client.get_experiment_by_name("modeltests")
    [run] = client.search_runs([experiment.experiment_id])
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "reports")]
    return experiment, run, artifacts


def assert_run_logged(client_class: Any, uri: str, document: dict[str, Any]) -> None:
    experiment, run, artifacts = logged(client_class, uri)
    accuracy = next(c for c in document["checks"] if c["name"] == "accuracy[dev]")
    low, high = accuracy["intervals"]["accuracy"]
    metrics = run.data.metrics
    assert (metrics["sentiment/accuracy.dev/accuracy"],
            metrics["sentiment/accuracy.dev/accuracy.ci_low"],
            metrics["sentiment/accuracy.dev/accuracy.ci_high"]) == (0.875, low, high)
    assert run.data.tags["verdict/sentiment/accuracy.dev"] == "passed"
    assert run.data.tags["verdict/sentiment/availability.smoke"] == "passed"
    assert run.data.tags["modeltests.passing"] == "true"
    params = run.data.params
    assert params["run/fingerprint"] == document["run"]["fingerprint"]["sha256"]
    assert params["model/0/sha256"] == document["run"]["models"][0]["fingerprint"]["sha256"]
    assert params["dataset/sentiment.dev/sha256"] == document["run"]["datasets"][0]["sha256"]
    assert params["seed/suites_sentiment.yaml"] == "0"
    assert "version/python" in params and run.info.status == "FINISHED"
    assert sorted(artifacts) == ["reports/junit.xml", "reports/modeltests.html",
                                 "reports/modeltests.json"]


@needs_mlflow
def test_a_run_is_logged_into_a_local_folder(pytester: pytest.Pytester, client_class: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(pytester)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-mlflow",
                                "--junitxml=reports/junit.xml")
    result.assert_outcomes(passed=2)
    uri = (pytester.path / "mlruns").as_uri()
    result.stdout.fnmatch_lines([f"modeltests: logged to MLflow {uri}: experiment "
                                 "'modeltests' (*), run *"])
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for the opt-in
    assert_run_logged(client_class, uri, read_report(pytester))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on 127.0.0.1 with its SQLite backend (the full mlflow package)."""
    if not FULL_MLFLOW:
        pytest.skip("mlflow server needs the full mlflow package (pip install 'mlflow==3.18.*'); "
                    "the mlflow extra installs mlflow-skinny, which logs but serves nothing")
    import httpx

    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", (folder / "artifacts").as_uri(), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"),
        start_new_session=True)  # its own process group: the server's workers stop with it
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{uri}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: "
                                   f"{(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@needs_mlflow
def test_a_run_is_logged_into_a_tracking_server(pytester: pytest.Pytester, mlflow_server: str,
                                                client_class: Any) -> None:
    make_project(pytester)
    pytester.makeini(f"[pytest]\nmodeltests_mlflow = {mlflow_server}\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider",
                                "--junitxml=reports/junit.xml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"modeltests: logged to MLflow {mlflow_server}: experiment "
                                 "'modeltests' (*), run *"])
    assert_run_logged(client_class, mlflow_server, read_report(pytester))


@needs_mlflow
def test_an_unreachable_server_is_a_warning_in_seconds_and_the_verdicts_stand(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow retries a refused request 7 times over about 4 minutes by default; the run sets
    MLflow's retries and timeout for its call where the user set none."""
    for name in tracker.QUICK_GIVE_UP:
        monkeypatch.delenv(name, raising=False)
    make_project(pytester)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-mlflow", uri)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"*could not log the run to MLflow at {uri}: MlflowException: "
                                 "API request to * failed with exception *; the verdicts above "
                                 "stand"])
    assert_no_traceback(result.stdout.str())
    assert tracker.logging_environment(uri) == tracker.QUICK_GIVE_UP
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")  # the user's own setting wins
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in tracker.logging_environment(uri)
