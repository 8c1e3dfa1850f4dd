"""``adapter: timm``: a timm architecture by name with the user's own weights file, classifying
images (see docs/how-to/images.md, "timm models").

The model is built with ``timm.create_model(architecture, pretrained=False,
num_classes=len(labels), **model_args)`` and the weights loaded with timm's own reader
(``timm.models.load_state_dict``: safetensors, or a torch checkpoint with tensors only, EMA
weights preferred) and ``load_state_dict(strict=True)``. Not ``pretrained=True`` with
``pretrained_cfg_overlay=dict(file=...)``: that path drops a classifier of another size and
sums the first convolution's weights for another ``in_chans``, silently; here every mismatch is
an error at the suite's line.

The inputs are prepared as ``timm.data.resolve_model_data_config(model, args=...)`` says, the
suite's ``input_size``, ``mean``, ``std``, ``interpolation`` and ``crop_pct`` overriding the
architecture's defaults (:mod:`modeltests.adapters.image_preprocess`). timm is imported inside
the loader only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from modeltests.adapters.base import AdapterParams, LoadContext
from modeltests.errors import ModelLoadError

if TYPE_CHECKING:
    from modeltests.adapters.image_preprocess import PreprocessedImageModel, Preprocessing

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
DATA_KEYS = ("input_size", "mean", "std", "interpolation", "crop_pct")
INSTALL = ("pip install 'modeltests[timm]', with a torchvision built for the installed torch "
           "(for the CPU build: pip install torchvision --index-url "
           "https://download.pytorch.org/whl/cpu)")


class TimmParams(AdapterParams):
    """``timm.create_model(architecture, num_classes=len(labels), **model_args)`` with the
    state dict in ``weights``."""

    adapter: Literal["timm"] = "timm"
    task: Literal["image-classification"] = Field(
        default="image-classification", description="One label per image (the only task of "
        "this adapter).")
    architecture: str = Field(description="A timm model name (timm.list_models()), e.g. "
                              "resnet18 or convnext_tiny; a pretrained tag (.a1_in1k) is "
                              "dropped: the weights come from 'weights'.")
    weights: str = Field(
        description="The state dict: a .safetensors file, or a torch checkpoint (.pth, .pt, "
        ".bin; tensors only, read with weights_only=True); relative to the suite, or "
        "builtin:NAME for a built-in model's model.safetensors.")
    labels: list[str] = Field(description="Label names, in the order of the classifier's "
                              "outputs (num_classes is their count).")
    model_args: dict[str, Any] = Field(
        default_factory=dict, description="More keyword arguments of timm.create_model, as the "
        "weights were trained with, e.g. {in_chans: 1, drop_rate: 0.1}.")
    input_size: tuple[int, int, int] | None = Field(
        default=None, description="[channels, height, width] the model is given; unset: "
        "timm's data config for the architecture (its channels: model_args.in_chans when set).")
    mean: list[float] | None = Field(default=None, description="Per-channel mean of the "
                                     "normalisation; unset: timm's data config.")
    std: list[float] | None = Field(default=None, description="Per-channel standard deviation; "
                                    "unset: timm's data config.")
    interpolation: Literal["nearest", "bilinear", "bicubic"] | None = Field(
        default=None, description="How images are resized; unset: timm's data config.")
    crop_pct: float | None = Field(
        default=None, gt=0, le=1, description="The centre crop's share of the resized image "
        "(the shorter side is resized to size / crop_pct, then the centre cut); unset: timm's "
        "data config.")
    device: Literal["cpu", "cuda", "auto"] = "cpu"

    def static_problems(self, context: LoadContext) -> list[tuple[str, str]]:
        """A weights file that is missing or of an unknown kind."""
        if self.weights.startswith("builtin:"):
            name = self.weights.removeprefix("builtin:")
            if name not in context.builtin_names:
                allowed = ", ".join(f"builtin:{n}" for n in context.builtin_names)
                return [("weights", f"unknown built-in model {name!r} (allowed: {allowed})")]
            return []
        path = context.resolve(self.weights)
        if not path.name.endswith(WEIGHT_SUFFIXES):
            return [("weights", f"{path.name}: expected a state dict file ending in "
                     f"{', '.join(WEIGHT_SUFFIXES)}")]
        if not path.is_file():
            return [("weights", f"file not found: {path}")]
        return []


def weights_path(params: TimmParams, context: LoadContext) -> Path:
    """``model.weights`` as a file (``builtin:NAME``: that model's ``model.safetensors``)."""
    if params.weights.startswith("builtin:"):
        return context.builtin_model(params.weights.removeprefix("builtin:")) / "model.safetensors"
    return context.resolve(params.weights)


def load_timm(params: TimmParams, context: LoadContext) -> PreprocessedImageModel:
    """Create the architecture, load the weights strictly, resolve the data config."""
    from modeltests.adapters.image_preprocess import (
        PreprocessedImageModel,
        preprocessed_classifier,
    )
    from modeltests.adapters.torch_utils import pick_device

    timm = _import_timm(context)
    device = pick_device(params.device, context.location)
    model = _create(timm, params, context)
    path = weights_path(params, context)
    _load_weights(timm, model, path, params, context)
    prep = _preprocessing(timm, model, params, context)
    model.eval()
    wrapper = preprocessed_classifier(model, prep)
    wrapper.to(device)
    facts = {"adapter": "timm", "architecture": params.architecture, "weights": str(path),
             "timm": timm.__version__}
    return PreprocessedImageModel(wrapper, params.labels, params.batch_size, device, [path],
                                  facts)


def _import_timm(context: LoadContext) -> Any:
    try:
        import timm
        import timm.data
    except Exception as exc:  # a torchvision built for another torch fails with RuntimeError
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelLoadError(context.problem(
            "adapter", f"timm cannot be imported ({type(exc).__name__}: {first}); "
            f"{INSTALL}")) from None
    return timm


def _create(timm: Any, params: TimmParams, context: LoadContext) -> Any:
    name = params.architecture.split(".")[0]
    if not timm.is_model(name):
        raise ModelLoadError(context.problem(
            "architecture", f"timm {timm.__version__} has no architecture {name!r}"
            + _suggestions(timm, name)))
    try:
        return timm.create_model(name, pretrained=False, num_classes=len(params.labels),
                                 **params.model_args)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelLoadError(context.problem(
            "model_args", f"timm.create_model({name!r}, num_classes={len(params.labels)}, "
            f"**{params.model_args!r}) failed: {type(exc).__name__}: {first}")) from None


def _suggestions(timm: Any, name: str) -> str:
    import difflib

    near = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
    if near:
        return f"; did you mean {near[0]!r}? (close: {', '.join(near)}; see timm.list_models())"
    return " (see timm.list_models())"


def _load_weights(timm: Any, model: Any, path: Path, params: TimmParams,
                  context: LoadContext) -> None:
    """``timm.models.load_state_dict(path)`` into ``model``, strictly: a classifier whose output
    count is not ``len(labels)`` is named as such, other mismatches by torch's first lines."""
    if not path.is_file():
        raise ModelLoadError(context.problem("weights", f"file not found: {path}"))
    try:
        state = timm.models.load_state_dict(str(path), use_ema=True)
    except Exception as exc:  # safetensors, pickle and zip errors have many types
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelLoadError(context.problem(
            "weights", f"cannot read {path.name}: {type(exc).__name__}: {first}")) from None
    outputs = _classifier_outputs(model, state)
    if outputs is not None and outputs[1] != len(params.labels):
        raise ModelLoadError(context.problem(
            "labels", f"{len(params.labels)} labels, but the classifier in {path.name} has "
            f"{outputs[1]} outputs ({outputs[0]}); list {outputs[1]}, in output order"))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines()[1:] if line.strip()]
        shown = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
        raise ModelLoadError(context.problem(
            "weights", f"{path.name} does not fit timm's {params.architecture} with "
            f"model_args {params.model_args}: {shown}")) from None


