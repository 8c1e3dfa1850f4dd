"""Any Python function ``texts -> probabilities or labels``, named by import path.

For a dataset of text pairs the function receives pairs: each item is a
:class:`~modeltests.data.inputs.TextPair`, a ``NamedTuple`` ``(first, second)`` (so ``a, b = item``
works).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from pydantic import Field, model_validator

from modeltests.adapters.base import (
    AdapterParams,
    Batching,
    LoadContext,
    ModelAdapter,
    Predictions,
)
from modeltests.adapters.imports import defining_file, resolve_import_path
from modeltests.errors import ModelLoadError, ModelOutputError
from modeltests.data.inputs import ModelInput


class CallableParams(AdapterParams):
    """A function taking a list of texts and returning, per text, a label or probabilities; or,
    with ``task: text-generation``, a factory returning a
    :class:`~modeltests.adapters.generation.TextGenerator`."""

    adapter: Literal["callable"] = "callable"
    target: str = Field(description="Import path 'package.module:function' (or a factory).")
    factory: bool = Field(
        default=False, description="Call target() once at load time to get the predict function."
    )
    task: Literal["classification", "text-generation"] = Field(
        default="classification", description="classification: target returns labels or "
        "probabilities (labels required); text-generation: target (a factory, or a class) "
        "returns a TextGenerator object, which the generative kinds call.")
    labels: list[str] | None = Field(
        default=None, description="Label names, in the order of probability columns "
        "(required for task: classification).")

    @model_validator(mode="after")
    def _labels_for_classifiers(self) -> CallableParams:
        if self.task == "classification" and not self.labels:
            raise ValueError("labels: required for task: classification (the label names, in "
                             "the order of probability columns)")
        return self


class CallableModel(ModelAdapter):
    """Wraps a plain function; labels may come back as names, indices or probability rows.

    Also the cheapest honest test double for modeltests' own tests: ``CallableModel(fn, labels)``.
    """

    def __init__(self, function: Callable[[list[ModelInput]], Any], labels: Sequence[str],
                 batch_size: int = 32, name: str = "callable") -> None:
        self.function = function
        self.labels = list(labels)
        self.batch_size = batch_size
        self.name = name
        self.device = "cpu"

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        outputs: list[Any] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start:start + self.batch_size])
            answer = list(self.function(chunk))
            if len(answer) != len(chunk):
                raise ModelOutputError(f"{self.name} returned {len(answer)} outputs for "
                                       f"{len(chunk)} texts")
            outputs.extend(answer)
            self.batch_done(len(chunk))
        return self._to_predictions(outputs)

    def _to_predictions(self, outputs: list[Any]) -> Predictions:
        if outputs and all(isinstance(o, str) for o in outputs):
            return Predictions.from_labels(outputs, self.labels)
        if outputs and all(isinstance(o, int) and not isinstance(o, bool) for o in outputs):
            bad = [o for o in outputs if not 0 <= o < len(self.labels)]
            if bad:
                raise ModelOutputError(f"{self.name} returned label index {bad[0]} outside "
                                       f"0..{len(self.labels) - 1}")
            return Predictions.from_labels([self.labels[o] for o in outputs], self.labels)
        try:
            return Predictions.from_probabilities(outputs, self.labels) if outputs else \
                Predictions.from_labels([], self.labels)
        except (TypeError, ValueError) as exc:
            raise ModelOutputError(f"{self.name} must return, per text, a label name, a label "
                                   f"index or a list of probabilities ({exc})") from None

    def batching(self) -> Batching:
        return Batching(self.batch_size, sorted_by_length=False)

    def source_files(self) -> list[Path]:
        found = defining_file(self.function)
        return [found] if found is not None else []

    def describe(self) -> dict[str, Any]:
        return {"adapter": "callable", "target": self.name, "device": self.device}


def load_callable(params: CallableParams, context: LoadContext) -> ModelAdapter:
    """The function ``target`` names, wrapped; for ``task: text-generation`` the generator
    that calling ``target`` returns."""
    function = resolve_import_path(params.target, context, "model.target")
    if params.task == "text-generation":
        from modeltests.adapters.generation import is_generator

        made = function() if callable(function) else function
        if not is_generator(made):
            raise ModelLoadError(context.problem(
                "target", f"{params.target!r} returned {type(made).__name__}, not a "
                "TextGenerator (subclass modeltests.adapters.generation.TextGenerator and "
                "implement generate and score)"))
        return made
    if params.factory:
        function = function()
    if not callable(function):
        raise ModelLoadError(f"{context.location}: model.target: {params.target!r} is not "
                             "callable")
    return CallableModel(function, params.labels or [], params.batch_size, params.target)
