"""The model adapter protocol: how modeltests talks to any model.

An adapter turns a suite's ``model:`` section into a loaded model that answers
:meth:`ModelAdapter.predict`. Built-in adapters (``transformers``, ``torch``, ``callable``,
``http``) and a user's own adapters register the same way, through the
``pytest_modeltests_register_adapters`` hook::

    # conftest.py
    from modeltests import AdapterKind, AdapterParams, ModelAdapter, Predictions

    class EchoParams(AdapterParams):
        adapter: Literal["echo"] = "echo"

    class EchoModel(ModelAdapter):
        labels = ["negative", "positive"]
        def predict(self, texts):
            return Predictions.from_labels(["positive"] * len(texts), self.labels)

    def pytest_modeltests_register_adapters(registry):
        registry.add_adapter(AdapterKind("echo", EchoParams, lambda params, ctx: EchoModel()))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generic, Literal, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from modeltests.errors import ModelLoadError, ModelOutputError, UnsupportedCapabilityError
from modeltests.data.inputs import ModelInput
from modeltests.support.redaction import Redactor

if TYPE_CHECKING:
    import numpy as np
    import torch

    from modeltests.serving.loadgen import Requests


class AdapterParams(BaseModel):
    """Parameters shared by every adapter; subclasses add their own and fix ``adapter``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adapter: str = Field(description="Which adapter loads the model.")
    labels: list[str] | None = Field(
        default=None, description="Label names in output order; defaults to the model's own."
    )
    batch_size: int = Field(default=32, ge=1, le=4096, description="Texts per forward call.")

    served: ClassVar[bool] = False
    """True for adapters that call a server: a suite's ``serve:`` server is started before such
    a model is loaded (and its placeholders reach :meth:`LoadContext.expand`)."""


def _no_builtin_models(name: str) -> Path:
    raise ModelLoadError(f"built-in model {name!r} is not available here")


