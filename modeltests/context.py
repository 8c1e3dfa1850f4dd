"""What a check sees while it runs: the only door from a check to the session.

A check kind's ``run(context, params)`` reaches models, datasets, predictions, paths and its own
location through a :class:`CheckContext` and nothing else, so a check never depends on how the
session is kept (pytest, :func:`modeltests.run`, a benchmark). The session's implementation lives
in :mod:`modeltests.session.runtime`; a test of a user's check may pass any subclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeVar

from modeltests.errors import ModelTestsError, SuiteError, UnsupportedCapabilityError
from modeltests.data.inputs import ModelInput
from modeltests.result import CheckParams, GateMode, ThresholdResult, evaluate_thresholds

if TYPE_CHECKING:
    from pydantic import BaseModel

    from modeltests.adapters.base import AdapterParams, ModelAdapter, Predictions
    from modeltests.adapters.generation import (ContinuationScore, DocumentScore, Generation,
                                                GenerationRequest, TextGenerator, TokenLogprobs)
    from modeltests.data.tags import TagPredictions
    from modeltests.data.datasets import Dataset
    from modeltests.cluster.predictions import ModelRecipe
    from modeltests.cluster.streaming import StreamedCounts

T = TypeVar("T")


@dataclass(frozen=True)
class LoadRecord:
    """How a model load went: the adapter, or the error that every check will show.

    ``seconds`` is the load itself (a served model's server start not counted: see
    ``server_start_seconds``); ``build_seconds`` the one-time build of a built-in model
    (``builtin:...``) that preceded it, which a load-time gate must not count.
    """

    adapter: ModelAdapter | None = None
    error: ModelTestsError | None = None
    seconds: float = 0.0
    rss_delta_bytes: int | None = None
    build_seconds: float = 0.0
    server: dict[str, Any] | None = None
    """The suite's ``serve:`` server behind this model (command, ports, pid, cold start)."""
    server_start_seconds: float | None = None
    """The server's cold start: from its start to its first 200 on ``ready_url``."""


@dataclass(frozen=True)
class CheckIdentity:
    """Which check of which suite is running: ``kind[label]``, its index and YAML line."""

    kind: str
    label: str
    index: int
    line: int
    suite_path: Path

    @property
    def name(self) -> str:
        """The test name, ``kind[label]``."""
        return f"{self.kind}[{self.label}]"


