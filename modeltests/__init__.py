"""modeltests: release gates for ML models, declared in YAML and run by pytest.

Public API (docs/reference/python-api.md, generated from the docstrings; the how-to pages
docs/how-to/new-check-kind.md and docs/how-to/run-without-pytest.md)::

    from modeltests import CheckParams, CheckResult, CheckKind, CheckContext, threshold
    from modeltests import AdapterParams, AdapterKind, ModelAdapter, Predictions
    from modeltests import run, Session            # run suites outside pytest
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltests.adapters.base import (
    AdapterKind,
    AdapterParams,
    LoadContext,
    ModelAdapter,
    Predictions,
)
from modeltests.context import CheckContext, LoadRecord
from modeltests.errors import (
    DatasetError,
    MissingResourceError,
    ModelLoadError,
    ModelOutputError,
    ModelPredictError,
    ModelTestsError,
    SuiteError,
    UnsupportedCapabilityError,
)
from modeltests.extend.registry import CheckKind, Registry
from modeltests.result import CheckParams, CheckResult, ThresholdResult, threshold

if TYPE_CHECKING:
    from modeltests.api import CheckRecord, RunResult, Session, run

__version__ = "0.1.0"

__all__ = [
    "AdapterKind", "AdapterParams", "CheckContext", "CheckKind", "CheckParams", "CheckRecord",
    "CheckResult", "DatasetError", "LoadContext", "LoadRecord", "MissingResourceError",
    "ModelAdapter", "ModelLoadError", "ModelOutputError", "ModelPredictError", "ModelTestsError",
    "Predictions", "Registry", "RunResult", "Session", "SuiteError", "ThresholdResult",
    "UnsupportedCapabilityError", "run", "threshold",
]

_API = ("CheckRecord", "RunResult", "Session", "run")


def __getattr__(name: str) -> Any:
    # The runner pulls in the suite loader and reports: load it on first use, not with the plugin.
    if name in _API:
        from modeltests import api

        return getattr(api, name)
    raise AttributeError(f"module 'modeltests' has no attribute {name!r}")