@dataclass(frozen=True)
class LoadContext:
    """Where a model is loaded from: relative paths resolve against ``base_dir`` (the suite's).

    ``builtin_model(name)`` returns the directory of a registered built-in model
    (``path: builtin:<name>``), building it first if needed; ``builtin_names`` lists them.

    ``location`` is ``suite.yaml:LINE`` of the ``model:`` section (``key_path`` its keys, e.g.
    ``("models", "int8")``); :meth:`problem` locates a message at one of its keys. Register every
    value read from the environment or a secret store with ``redactor.add(value)``: reports
    then show it as ``***``. ``placeholders`` are the values of a ``serve:`` server's
    placeholders (see :meth:`expand`).
    """

    base_dir: Path
    rootdir: Path
    location: str = ""
    builtin_model: Callable[[str], Path] = _no_builtin_models
    builtin_names: tuple[str, ...] = ()
    key_path: tuple[str, ...] = ("model",)
    locate_key: Callable[[tuple[str, ...]], str] | None = None
    redactor: Redactor = field(default_factory=Redactor)
    placeholders: dict[str, str] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        """``text`` with the ``serve:`` placeholders (``{port}``, ``{port:NAME}``,
        ``{python}``) of the suite's running server replaced (unchanged without a server)."""
        from modeltests.support.placeholders import expand

        return expand(text, self.placeholders)

    def resolve(self, path: str) -> Path:
        """``path`` made absolute against the suite's directory (``~`` expanded)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    def problem(self, key: str, message: str) -> str:
        """``suite.yaml:LINE: model.<key>: message``, at the line of that key when known."""
        path = (*self.key_path, key)
        where = self.locate_key(path) if self.locate_key is not None else self.location
        prefix = f"{where}: " if where else ""
        return f"{prefix}{'.'.join(path)}: {message}"


@dataclass
class Predictions:
    """Predicted label names, and class probabilities when the model gives them.

    ``probabilities`` has shape ``(n, len(label_names))`` with rows in input order.
    """

    labels: list[str]
    label_names: list[str]
    probabilities: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_probabilities(cls, probabilities: Any, label_names: Sequence[str]) -> Predictions:
        """Build predictions from an ``(n, k)`` probability matrix (argmax picks the label)."""
        import numpy as np

        matrix = np.asarray(probabilities, dtype=np.float64)
        if matrix.ndim != 2:
            raise ModelOutputError(
                f"expected probabilities of shape (n, {len(label_names)}), got shape {matrix.shape}"
            )
        names = list(label_names)
        picked = matrix.argmax(axis=1) if len(matrix) else np.zeros(0, dtype=int)
        return cls(labels=[names[i] for i in picked], label_names=names, probabilities=matrix)

    @classmethod
    def from_labels(cls, labels: Sequence[str], label_names: Sequence[str]) -> Predictions:
        """Build predictions from label names alone (no probabilities)."""
        return cls(labels=[str(x) for x in labels], label_names=list(label_names))

    def subset(self, indices: Sequence[int]) -> Predictions:
        """The predictions at ``indices``, in that order."""
        probs = None if self.probabilities is None else self.probabilities[list(indices)]
        return Predictions([self.labels[i] for i in indices], self.label_names, probs)

    def confidence(self) -> list[float | None]:
        """Probability of the predicted label for each row (None without probabilities)."""
        if self.probabilities is None:
            return [None] * len(self.labels)
        return [float(row.max()) for row in self.probabilities]


@dataclass(frozen=True)
class Batching:
    """How a model groups texts into forward calls: ``batch_size`` texts per call (None when
    unknown), in the order given or ``sorted_by_length`` (by token count, longest first), and
    at most ``max_tokens_per_batch`` padded token positions per call when set.

    Fixed-point models give the same outputs under any batching; dynamically quantized ones do
    not (int8 activation scales are computed per batch), so compression checks report it, and
    the prediction cache keys on it.
    """

    batch_size: int | None
    sorted_by_length: bool
    max_tokens_per_batch: int | None = None

    def to_json(self, given: str = "as given") -> dict[str, Any]:
        """``batch_size`` and ``order``: "sorted by tokens", else ``given`` (e.g. "file order"
        for a dataset predicted in its rows' order); ``max_tokens_per_batch`` when set."""
        facts: dict[str, Any] = {"batch_size": self.batch_size,
                                 "order": "sorted by tokens" if self.sorted_by_length else given}
        if self.max_tokens_per_batch is not None:
            facts["max_tokens_per_batch"] = self.max_tokens_per_batch
        return facts


class ModelAdapter:
    """A loaded model. Subclass it and implement :meth:`predict`.

    Optional capabilities raise :class:`UnsupportedCapabilityError` unless overridden; checks
    that need them (quantization, model-only latency) skip with that reason.
    """

    #: Label names in the order of the probability columns.
    labels: list[str] = []
    #: Where the model runs ("cpu", "cuda:0", "remote", ...).
    device: str = "cpu"
    #: What one input is: "text" (a text or a pair of texts) or "image"
    #: (:class:`~modeltests.data.inputs.ImageInput`); checks of the other kind of input are an
    #: error at setup (``CheckKind.inputs``).
    inputs: Literal["text", "image"] = "text"
    #: Set by the session while it waits for a long call: counts texts done (see batch_done).
    on_batch: Callable[[int], None] | None = None
    #: True when :meth:`predict` is a deterministic function of :meth:`source_files`, the
    #: adapter's parameters and :meth:`batching`: its predictions on a whole dataset may then be
    #: reused across runs (:mod:`modeltests.predictions.cache`). Leave it False for a remote
    #: service, code with its own state or randomness, or weights read from files that
    #: :meth:`source_files` does not name.
    cache_predictions: bool = False

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        """Predict labels (and probabilities when available) for ``texts``, in order."""
        raise NotImplementedError

    def batch_done(self, texts: int) -> None:
        """Call after each batch of ``texts`` texts inside :meth:`predict`: the session shows
        the progress of long calls (a whole dataset) with it. Optional: an adapter that never
        calls it only shows no progress."""
        if self.on_batch is not None:
            self.on_batch(texts)

    def describe(self) -> dict[str, Any]:
        """Facts for the report: adapter name, parameter count, size on disk, device..."""
        return {"device": self.device}

    def source_files(self) -> list[Path]:
        """Files and directories whose bytes decide this model's outputs (weights, tokenizer,
        the code that builds it), for the run's fingerprint and the prediction cache. Empty
        when they are unknown (a remote model): such a model is fingerprinted by its
        parameters alone and its predictions are never reused across runs."""
        return []

    def batching(self) -> Batching:
        """How :meth:`predict` groups texts into forward calls (for the reports)."""
        return Batching(batch_size=None, sorted_by_length=False)

    def in_given_order(self) -> ModelAdapter:
        """This model batching texts in the order it is given them (no sorting): the same
        object when it never sorts. Checks use it to control batch composition."""
        return self

    def torch_module(self) -> torch.nn.Module:
        """The underlying ``torch.nn.Module`` (for quantization, pruning, memory)."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} exposes no torch module")

    def with_module(self, module: torch.nn.Module) -> ModelAdapter:
        """A copy of this adapter that runs ``module`` instead of its own weights."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} cannot swap its torch module")

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        """Turn texts into the model's input batch (tokenization), for model-only timing."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} has no separate encode step")

    def forward(self, batch: Any) -> Any:
        """Run the model on an encoded batch (no tokenization), for model-only timing."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} has no separate forward step")

    def load_client(self) -> ModelAdapter:
        """The adapter a load test calls from many threads at once: this one by default. The
        ``http`` adapter returns a copy sharing its connection pool, without the per-check
        circuit breaker and time budget, so that each request stands on its own."""
        return self

    def load_requests(self) -> Requests:
        """What a load test sends (:mod:`modeltests.serving.loadgen`): by default
        :meth:`predict`, called from a pool of threads. An adapter may return its own
        :class:`~modeltests.serving.loadgen.AsyncRequests` (a coroutine per request on the
        load generator's event loop, e.g. the ``http`` adapter's)."""
        return self.predict

    def null_twin(self, url: str) -> Requests | None:
        """Requests sent as :meth:`load_requests` sends them, but to ``url`` (a null
        endpoint) and without reading the answer: a load test measures its own ceiling with
        it. None for models not called over HTTP (the ceiling is then that of a Python
        no-op)."""
        return None

    def notes(self) -> list[str]:
        """What a user must know about how this model's outputs were read, when it could not
        be checked (e.g. probability columns taken in the suite's label order): added to the
        warnings of every check run after the note arose."""
        return []

    def counters(self) -> dict[str, int]:
        """Counts for the reports, e.g. the ``http`` adapter's ``requests`` and ``retries``."""
        return {}

    def start_check(self) -> None:
        """A new check (or test) is about to use this model: reset per-check state.

        The ``http`` adapter's circuit breaker and check time budget start afresh here.
        """

    def close(self) -> None:
        """Release resources (called at the end of the session)."""


P = TypeVar("P", bound=AdapterParams)

Loader = Callable[[P, LoadContext], ModelAdapter]
"""``load(params, context) -> ModelAdapter``: how an adapter kind loads a model."""


@dataclass(frozen=True)
class AdapterKind(Generic[P]):
    """A way to load models: the ``adapter:`` name, its parameter model and its loader."""

    name: str
    params: type[P]
    load: Loader[P]
    description: str = ""

