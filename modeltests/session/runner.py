"""Running one check: the single path from a suite entry to a :class:`CheckResult`.

pytest items (:mod:`modeltests.plugin.collect`) and :func:`modeltests.run` both call
:func:`prepare_check` (bad input and model-load errors, before the check runs) and
:func:`execute_check` (the check itself, with every declared threshold gated).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeVar

from modeltests.adapters.base import AdapterParams, ModelAdapter, Predictions
from modeltests.adapters.generation import is_generator
from modeltests.context import CheckContext, CheckIdentity, LoadRecord
from modeltests.data.datasets import Dataset, SliceSpec, check_labels_known, slice_indices
from modeltests.errors import SuiteError
from modeltests.data.inputs import ModelInput
from modeltests.extend.registry import CheckKind
from modeltests.result import (
    CheckParams,
    CheckResult,
    GateMode,
    attach_power,
    gate_declared_thresholds,
    refuse_empty,
    unboundable,
)
from modeltests.session.past import gate_against_past
from modeltests.session.runtime import Runtime
from modeltests.suite.loader import CheckEntry, Suite, model_references

if TYPE_CHECKING:
    from modeltests.cluster.predictions import ModelRecipe
    from modeltests.cluster.streaming import StreamedCounts

T = TypeVar("T")


class SessionContext(CheckContext):
    """The :class:`CheckContext` of a session: every method goes to the :class:`Runtime`."""

    def __init__(self, runtime: Runtime, suite: Suite, entry: CheckEntry,
                 params: CheckParams) -> None:
        identity = CheckIdentity(entry.kind, entry.label, entry.index, entry.line, suite.path)
        super().__init__(identity, params, suite.defaults.gate, suite.defaults.seed,
                         suite.defaults.max_examples)
        self._runtime = runtime
        self._suite = suite

    def model(self, name: str | None = None) -> ModelAdapter:
        return self._runtime.models.model(self._suite, name)

    def model_params(self, name: str | None = None) -> AdapterParams:
        return self._runtime.models.model_params(self._suite, name)[0]

    def load_record(self, name: str | None = None) -> LoadRecord:
        return self._runtime.models.load_record(self._suite, name)

    def dataset(self, name: str) -> Dataset:
        return self._runtime.datasets.dataset(self._suite, name)

    def predictions(self, dataset: str, model: str | None = None) -> Predictions:
        return self._runtime.predictor.predictions(self._suite, dataset, model)

    def predict(self, texts: Sequence[ModelInput], model: str | None = None) -> Predictions:
        return self._runtime.predictor.predict_reusing(self._suite, texts, model,
                                             f"{self.identity.name}: predicting")

    def run_model(self, adapter: ModelAdapter, texts: Sequence[ModelInput]) -> Predictions:
        return self._runtime.predictor.run_model(adapter, texts,
                                       description=f"{self.identity.name}: predicting")

    def call_model(self, adapter: ModelAdapter, action: str, total: int, work: Callable[[], T],
                   description: str = "", locate: bool = True) -> T:
        return self._runtime.predictor.call(adapter, action, total, work,
                                            self.location() if locate else "",
                                            f"{self.identity.name}: {description}"
                                            if description else "")

    def run_derived(self, adapter: ModelAdapter, texts: Sequence[ModelInput],
                    recipe: dict[str, Any]) -> Predictions:
        return self._runtime.predictor.run_derived(self._suite, adapter, texts, recipe, self.identity.name)

    def progress(self, iterable: Iterable[T], description: str, total: int | None = None
                 ) -> Iterator[T]:
        return self._runtime.progress.track(iterable, f"{self.identity.name}: {description}",
                                            total)

    def model_was_used(self, adapter: ModelAdapter) -> bool:
        return self._runtime.predictor.model_was_used(adapter)

    def model_recipe(self, name: str | None = None) -> ModelRecipe:
        return self._runtime.predictor.model_recipe(self._suite, name)

    def streamed_counts(self, dataset: str) -> StreamedCounts | None:
        if dataset not in self._suite.datasets or not self._suite.datasets[dataset].stream:
            return None
        return self._runtime.predictor.streamed_counts(self._suite, dataset)

    def record_executor(self, facts: dict[str, Any]) -> None:
        self._runtime.predictor.executor_facts.append({"suite": self._suite.shown_path,
                                             "check": self.identity.name, **facts})

    def resolve_path(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self._suite.base_dir / candidate

    def location(self, *key: Any) -> str:
        return self._suite.location("checks", self.identity.index, *key)


def check_kind(runtime: Runtime, entry: CheckEntry) -> CheckKind[Any]:
    """The registered kind of a valid entry."""
    kind = runtime.registry.get_check(entry.kind)
    if kind is None or entry.params is None:  # validated at load: a kind unregistered since
        raise SuiteError(f"check kind {entry.kind!r} is not registered", entry.line)
    return kind


def prepare_check(runtime: Runtime, suite: Suite, entry: CheckEntry) -> None:
    """Everything that must hold before a check runs, or the located error that says why not.

    Invalid entries, a model that fails to load, and a dataset that cannot be read or whose
    labels the model lacks are errors in the input (pytest's ERROR), not verdicts on the model.
    """
    if entry.problems or suite.problems:
        raise _entry_problems(suite, entry)
    kind = check_kind(runtime, entry)
    labels = None
    if kind.needs_model:
        model = runtime.models.model(suite)
        _check_task(suite, entry, kind, model)
        labels = None if is_generator(model) else model.labels
    if labels is not None:
        _check_same_labels(runtime, suite, entry, labels)
    name = getattr(entry.params, "dataset", None)
    if isinstance(name, str) and name in suite.datasets and suite.datasets[name].stream:
        _prepare_streamed(runtime, suite, entry, kind, name, labels is not None)
    elif isinstance(name, str) and name in suite.datasets:
        dataset = runtime.datasets.dataset(suite, name)
        _check_slices(suite, entry, dataset)
        if labels is not None:
            _check_dataset_inputs(suite, name, model)
            check_labels_known(dataset, labels, suite.location("datasets", name))
            if suite.datasets[name].executor != "local":
                # The cluster works at setup: an unreachable cluster or a crashed worker is an
                # ERROR in the run, not a verdict on the model.
                runtime.predictor.predictions(suite, name)
    if kind.prepare is not None and entry.params is not None:
        kind.prepare(SessionContext(runtime, suite, entry, entry.params), entry.params)


def _entry_problems(suite: Suite, entry: CheckEntry) -> SuiteError:
    """The check's own problems first, then those it shares with other checks (a missing dataset
    file) and the suite's (the model section): the summary shows an error's first line, and a
    shared problem must not hide each check's own."""
    others = {p for other in suite.checks if other is not entry for p in other.problems}
    own = [p for p in entry.problems if p not in others]
    shared = [p for p in entry.problems if p in others]
    suite_wide = [p for p in suite.problems if p not in entry.problems]
    parts = [part for part in (own, shared, suite_wide) if part]
    return SuiteError("\n".join(suite.render_problems(part) for part in parts),
                      min(p.line for p in parts[0]))


