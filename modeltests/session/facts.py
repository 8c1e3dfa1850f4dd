"""What one process of a run knows of it: the models it loaded (with their fingerprints), their
devices, the suites and their seeds, the datasets and prediction sources it read. Plain JSON-ready
records for the JSON report; a pytest-xdist worker sends its own to the
controller as they are."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from modeltests.predictions.fingerprints import model_fingerprint
from modeltests.support.jsonable import jsonable
from modeltests.support.digests import path_digest
from modeltests.support.environment import environment_fingerprint

if TYPE_CHECKING:
    from modeltests.adapters.base import AdapterParams, ModelAdapter
    from modeltests.session.runtime import Runtime


def run_facts(runtime: Runtime) -> dict[str, Any]:
    """What this process knows of the run: the models it loaded, their devices, the seeds of the
    suites it read, its environment (torch's threads once torch is in use). JSON-ready and with
    secrets masked: a pytest-xdist worker sends it to the controller as it is."""
    return runtime.redactor.mask({
        "environment": environment_fingerprint(),
        "devices": sorted({str(record.adapter.device) for _, record in runtime.models.loaded_models()
                           if record.adapter is not None}),
        "seeds": {suite.shown_path: suite.defaults.seed for suite in runtime.suites()},
        "suites": {suite.shown_path: path_digest(suite.path) for suite in runtime.suites()
                   if suite.path.is_file()},
        "models": _models(runtime),
        "datasets": [{"suite": suite.shown_path, **dataset.provenance()}
                     for suite, dataset in runtime.datasets.loaded()]
        + list(runtime.predictor.streamed_files),
        "predictions": runtime.predictor.prediction_sources(),
        "executors": list(runtime.predictor.executor_facts),
    })


def _models(runtime: Runtime) -> list[dict[str, Any]]:
    models = []
    for params, record in runtime.models.loaded_models():
        facts: dict[str, Any] = {"key": params.model_dump_json()}
        if record.adapter is not None:
            try:
                facts.update(record.adapter.describe())
            except Exception as exc:  # a user's describe() must not lose the report
                facts["describe_error"] = f"{type(exc).__name__}: {exc}"
            facts["fingerprint"] = _model_digest(params, record.adapter)
            facts["load_seconds"] = round(record.seconds, 3)
            if record.server is not None:
                facts["server"] = record.server
            if record.build_seconds:
                facts["build_seconds"] = round(record.build_seconds, 3)
        else:
            facts["load_error"] = str(record.error)
        models.append(json.loads(json.dumps(facts, default=jsonable)))
    return models


def _model_digest(params: AdapterParams, adapter: ModelAdapter) -> dict[str, Any]:
    """The model's fingerprint without its parameters in clear (they are in ``key``, masked)."""
    try:
        found = model_fingerprint(params, adapter)
    except OSError as exc:  # an unreadable model file must not lose the report
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {key: found[key] for key in ("sha256", "files", "files_known")}


