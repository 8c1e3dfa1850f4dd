"""Each run logged into an MLflow experiment (``--modeltests-mlflow [URI]``, ini
``modeltests_mlflow``): a local ``mlruns`` folder or a tracking server.

What one MLflow run holds, read from the JSON report's document (plain records, as the run
history):

* **params**: the suite files' digests, the model, dataset and run fingerprints, the library
  versions, the suites' seeds;
* **metrics**: every numeric metric of every check as ``<suite>/<kind>.<label>/<metric>``, and
  its 95% interval's ends as ``.../<metric>.ci_low`` and ``.../<metric>.ci_high``;
* **tags**: each check's verdict (``verdict/<suite>/<kind>.<label>``), the run's counts, its
  git commit and branch, and ``modeltests.passing``;
* **artifacts**: the JSON, HTML and JUnit XML reports written by this run.

MLflow is an optional extra (``pip install 'modeltests[mlflow]'``): it is imported here, inside
the function, only when the option asks for it.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from modeltests.errors import ModelTestsError
from modeltests.result import PASSING_OUTCOMES

DEFAULT_URI = "mlruns"
DEFAULT_EXPERIMENT = "modeltests"
INSTALL_HINT = ("pip install 'modeltests[mlflow]' (or pip install 'mlflow-skinny==3.18.*', "
                "enough to log to a folder or a tracking server)")
MAX_BATCH = 1000  # MLflow's limit of metrics in one log_batch call


def mlflow_installed() -> bool:
    """Whether MLflow (full or skinny) can be imported, without importing it."""
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None


class TrackerError(ModelTestsError):
    """The run could not be logged into MLflow (not installed, server unreachable...)."""


def key(*parts: str) -> str:
    """An MLflow metric, param or tag name from ``parts``: characters MLflow refuses (``[``,
    ``]``, ``:``...) become ``_``."""
    return "/".join(re.sub(r"[^\w\-. ]", "_", part).strip(" .") or "_" for part in parts)


def check_key(entry: dict[str, Any]) -> str:
    """``sentiment/accuracy.dev`` for check ``accuracy[dev]`` of ``suites/sentiment.yaml``."""
    suite = Path(str(entry.get("suite") or "tests")).stem
    name = str(entry.get("name") or entry.get("nodeid"))
    return key(suite, name.replace("[", ".").rstrip("]"))


def run_params(document: dict[str, Any]) -> dict[str, str]:
    run = document.get("run") or {}
    params = {key("run", "fingerprint"): str((run.get("fingerprint") or {}).get("sha256"))}
    for suite, digest in ((run.get("fingerprint") or {}).get("suites") or {}).items():
        params[key("suite", suite)] = str(digest)
    for seed_suite, seed in (run.get("seeds") or {}).items():
        params[key("seed", seed_suite)] = str(seed)
    for index, model in enumerate(run.get("models") or []):
        params[key("model", str(index), "sha256")] = str((model.get("fingerprint") or {})
                                                         .get("sha256"))
    for dataset in run.get("datasets") or []:
        name = f"{Path(str(dataset.get('suite'))).stem}.{dataset.get('name')}"
        params[key("dataset", name, "sha256")] = str(dataset.get("sha256"))
    environment = run.get("environment") or {}
    params[key("version", "python")] = str(environment.get("python"))
    for package, version in (environment.get("versions") or {}).items():
        params[key("version", package)] = str(version)
    return params


def run_metrics(document: dict[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for entry in document.get("checks") or []:
        prefix = check_key(entry)
        intervals = entry.get("intervals") or {}
        for metric, value in (entry.get("metrics") or {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            metrics[f"{prefix}/{key(metric)}"] = float(value)
            ends = intervals.get(metric)
            if isinstance(ends, list) and len(ends) == 2 and all(
                    isinstance(v, (int, float)) for v in ends):
                metrics[f"{prefix}/{key(metric)}.ci_low"] = float(ends[0])
                metrics[f"{prefix}/{key(metric)}.ci_high"] = float(ends[1])
    return metrics


def run_tags(document: dict[str, Any], git: dict[str, str | None]) -> dict[str, str]:
    checks = document.get("checks") or []
    tags = {f"verdict/{check_key(entry)}": str(entry.get("outcome")) for entry in checks}
    passing = bool(checks) and all(entry.get("outcome") in PASSING_OUTCOMES for entry in checks)
    tags["modeltests.passing"] = "true" if passing else "false"
    for outcome, count in (document.get("summary") or {}).items():
        tags[f"modeltests.{key(outcome)}"] = str(count)
    if git.get("commit"):
        tags["mlflow.source.git.commit"] = str(git["commit"])
    if git.get("branch"):
        tags["mlflow.source.git.branch"] = str(git["branch"])
    return tags


def log_run(document: dict[str, Any], uri: str, experiment: str, artifacts: list[Path],
            git: dict[str, str | None]) -> tuple[str, str]:
    """Log the run (the JSON report's ``document``) into ``experiment`` at tracking ``uri``
    (created when missing); returns (experiment id, MLflow run id)."""
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise TrackerError(f"--modeltests-mlflow needs MLflow, which is not installed: "
                           f"{INSTALL_HINT}") from None
    try:
        with _environment(logging_environment(uri)):
            return _log(MlflowClient(tracking_uri=uri), document, experiment, artifacts, git,
                        Metric, Param, RunTag)
    except ModelTestsError:
        raise
    except Exception as error:  # MLflow's own errors, a refused connection: one line
        raise TrackerError(f"could not log the run to MLflow at {uri}: "
                           f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
                           ) from None


def tracking_uri(value: str, rootdir: Path) -> str:
    """A URI as given (``http://...``, ``sqlite:///...``, ``file:///...``), or a folder under
    ``rootdir`` as a ``file:`` URI (MLflow's local store)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", value) and not re.match(r"^[a-zA-Z]:[\\/]", value):
        return value
    return (rootdir / value).resolve().as_uri()


QUICK_GIVE_UP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
"""MLflow's HTTP settings while a run is logged to a tracking server, where the user set none:
by default MLflow retries a refused or timed-out request 7 times with a backoff of 2 s, 4 s,
... (about 4 minutes) before it gives up; a release gate's run should warn in seconds."""


def logging_environment(uri: str) -> dict[str, str]:
    """The environment variables :func:`log_run` sets for its call (those the user has not
    set): ``MLFLOW_ALLOW_FILE_STORE`` for a folder (MLflow 3 refuses its folder store unless
    asked: the user named a folder), :data:`QUICK_GIVE_UP` for a tracking server."""
    if uri.startswith("file:"):
        wanted = {"MLFLOW_ALLOW_FILE_STORE": "true"}
    elif uri.startswith(("http:", "https:")):
        wanted = QUICK_GIVE_UP
    else:
        wanted = {}
    return {name: value for name, value in wanted.items() if name not in os.environ}


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` set for this call only."""
    os.environ.update(variables)
    try:
        yield
    finally:
        for name in variables:
            os.environ.pop(name, None)


def _log(client: Any, document: dict[str, Any], experiment: str, artifacts: list[Path],
         git: dict[str, str | None], Metric: Any, Param: Any, RunTag: Any) -> tuple[str, str]:
    """One MLflow run with the params, metrics, tags and artifacts the module describes."""
    import time

    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None \
        else client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name=str((document.get("run") or {})
                                                        .get("started") or "modeltests"))
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    params = [Param(k, v[:6000]) for k, v in run_params(document).items()]
    metrics = [Metric(k, v, now, 0) for k, v in run_metrics(document).items()]
    tags = [RunTag(k, v) for k, v in run_tags(document, git).items()]
    for start in range(0, len(params), 100):  # log_batch's limits: 100 params, 100 tags
        client.log_batch(run_id, params=params[start:start + 100])
    for start in range(0, len(tags), 100):
        client.log_batch(run_id, tags=tags[start:start + 100])
    for start in range(0, len(metrics), MAX_BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + MAX_BATCH])
    for path in artifacts:
        client.log_artifact(run_id, str(path), "reports")
    passing = run_tags(document, git)["modeltests.passing"] == "true"
    client.set_terminated(run_id, "FINISHED" if passing else "FAILED")
    return str(experiment_id), str(run_id)
