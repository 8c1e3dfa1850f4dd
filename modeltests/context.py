"""What a check sees while it runs: its suite, its parameters and the shared session caches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from modeltests.checks.base import CheckParams, GateMode, ThresholdResult, evaluate_thresholds
from modeltests.errors import SuiteError

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.data import Dataset
    from modeltests.runtime import LoadRecord, Runtime
    from modeltests.suite.loader import CheckEntry, Suite


@dataclass
class CheckContext:
    """Handed to ``run(context, params)`` of every check kind.

    Use :meth:`model`, :meth:`dataset` and :meth:`predictions` rather than calling the model
    directly: they are cached for the session and turn model failures into clear messages.
    """

    runtime: Runtime
    suite: Suite
    entry: CheckEntry
    params: CheckParams

    @property
    def seed(self) -> int:
        """The check's ``seed`` if it has one, else the suite's ``defaults.seed``."""
        own = getattr(self.params, "seed", None)
        return int(own) if own is not None else self.suite.defaults.seed

    @property
    def gate(self) -> GateMode:
        return self.params.gate or self.suite.defaults.gate

    @property
    def max_examples(self) -> int:
        return self.suite.defaults.max_examples

    def model(self, name: str | None = None) -> ModelAdapter:
        """The suite's model (loaded once per session), or one of its named ``models:``."""
        return self.runtime.model(self.suite, name)

    def load_record(self, name: str | None = None) -> LoadRecord:
        return self.runtime.load_record(self.suite, name)

    def dataset(self, name: str) -> Dataset:
        """A dataset declared under ``datasets:`` (read once per session)."""
        return self.runtime.dataset(self.suite, name)

    def predictions(self, dataset: str, model: str | None = None) -> Predictions:
        """Model predictions on a whole dataset, computed once per session and shared."""
        return self.runtime.predictions(self.suite, dataset, model)

    def predict(self, texts: Sequence[str], model: str | None = None) -> Predictions:
        """Validated predictions on arbitrary texts. Texts of a dataset whose predictions this
        session already computed reuse those rows; the model runs on the others only."""
        return self.runtime.predict_reusing(self.suite, texts, model)

    def location(self, *key: Any) -> str:
        """``suite.yaml:LINE`` of a key inside this check (or of the check itself)."""
        return self.suite.location("checks", self.entry.index, *key)

    def error(self, key: str, message: str) -> SuiteError:
        """A located error about one of this check's parameters, to ``raise``."""
        return SuiteError(f"{self.location(key)}: checks[{self.entry.index}].{key}: {message}")

    def evaluate(
        self,
        metrics: dict[str, float],
        intervals: dict[str, tuple[float, float]] | None = None,
        scope: str = "",
        params: Any = None,
        limits: list[tuple[str, str, float]] | None = None,
    ) -> list[ThresholdResult]:
        """Apply this check's ``min_*`` / ``max_*`` thresholds (or ``params``') to ``metrics``."""
        return evaluate_thresholds(params or self.params, metrics, intervals, self.gate, scope,
                                   limits)

    def progress(self, iterable: Iterable[Any], description: str, total: int | None = None
                 ) -> Iterable[Any]:
        """Wrap a long loop in a progress bar (shown only with ``-v`` and no capture)."""
        return iterable
