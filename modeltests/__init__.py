"""modeltests: release gates for ML models, declared in YAML and run by pytest.

Public API for extensions (see the README's "Extend" section)::

    from modeltests import CheckParams, CheckResult, CheckKind, threshold
    from modeltests import AdapterParams, AdapterKind, ModelAdapter, Predictions
"""

from __future__ import annotations

from modeltests.adapters.base import AdapterKind, AdapterParams, LoadContext, ModelAdapter, Predictions
from modeltests.checks.base import CheckKind, CheckParams, CheckResult, ThresholdResult, threshold
from modeltests.context import CheckContext
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
from modeltests.registry import Registry

__version__ = "0.1.0"

__all__ = [
    "AdapterKind", "AdapterParams", "CheckContext", "CheckKind", "CheckParams", "CheckResult",
    "DatasetError", "LoadContext", "MissingResourceError", "ModelAdapter", "ModelLoadError",
    "ModelOutputError", "ModelPredictError", "ModelTestsError", "Predictions", "Registry",
    "SuiteError", "ThresholdResult", "UnsupportedCapabilityError", "threshold",
]