def _classifier_outputs(model: Any, state: dict[str, Any]) -> tuple[str, int] | None:
    """``(key, rows)`` of the classifier's weight in ``state`` (timm's ``pretrained_cfg``
    names the classifier module), when the weights hold it."""
    names = getattr(model, "pretrained_cfg", {}).get("classifier")
    for name in ([names] if isinstance(names, str) else list(names or ())):
        weight = state.get(f"{name}.weight")
        if weight is not None and getattr(weight, "ndim", 0) >= 1:
            return f"{name}.weight is {list(weight.shape)}", int(weight.shape[0])
    return None


def _preprocessing(timm: Any, model: Any, params: TimmParams, context: LoadContext
                   ) -> Preprocessing:
    """timm's data config for ``model`` with the suite's overrides, checked for consistency."""
    from modeltests.adapters.image_preprocess import Preprocessing

    declared = {key: getattr(params, key) for key in DATA_KEYS if getattr(params, key) is not None}
    in_chans = params.model_args.get("in_chans")
    if in_chans is not None and "input_size" not in declared:
        declared["in_chans"] = in_chans  # timm's config would keep the architecture's 3
    if params.input_size is not None and in_chans is not None and params.input_size[0] != in_chans:
        raise ModelLoadError(context.problem(
            "input_size", f"{params.input_size[0]} channels, but model_args.in_chans is "
            f"{in_chans}; they must agree"))
    try:
        config = timm.data.resolve_model_data_config(model, args=dict(declared))
    except AssertionError:
        raise ModelLoadError(context.problem(
            "mean", "mean and std need one value, or one per channel")) from None
    channels, height, width = (int(v) for v in config["input_size"])
    if in_chans is not None and "input_size" not in declared:
        channels = int(in_chans)
    for key in ("mean", "std"):
        if len(config[key]) != channels:
            raise ModelLoadError(context.problem(
                key, f"timm's data config for {params.architecture} has {len(config[key])} "
                f"{key} values ({list(config[key])}) for a {channels}-channel model; declare "
                f"{key} with {channels}"))
    crop = float(config.get("crop_pct") or 0.875)
    scale = math.floor(min(height, width) / crop)
    declared.pop("in_chans", None)
    own = [key for key in DATA_KEYS if key not in declared]
    origin = (f"timm's data config for {params.architecture}"
              + (f" ({', '.join(own)})" if own and declared else "")
              + (f"; the suite's {', '.join(declared)}" if declared else ""))
    return Preprocessing(channels=channels, size=(height, width), scale=scale,
                         interpolation=_interpolation(config.get("interpolation")),
                         mean=tuple(float(v) for v in config["mean"]),
                         std=tuple(float(v) for v in config["std"]), origin=origin)


def _interpolation(name: Any) -> Literal["nearest", "bilinear", "bicubic"]:
    if name == "nearest":
        return "nearest"
    return "bilinear" if name == "bilinear" else "bicubic"  # timm's default is bicubic