class CheckContext(ABC):
    """Handed to ``run(context, params)`` of every check kind.

    Use :meth:`model`, :meth:`dataset` and :meth:`predictions` rather than calling the model
    directly: they are cached for the session and turn model failures into clear messages.
    """

    def __init__(self, identity: CheckIdentity, params: CheckParams, gate: GateMode, seed: int,
                 max_examples: int) -> None:
        self.identity = identity
        self.params = params
        self._gate = gate
        self._seed = seed
        self._max_examples = max_examples

    # -- settings -------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        """The check's ``seed`` if it has one, else the suite's ``defaults.seed``."""
        own = getattr(self.params, "seed", None)
        return int(own) if own is not None else self._seed

    @property
    def gate(self) -> GateMode:
        """``estimate`` or ``bound``: the check's own ``gate``, else the suite's default."""
        return self.params.gate or self._gate

    @property
    def max_examples(self) -> int:
        """How many failing examples a check keeps for the reports."""
        return self._max_examples

    # -- the session ----------------------------------------------------------------------------
    @abstractmethod
    def model(self, name: str | None = None) -> ModelAdapter:
        """The suite's model (loaded once per session), or one of its named ``models:``."""

    @abstractmethod
    def model_params(self, name: str | None = None) -> AdapterParams:
        """The validated ``model:`` section (or a named model's), e.g. for its ``batch_size``."""

    @abstractmethod
    def load_record(self, name: str | None = None) -> LoadRecord:
        """How loading the model went: seconds, memory, or the error."""

    @abstractmethod
    def dataset(self, name: str) -> Dataset:
        """A dataset declared under ``datasets:`` (read once per session)."""

    @abstractmethod
    def predictions(self, dataset: str, model: str | None = None) -> Predictions:
        """Model predictions on a whole dataset, computed once per session and shared."""

    @abstractmethod
    def predict(self, texts: Sequence[ModelInput], model: str | None = None) -> Predictions:
        """Validated predictions on arbitrary texts. Texts of a dataset whose predictions this
        session already computed reuse those rows; the model runs on the others only."""

    @abstractmethod
    def run_model(self, adapter: ModelAdapter, texts: Sequence[ModelInput]) -> Predictions:
        """Run ``adapter`` (the suite's model or a copy, e.g. quantized) on ``texts`` now, with
        no reuse, and validate the answer; model errors become :class:`ModelTestsError`."""

    def run_derived(self, adapter: ModelAdapter, texts: Sequence[ModelInput],
                    recipe: dict[str, Any]) -> Predictions:
        """Run ``adapter``, a copy of the suite's model made from its weights by a
        deterministic ``recipe`` (e.g. ``{"compression": "int8_dynamic"}``), on ``texts``. The
        session may reuse predictions an earlier run stored under the same source model,
        recipe, batching, texts and library versions (the prediction cache); by default it
        runs the model, as :meth:`run_model` does. Never use it to time a model."""
        return self.run_model(adapter, texts)

    def call_model(self, adapter: ModelAdapter, action: str, total: int, work: Callable[[], T],
                   description: str = "", locate: bool = True) -> T:
        """Run ``work`` (one call of ``adapter``, validated) as the session runs every model
        call: counted as used, its batches shown as progress under ``description``, a model's
        exception turned into a :class:`~modeltests.errors.ModelPredictError`, located at the
        check unless ``locate`` is False (a check that collects failures on odd inputs as its
        finding). The methods below use it; a check rarely needs it directly."""
        return work()

    # -- token classifiers ------------------------------------------------------------------------
    def run_tagger(self, adapter: ModelAdapter, words: Sequence[Sequence[str]],
                   locate: bool = True) -> TagPredictions:
        """Tag ``words`` (sentences of words) with ``adapter`` (a token classifier) now,
        validated: one tag per word, every tag a label of the model (errors located at the
        check unless ``locate`` is False)."""
        from modeltests.data.tags import is_tagger, validate_tags

        if not is_tagger(adapter):
            raise UnsupportedCapabilityError(f"{type(adapter).__name__} tags no words (it is "
                                             "not a token-classification model)")
        return self.call_model(adapter, "predict_tags", len(words),
                               lambda: validate_tags(adapter.predict_tags(words), words,
                                                     adapter.labels), locate=locate)

    # -- generators -------------------------------------------------------------------------------
    def generator(self, name: str | None = None, key: str = "model") -> TextGenerator:
        """The suite's model (or ``models.<name>``) as a text generator; a located error at
        ``key`` when it predicts labels instead."""
        from modeltests.adapters.generation import is_generator

        model = self.model(name)
        if not is_generator(model):
            which = "the suite's model" if name is None else f"model {name!r}"
            raise self.error(key, f"{self.identity.kind} needs a model that generates text "
                             f"(task: text-generation); {which} is a "
                             f"{getattr(model, 'task', 'classifier')} "
                             f"({type(model).__name__}), which predicts labels")
        return model

    def generate(self, prompts: Sequence[str], request: GenerationRequest,
                 model: str | None = None, adapter: TextGenerator | None = None,
                 description: str = "generating") -> list[Generation]:
        """Generations of the suite's model (or ``models.<name>``, or ``adapter``, e.g. a
        compressed copy) for ``prompts``, validated: one per prompt, text that is valid UTF-8,
        at most ``request.max_new_tokens`` tokens."""
        from modeltests.adapters.generation import validate_generations

        chosen = adapter if adapter is not None else self.generator(model)
        return self.call_model(chosen, "generate", len(prompts),
                               lambda: validate_generations(chosen.generate(list(prompts), request),
                                                            prompts, request), description)

    def score(self, pairs: Sequence[tuple[str, str]], model: str | None = None,
              adapter: TextGenerator | None = None, description: str = "scoring"
              ) -> list[ContinuationScore]:
        """``log p(continuation | context)`` of each pair under the suite's model (or
        ``models.<name>``, or ``adapter``), validated: one finite score per pair."""
        from modeltests.adapters.generation import validate_scores

        chosen = adapter if adapter is not None else self.generator(model)
        return self.call_model(chosen, "score", len(pairs),
                               lambda: validate_scores(chosen.score(list(pairs)), pairs),
                               description)

    def rolling_logprob(self, texts: Sequence[str], stride: int | None = None,
                        model: str | None = None, adapter: TextGenerator | None = None,
                        description: str = "scoring documents") -> list[DocumentScore]:
        """Each document's log-probability under the suite's model (or ``models.<name>``, or
        ``adapter``), in windows predicting ``stride`` new tokens each (see
        :meth:`~modeltests.adapters.generation.TextGenerator.rolling_logprob`), validated."""
        from modeltests.adapters.generation import validate_document_scores

        chosen = adapter if adapter is not None else self.generator(model)
        return self.call_model(chosen, "rolling_logprob", len(texts),
                               lambda: validate_document_scores(
                                   chosen.rolling_logprob(list(texts), stride), texts),
                               description)

    def token_logprobs(self, texts: Sequence[str], model: str | None = None,
                       adapter: TextGenerator | None = None, description: str = "scoring"
                       ) -> list[TokenLogprobs]:
        """Next-token distributions over each text (see
        :class:`~modeltests.adapters.generation.TokenLogprobs`), validated: finite, one per
        text."""
        from modeltests.adapters.generation import validate_token_logprobs

        chosen = adapter if adapter is not None else self.generator(model)
        return self.call_model(chosen, "token_logprobs", len(texts),
                               lambda: validate_token_logprobs(
                                   chosen.token_logprobs(list(texts)), texts), description)

    @abstractmethod
    def model_was_used(self, adapter: ModelAdapter) -> bool:
        """Whether ``adapter`` already answered in this session (so a first call is not cold)."""

    def progress(self, iterable: Iterable[T], description: str, total: int | None = None
                 ) -> Iterator[T]:
        """Iterate ``iterable`` (an attack's examples, a sweep's configurations), counting each
        item as done; the session shows long work as a progress bar on the terminal (``total``
        defaults to ``len(iterable)``). Model calls through :meth:`predictions`,
        :meth:`predict` and :meth:`run_model` report their batches without this."""
        return iter(iterable)

    def model_recipe(self, name: str | None = None) -> ModelRecipe:
        """What another process (a Ray actor) needs to load the suite's model (or a named one)
        exactly as this session did: the adapter kind, the ``model:`` parameters, the paths
        they resolve against (:class:`modeltests.cluster.predictions.ModelRecipe`)."""
        raise ModelTestsError(f"{self.location()}: this session cannot hand its model to "
                              "other processes (executor: ray)")

    def record_executor(self, facts: dict[str, Any]) -> None:
        """Note work this check handed to another executor (rows, workers, seconds per stage):
        the JSON and HTML reports list it under ``run.executors``."""

    def streamed_counts(self, dataset: str) -> StreamedCounts | None:
        """The (expected, predicted) counts of a dataset marked ``stream: true``, computed once
        per session on Ray without loading it here; None for a dataset held in memory."""
        return None

    @abstractmethod
    def resolve_path(self, path: str) -> Path:
        """A path from the suite, made absolute against the suite file's directory."""

    @abstractmethod
    def location(self, *key: Any) -> str:
        """``suite.yaml:LINE`` of a key inside this check (or of the check itself)."""

    # -- verdicts -------------------------------------------------------------------------------
    def error(self, key: str, message: str) -> SuiteError:
        """A located error about one of this check's parameters, to ``raise``."""
        return SuiteError(f"{self.location(key)}: checks[{self.identity.index}].{key}: {message}")

    def evaluate(
        self,
        metrics: dict[str, float],
        intervals: dict[str, tuple[float, float]] | None = None,
        scope: str = "",
        params: BaseModel | None = None,
        limits: list[tuple[str, str, float]] | None = None,
        methods: dict[str, str] | None = None,
    ) -> list[ThresholdResult]:
        """Apply this check's ``min_*`` / ``max_*`` thresholds (or ``params``') to ``metrics``
        (rules in :func:`modeltests.result.evaluate_thresholds`); ``methods`` names how each
        interval was computed, ``"exact"`` for metrics without sampling uncertainty."""
        return evaluate_thresholds(params or self.params, metrics, intervals, self.gate, scope,
                                   limits, methods)