def _check_slices(suite: Suite, entry: CheckEntry, dataset: Dataset) -> None:
    """A slice that selects no row (a value its column never holds, conditions no row meets) is
    a located ERROR at setup, naming what the column holds: never a verdict on no rows."""
    for index, spec in enumerate(getattr(entry.params, "slices", None) or []):
        if isinstance(spec, SliceSpec):
            slice_indices(dataset, spec, suite.location("checks", entry.index, "slices", index))


def _prepare_streamed(runtime: Runtime, suite: Suite, entry: CheckEntry, kind: CheckKind[Any],
                      name: str, count: bool) -> None:
    """A check on a streamed dataset (``stream: true``) must read it from counts (its kind's
    ``streams`` says so for these parameters); the counts are made here, at setup, so that a
    cluster problem is an ERROR, not a verdict."""
    why = "it reads the dataset's rows" if kind.streams is None else kind.streams(entry.params)
    if why is not None:
        where = suite.location("checks", entry.index, "dataset")
        raise SuiteError(
            f"{where}: checks[{entry.index}] ({entry.kind}) cannot run on dataset {name!r}: "
            f"{why}, and the dataset has 'stream: true' "
            f"({suite.location('datasets', name, 'stream')}), which keeps no row in this "
            f"process. Streamed datasets serve accuracy without slices; for this check, drop "
            "'stream: true' (executor: ray still predicts on the cluster) or declare the file "
            "again as another dataset", suite.line_of("checks", entry.index, "dataset"))
    if count:
        runtime.predictor.streamed_counts(suite, name)


