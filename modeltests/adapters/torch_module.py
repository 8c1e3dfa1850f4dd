"""A ``torch.nn.Module`` built by a factory, with the user's own collate function."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field

from modeltests.adapters.base import (
    AdapterParams,
    Batching,
    LoadContext,
    ModelAdapter,
    Predictions,
)
from modeltests.adapters.imports import defining_file, project_sources, resolve_import_path
from modeltests.adapters.torch_utils import (
    classified_in_batches,
    module_facts,
    pick_device,
    probabilities_from_logits,
)
from modeltests.errors import ModelLoadError
from modeltests.data.inputs import ModelInput


class TorchParams(AdapterParams):
    """``factory()`` returns the module; ``collate(texts)`` returns its input batch."""

    adapter: Literal["torch"] = "torch"
    task: Literal["sequence-classification", "token-classification",
                  "image-classification"] = Field(
        default="sequence-classification", description="One label per text, or one tag per "
        "word (collate then gets sentences of words and returns (batch, word_ids); see "
        "modeltests.adapters.token_torch), or one label per image (the module gets a float "
        "batch (n, channels, height, width), normalised as the dataset's image section says; "
        "see modeltests.adapters.image_torch).")
    factory: str = Field(description="Import path 'package.module:build_model'.")
    collate: str | None = Field(
        default=None, description="Import path of texts -> tensor or dict of tensors (required "
        "for the text tasks). For a dataset of text pairs it receives TextPair tuples (first, "
        "second) and builds the pair encoding itself. For image-classification it is optional: "
        "it receives the ImageInput rows (each .pixels in [0, 1]) and returns the batch.")
    weights: str | None = Field(
        default=None, description="A state dict file (torch.save of module.state_dict(), read "
        "with weights_only=True) loaded into the factory's module; relative to the suite, or "
        "builtin:NAME for a built-in model's weights.")
    labels: list[str] = Field(description="Label names, in the order of the output logits.")
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    outputs: Literal["logits", "probabilities"] = Field(
        default="logits", description="Whether the module returns logits or probabilities."
    )


class TorchModel(ModelAdapter):
    """Runs ``module(collate(texts))`` under ``torch.inference_mode``.

    ``collate`` is the user's tokenizer contract: for text pairs it gets the pairs themselves
    (:class:`~modeltests.data.inputs.TextPair`, a tuple ``(first, second)``), since only it knows
    how its model joins two texts (a tokenizer's pair template, a separator token...)."""

    def __init__(self, module: Any, collate: Any, params: TorchParams, device: str) -> None:
        self.module = module
        self.collate = collate
        self.params = params
        self.device = device
        self.labels = list(params.labels)

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        batch = self.collate(list(texts))
        if isinstance(batch, dict):
            return {k: v.to(self.device) for k, v in batch.items()}
        return batch.to(self.device)

    def forward(self, batch: Any) -> Any:
        import torch

        with torch.inference_mode():
            out = self.module(**batch) if isinstance(batch, dict) else self.module(batch)
        return getattr(out, "logits", out)

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        rows = (probabilities_from_logits if self.params.outputs == "logits"
                else _probability_rows)
        return classified_in_batches(self, texts, self.params.batch_size, self.labels, rows)

    def batching(self) -> Batching:
        return Batching(self.params.batch_size, sorted_by_length=False)

    def source_files(self) -> list[Path]:
        """The files defining the module's class and the collate function, and the project
        modules they import, transitively (:func:`~modeltests.adapters.imports.project_sources`;
        weights a factory reads from elsewhere are not known to modeltests)."""
        found = (defining_file(type(self.module)), defining_file(self.collate))
        return project_sources(sorted({path for path in found if path is not None}))

    def torch_module(self) -> Any:
        return self.module

    def with_module(self, module: Any) -> TorchModel:
        return TorchModel(module, self.collate, self.params, self.device)

    def describe(self) -> dict[str, Any]:
        return {"adapter": "torch", "factory": self.params.factory, "device": self.device,
                **module_facts(self.module)}


def _probability_rows(output: Any) -> Any:
    """A module that answers probabilities (``outputs: probabilities``): them, float64 on CPU."""
    return output.detach().double().cpu().numpy()


def load_torch(params: TorchParams, context: LoadContext) -> TorchModel:
    if params.task != "sequence-classification":  # the registered loader dispatches first
        raise ModelLoadError(context.problem(
            "task", f"{params.task} modules load with modeltests.adapters.token_torch"))
    module, collate, device = factory_module(params, context)
    return TorchModel(module, collate, params, device)


_HEADS = {"sequence-classification": ("ForSequenceClassification", "a sequence classifier"),
          "token-classification": ("ForTokenClassification", "a token classifier")}


def factory_module(params: TorchParams, context: LoadContext) -> tuple[Any, Any, str]:
    """The module ``model.factory`` builds, checked (a ``torch.nn.Module``, no head of the other
    ``task``, as many outputs as ``labels``) and in eval mode on its device; with the ``collate``
    function and the device."""
    device = pick_device(params.device, context.location)
    factory = resolve_import_path(params.factory, context, "model.factory")
    if params.collate is None and params.task != "image-classification":
        raise ModelLoadError(context.problem(
            "collate", f"task {params.task} needs collate: the import path of the function "
                       "that turns texts into the module's input batch"))
    collate = (None if params.collate is None
               else resolve_import_path(params.collate, context, "model.collate"))
    module = factory()
    name = type(module).__name__
    if not hasattr(module, "parameters") or not callable(module):
        raise ModelLoadError(f"{context.location}: model.factory: {params.factory!r} returned "
                             f"{name}, not a torch.nn.Module")
    for task, (suffix, what) in _HEADS.items():
        if task != params.task and name.endswith(suffix):
            raise ModelLoadError(context.problem(
                "task", f"{params.task} was asked, but the factory returned {name}, {what}; "
                        f"set task: {task}"))
    width = output_width(module)
    if width is not None and width[0] != len(params.labels):
        raise ModelLoadError(context.problem(
            "labels", f"{len(params.labels)} labels for a module with {width[0]} outputs "
            f"({width[1]}); list {width[0]}, in output order"))
    if params.weights is not None:
        load_weights(module, params.weights, context)
    module.eval()
    module.to(device)
    return module, collate, device


def weights_file(weights: str, context: LoadContext) -> Path:
    """``model.weights`` as a file: ``builtin:NAME`` is that built-in model's ``weights.pt``."""
    if weights.startswith("builtin:"):
        return context.builtin_model(weights.removeprefix("builtin:")) / "weights.pt"
    return context.resolve(weights)


def load_weights(module: Any, weights: str, context: LoadContext) -> None:
    """Load the state dict ``model.weights`` names into ``module`` (tensors only: a pickle of
    code is refused by ``weights_only``); a missing file or mismatched keys are located."""
    import torch

    path = weights_file(weights, context)
    if not path.is_file():
        raise ModelLoadError(context.problem("weights", f"file not found: {path}"))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelLoadError(context.problem(
            "weights", f"cannot load {path.name} into the factory's module: "
                       f"{type(exc).__name__}: {first}")) from None


_KEEPS_WIDTH = ("Dropout", "Identity", "Softmax", "LogSoftmax", "Sigmoid", "Tanh", "ReLU",
                "GELU", "SiLU", "LeakyReLU", "ELU")
"""Layers that may follow the output layer without changing how many outputs there are."""


def output_width(module: Any) -> tuple[int, str] | None:
    """The module's output count when it can be known without running it, and from where: a
    ``config.num_labels`` (transformers models), or the last layer of a ``Sequential`` (or the
    module itself) when that is a ``Linear``. A custom ``forward`` may run its layers in any
    order, so its registered layers prove nothing: None."""
    import torch

    outputs = getattr(getattr(module, "config", None), "num_labels", None)
    if isinstance(outputs, int):
        return outputs, "config.num_labels"
    keeps_width = tuple(getattr(torch.nn, name) for name in _KEEPS_WIDTH)
    layer = module
    while isinstance(layer, torch.nn.Sequential):
        children = list(layer)
        while children and isinstance(children[-1], keeps_width):
            children.pop()
        if not children:
            return None
        layer = children[-1]
    if isinstance(layer, torch.nn.Linear):
        where = "its last layer" if layer is not module else "the module"
        return layer.out_features, f"{where} is {layer}"
    return None
