"""One run's state, composed: suites, servers, models, datasets and the predictor, each computed
once per session.

One :class:`Runtime` serves a whole session, whether pytest runs it (kept in ``config.stash``)
or :func:`modeltests.run` does. It only composes the parts and owns the suites; every check and
user test reaches the parts through :class:`~modeltests.context.CheckContext` (or the fixture):
``runtime.models`` (:class:`~modeltests.session.models.ModelStore`), ``runtime.datasets``
(:class:`~modeltests.session.datasets.DatasetStore`), ``runtime.servers``
(:class:`~modeltests.session.servers.ServerPool`) and ``runtime.predictor``
(:class:`~modeltests.session.predictor.Predictor`, which receives the models and datasets it
predicts with).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

from modeltests.extend.registry import Registry
from modeltests.predictions.cache import PredictionCache
from modeltests.session.datasets import DatasetStore
from modeltests.session.models import ModelStore
from modeltests.session.past import PastLookup
from modeltests.session.predictor import Predictor
from modeltests.session.servers import ServerPool
from modeltests.suite.loader import Suite, load_suite
from modeltests.support.progress import Progress, Silent
from modeltests.support.redaction import Redactor


@dataclass
class Runtime:
    """The session's parts, composed once."""

    registry: Registry
    rootdir: Path
    suspend_capture: Callable[[], ContextManager[Any]] | None = None
    undecided: str = "fail"
    """What a threshold the sample cannot decide means: ``fail`` (the default: it fails, as a
    release gate must not pass on a coin flip) or ``gate`` (each check's ``gate`` decides:
    ``estimate`` by the measured value; ``--modeltests-undecided=gate``)."""
    redactor: Redactor = field(default_factory=Redactor)
    """Secrets the adapters read from the environment; every report masks them."""
    progress: Progress = field(default_factory=Silent)
    """Where long work shows its progress; the front end chooses (pytest's terminal, stderr)."""
    prediction_cache: PredictionCache | None = None
    """Whole-dataset predictions kept across runs (None: never read nor written)."""
    save_predictions: Path | None = None
    """Where whole-dataset predictions are saved as Parquet (``--modeltests-save-predictions``),
    for a later run's ``regression`` ``baseline_predictions:``; None saves nothing."""
    past: PastLookup | None = None
    """Finds a check's earlier recorded run for its ``history_gate`` (the front end reads the
    run history); None: this session reads no history, and every history gate is undecided."""
    _suites: dict[Path, Suite] = field(default_factory=dict)
    servers: ServerPool = field(init=False)
    models: ModelStore = field(init=False)
    datasets: DatasetStore = field(init=False)
    predictor: Predictor = field(init=False)

    def __post_init__(self) -> None:
        self.servers = ServerPool(self._capture_suspended)
        self.models = ModelStore(self.registry, self.rootdir, self.redactor, self.servers,
                                 self._capture_suspended, self.progress)
        self.datasets = DatasetStore()
        self.predictor = Predictor(self.models, self.datasets, self._capture_suspended,
                                   self.progress, self.prediction_cache, self.save_predictions)

    def load_suite(self, path: Path) -> Suite:
        """The suite at ``path``, read and validated once per session (problems kept on it)."""
        key = path.resolve()
        if key not in self._suites:
            self._suites[key] = load_suite(key, self.registry, self.rootdir)
        return self._suites[key]

    def suite(self, path: Path) -> Suite:
        """The valid suite at ``path``, or a :class:`SuiteError` listing its problems."""
        return self.load_suite(path).require_valid()

    def suites(self) -> list[Suite]:
        """Every suite this session read, in the order it read them."""
        return list(self._suites.values())

    def start_check(self) -> None:
        """A check (or a test using the fixture) begins: models reset their per-check state."""
        self.models.start_check()


    def close(self) -> None:
        """Release every loaded model and stop every server (end of session); a server is
        stopped even when a model's close() raised."""
        try:
            self.models.close()
        finally:
            self.servers.stop_all()

    def _capture_suspended(self) -> ContextManager[Any]:
        return self.suspend_capture() if self.suspend_capture is not None else nullcontext()