GENERATIVE_KINDS_HINT = ("perplexity, completion, choice, format, degeneration, "
                         "generation_robustness")


def _check_task(suite: Suite, entry: CheckEntry, kind: CheckKind[Any], model: ModelAdapter
                ) -> None:
    """A classifier given to a generation kind, or a generator to a classification kind, is an
    ERROR in the suite at setup (before the model runs), located at the check's ``kind``."""
    _check_inputs(suite, entry, kind, model)
    generates = is_generator(model)
    if kind.task == "any" or generates == (kind.task == "generation"):
        return
    where = suite.location("checks", entry.index, "kind")
    if generates:
        raise SuiteError(
            f"{where}: checks[{entry.index}].kind: {kind.name!r} checks a classifier (labels "
            f"out), and the suite's model generates text ({type(model).__name__}, task: "
            f"text-generation); for a generator use one of the generative kinds "
            f"({GENERATIVE_KINDS_HINT}, ...)", entry.line)
    raise SuiteError(
        f"{where}: checks[{entry.index}].kind: {kind.name!r} checks a model that generates "
        f"text, and the suite's model predicts labels ({type(model).__name__}); load a "
        f"generator (e.g. adapter: transformers with task: text-generation)", entry.line)


def _check_inputs(suite: Suite, entry: CheckEntry, kind: CheckKind[Any], model: ModelAdapter
                  ) -> None:
    """An image classifier given a kind that writes texts, or a text model given a kind that
    edits pixels, is an ERROR in the suite at setup, located at the check's ``kind``."""
    given = getattr(model, "inputs", "text")
    if kind.inputs in ("any", given):
        return
    where = suite.location("checks", entry.index, "kind")
    if given == "image":
        raise SuiteError(
            f"{where}: checks[{entry.index}].kind: {kind.name!r} gives the model texts, and "
            f"the suite's model classifies images ({type(model).__name__}, task: "
            f"image-classification); for images use accuracy, calibration, coverage, "
            f"regression, availability, invariance (image edits), quantization, pruning, "
            f"footprint, latency or the image kinds ({IMAGE_KINDS_HINT})", entry.line)
    raise SuiteError(
        f"{where}: checks[{entry.index}].kind: {kind.name!r} edits images, and the suite's "
        f"model reads texts ({type(model).__name__}); load an image classifier (adapter: torch "
        f"with task: image-classification)", entry.line)


IMAGE_KINDS_HINT = "adversarial, corruption"


def _check_dataset_inputs(suite: Suite, name: str, model: ModelAdapter) -> None:
    """A dataset of images given to a text model (it would classify the images' names), or a
    text dataset given to an image classifier, is an ERROR at setup, located at the dataset."""
    images = suite.datasets[name].image is not None
    reads_images = getattr(model, "inputs", "text") == "image"
    if images == reads_images:
        return
    where = suite.location("datasets", name)
    if images:
        raise SuiteError(f"{where}: datasets.{name} is a dataset of images (it has an 'image' "
                         f"section), and the suite's model reads texts "
                         f"({type(model).__name__}); load an image classifier (adapter: torch "
                         "with task: image-classification)", suite.line_of("datasets", name))
    raise SuiteError(f"{where}: datasets.{name} is a dataset of texts, and the suite's model "
                     f"classifies images ({type(model).__name__}); declare the dataset's "
                     "images with an 'image' section (channels, size, mean, std)",
                     suite.line_of("datasets", name))


def _check_same_labels(runtime: Runtime, suite: Suite, entry: CheckEntry,
                       labels: list[str]) -> None:
    """A model a check compares with row by row (``regression``'s ``baseline``) must predict the
    same label names as the suite's model, in any order."""
    if entry.params is None:
        return
    for field, rule in model_references(type(entry.params)).items():
        other = getattr(entry.params, field, None)
        if rule != "same-labels" or not isinstance(other, str):
            continue
        own = runtime.models.model(suite, other).labels
        if sorted(own) != sorted(labels):
            location = suite.location("checks", entry.index, field)
            raise SuiteError(
                f"{location}: checks[{entry.index}].{field}: model {other!r} predicts the labels "
                f"{own} and the suite's model {labels}; the two must predict the same labels "
                f"(set models.{other}.labels to the suite model's names, in any order)")


