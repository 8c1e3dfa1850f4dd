"""The ``modeltests`` fixture: a suite's model in a plain Python test, loaded once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pytest

from modeltests.adapters.base import ModelAdapter, Predictions
from modeltests.data.datasets import Dataset
from modeltests.data.inputs import ModelInput
from modeltests.session.runtime import Runtime
from modeltests.suite.loader import Suite


class ModelTestsFixture:
    """Handle returned by the ``modeltests`` fixture.

    Paths are relative to the rootdir (or the test file's directory). Metrics recorded with
    :meth:`record` appear next to the suite checks in the JSON and HTML reports.
    """

    def __init__(self, runtime: Runtime, request: pytest.FixtureRequest) -> None:
        self.runtime = runtime
        self.request = request
        self.metrics: dict[str, float] = {}
        self.suites: list[str] = []
        runtime.start_check()  # each test starts with fresh per-check model state

    def suite(self, path: str | Path) -> Suite:
        """The validated suite at ``path``."""
        suite = self.runtime.suite(self._resolve(path))
        if suite.shown_path not in self.suites:
            self.suites.append(suite.shown_path)
        return suite

    def model(self, path: str | Path, name: str | None = None) -> ModelAdapter:
        """The suite's loaded model: the same object its checks use (loaded once)."""
        return self.runtime.models.model(self.suite(path), name)

    def predict(self, path: str | Path, texts: Sequence[ModelInput]) -> Predictions:
        """Validated predictions of the suite's model on ``texts``."""
        suite = self.suite(path)
        return self.runtime.predictor.run_model(self.runtime.models.model(suite), texts, suite.location("model"))

    def predictions(self, path: str | Path, dataset: str) -> Predictions:
        """Cached predictions of the suite's model on one of its datasets."""
        return self.runtime.predictor.predictions(self.suite(path), dataset)

    def dataset(self, path: str | Path, name: str) -> Dataset:
        """One of the suite's datasets (read once per session)."""
        return self.runtime.datasets.dataset(self.suite(path), name)

    def record(self, **metrics: float) -> dict[str, Any]:
        """Record metrics for the report; called with no argument, returns the report fields."""
        self.metrics.update(metrics)
        return {"metrics": dict(self.metrics), "suite": ", ".join(self.suites) or None}

    def _resolve(self, path: str | Path) -> Path:
        candidate = Path(path)
        if candidate.is_absolute():
            return candidate
        for base in (self.runtime.rootdir, Path(str(self.request.path)).parent, Path.cwd()):
            if (base / candidate).is_file():
                return base / candidate
        return self.runtime.rootdir / candidate