def execute_check(runtime: Runtime, suite: Suite, entry: CheckEntry) -> CheckResult:
    """Run a prepared check; declared thresholds it did not evaluate are gated here."""
    kind = check_kind(runtime, entry)
    assert entry.params is not None
    context = SessionContext(runtime, suite, entry, entry.params)
    runtime.start_check()
    result = kind.run(context, entry.params)
    if not isinstance(result, CheckResult):
        raise TypeError(f"check kind {kind.name!r} returned {type(result).__name__}, "
                        "not a CheckResult")
    result.warnings.extend(note for note in runtime.models.notes()
                           if note not in result.warnings)
    if result.torch_threads is None:
        from modeltests.measure.timing import current_torch_threads

        result.torch_threads = current_torch_threads()
    if result.skip_reason is None:
        gate_declared_thresholds(entry.params, result, context.gate)
        _gate_against_past(runtime, suite, entry, result, context.gate)
        refuse_empty(result)
        _refuse_unboundable(context, result)
        if runtime.undecided == "fail":
            # Its message already reads "..., but undecided: it does not pass".
            for threshold in result.undecided():
                threshold.passed = False
        attach_power(result)
    return result


def _gate_against_past(runtime: Runtime, suite: Suite, entry: CheckEntry, result: CheckResult,
                       mode: GateMode) -> None:
    """The check's ``history_gate`` against its baseline run; the per-example outcomes are kept
    in the reports only for a check that has one (a later run pairs with them)."""
    assert entry.params is not None
    gate = entry.params.history_gate
    if gate is None:
        result.outcomes, result.outcomes_digest = {}, None
        return
    name = f"{entry.kind}[{entry.label}]"
    baseline = (runtime.past(suite.shown_path, name, gate.baseline) if runtime.past is not None
                else "this session reads no run history (pytest --modeltests-no-history, "
                   "or modeltests.run)")
    from modeltests.support.environment import environment_fingerprint, machine_digest

    machine = machine_digest(environment_fingerprint())
    result.thresholds.extend(gate_against_past(gate, result, baseline, mode, entry.kind,
                                               machine))


def _refuse_unboundable(context: SessionContext, result: CheckResult) -> None:
    """``gate: bound`` on a metric without an interval is an error in the suite, not a silent
    fall back to the estimate."""
    for threshold in unboundable(result.thresholds):
        key = threshold.key.rsplit(".", 1)[-1]
        raise context.error(key, f"gate 'bound' needs a 95% interval for '{threshold.metric}', "
                                 "and this check computes none for it; use gate: estimate for "
                                 "this check (the estimate then decides)")


PACKAGE_DIR = Path(__file__).resolve().parent
MAX_FRAMES = 6


def internal_error_message(error: BaseException, name: str) -> str:
    """One short message for an exception that is not a :class:`ModelTestsError`: what was
    raised, where (the frames below the runner, pytest's and pluggy's left out), and whose code
    it is: a modeltests frame is a bug to report; any other is the check's or model's own code.
    """
    frames = list(traceback.extract_tb(error.__traceback__))
    below = [i for i, frame in enumerate(frames) if Path(frame.filename).resolve() == _THIS]
    frames = frames[below[-1] + 1:] if below else frames
    origin = frames[-1] if frames else None
    ours = origin is not None and PACKAGE_DIR in Path(origin.filename).resolve().parents
    if ours:
        whose = "this is a bug in modeltests: please report it with this message"
    elif origin is not None:
        whose = f"raised by code outside modeltests ({origin.filename}:{origin.lineno})"
    else:
        whose = "raised before the check started"
    lines = [f"{name}: internal error: {type(error).__name__}: {error}", f"  {whose}"]
    for frame in frames[-MAX_FRAMES:]:
        lines.append(f"  at {_shown(frame.filename)}:{frame.lineno} in {frame.name}: "
                     f"{(frame.line or '').strip()}")
    return "\n".join(lines)


_THIS = Path(__file__).resolve()


def _shown(filename: str) -> str:
    path = Path(filename).resolve()
    if PACKAGE_DIR in path.parents:
        return str(path.relative_to(PACKAGE_DIR.parent))
    return filename
