"""``adapter: transformers`` with ``task: image-classification``: a directory holding an
image classifier (``AutoModelForImageClassification``) and its image processor
(``AutoImageProcessor``, ``preprocessor_config.json``), loaded with ``from_pretrained``.

The processor's settings (resize, centre crop, rescale, normalisation) become the torch
preprocessing of :class:`~modeltests.adapters.image_preprocess.PreprocessedClassifier`; a
setting it cannot reproduce is a located error rather than an approximation. Labels are the
model's ``config.id2label`` unless the suite lists them; a list that names them differently is
an error (a model whose names are transformers' placeholders ``LABEL_0``... takes the suite's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltests.adapters.base import LoadContext
from modeltests.adapters.transformers import TransformersParams, load_pretrained
from modeltests.errors import ModelLoadError

if TYPE_CHECKING:
    from modeltests.adapters.image_preprocess import (
        Interpolation,
        PreprocessedImageModel,
        Preprocessing,
    )

_RESAMPLE: dict[int, Interpolation] = {0: "nearest", 2: "bilinear", 3: "bicubic"}
"""PIL's resampling codes (``PILImageResampling``) this adapter reproduces in torch."""


def load_image_transformers(params: TransformersParams, context: LoadContext
                            ) -> PreprocessedImageModel:
    """The classifier and its processor from the directory, behind the processor's
    preprocessing; labels checked against ``config.id2label``."""
    from modeltests.adapters.image_preprocess import (
        PreprocessedImageModel,
        preprocessed_classifier,
    )
    from modeltests.adapters.torch_utils import loaded_model_facts

    processor, model, source = load_pretrained(params, context, "AutoModelForImageClassification",
                                               preprocessor="AutoImageProcessor")
    labels = image_labels(params, model.config, context)
    prep = processor_preprocessing(processor, model.config, context)
    wrapper = preprocessed_classifier(model, prep)
    device = str(next(model.parameters()).device)
    facts = {"adapter": "transformers", **loaded_model_facts(model, source, device),
             "image_processor": type(processor).__name__}
    sources = [source] if not isinstance(source, str) else []
    adapter = PreprocessedImageModel(wrapper, labels, params.batch_size, device, sources, facts)
    adapter.cache_predictions = bool(sources)  # a hub id names no files to fingerprint
    return adapter


def image_labels(params: TransformersParams, config: Any, context: LoadContext) -> list[str]:
    """The suite's ``labels`` when given and consistent with ``config.id2label``, else the
    model's own names."""
    own_map = getattr(config, "id2label", None) or {}
    own = [str(own_map[i]) for i in sorted(own_map)]
    if params.labels is None:
        return own
    if len(params.labels) != len(own):
        raise ModelLoadError(context.problem(
            "labels", f"{len(params.labels)} labels for a model whose head has {len(own)} "
            f"outputs (config.num_labels); list {len(own)}, in output order (the model's own: "
            f"{', '.join(own)})"))
    placeholders = own == [f"LABEL_{i}" for i in range(len(own))]
    if not placeholders and list(params.labels) != own:
        differing = [f"{i}: {mine!r} vs {theirs!r}" for i, (mine, theirs)
                     in enumerate(zip(params.labels, own)) if mine != theirs]
        raise ModelLoadError(context.problem(
            "labels", f"the suite's labels differ from the model's config.id2label at "
            f"{len(differing)} output(s) ({'; '.join(differing[:3])}); list them as "
            f"id2label does ({', '.join(own)}), or leave labels out"))
    return list(params.labels)


def processor_preprocessing(processor: Any, config: Any, context: LoadContext) -> Preprocessing:
    """The processor's resize, crop, rescale and normalisation as a :class:`Preprocessing`."""
    from modeltests.adapters.image_preprocess import Preprocessing

    name = type(processor).__name__
    channels = int(getattr(config, "num_channels", 3) or 3)
    size, scale = _sizes(processor, context)
    resize = bool(getattr(processor, "do_resize", True))
    rescale = float(getattr(processor, "rescale_factor", 1 / 255))
    if not getattr(processor, "do_rescale", True) or abs(rescale - 1 / 255) > 1e-9:
        raise ModelLoadError(context.problem(
            "path", f"the image processor ({name}) rescales pixels by {rescale} (do_rescale: "
            f"{getattr(processor, 'do_rescale', None)}); modeltests gives pixels in [0, 1], "
            "which is rescaling 8-bit images by 1/255 only"))
    normalise = bool(getattr(processor, "do_normalize", False))
    mean = list(getattr(processor, "image_mean", None) or []) if normalise else [0.0]
    std = list(getattr(processor, "image_std", None) or []) if normalise else [1.0]
    mean, std = (values * channels if len(values) == 1 else values for values in (mean, std))
    if len(mean) != channels or len(std) != channels:
        raise ModelLoadError(context.problem(
            "path", f"the image processor ({name}) normalises with {len(mean)} mean and "
            f"{len(std)} std values, and the model takes {channels} channels"))
    resample = int(getattr(processor, "resample", 2) or 0)
    if resample not in _RESAMPLE:
        raise ModelLoadError(context.problem(
            "path", f"the image processor ({name}) resizes with PIL resample {resample}; "
            f"modeltests reproduces {', '.join(f'{k} ({v})' for k, v in _RESAMPLE.items())}"))
    return Preprocessing(channels=channels, size=size, scale=scale,
                         interpolation=_RESAMPLE[resample], mean=tuple(map(float, mean)),
                         std=tuple(map(float, std)), origin=f"{name} (preprocessor_config.json)",
                         resize=resize)


def _sizes(processor: Any, context: LoadContext) -> tuple[tuple[int, int], int | None]:
    """``(size, scale)``: ``size: {height, width}`` resizes straight to it (no crop);
    ``size: {shortest_edge}`` resizes the shorter side, then ``crop_size`` is cut from the
    centre when ``do_center_crop``."""
    name = type(processor).__name__
    size = dict(getattr(processor, "size", None) or {})
    crop = dict(getattr(processor, "crop_size", None) or {})
    if "height" in size and "width" in size:
        return (int(size["height"]), int(size["width"])), None
    if "shortest_edge" in size and set(size) == {"shortest_edge"}:
        edge = int(size["shortest_edge"])
        if getattr(processor, "do_center_crop", False) and "height" in crop:
            return (int(crop["height"]), int(crop["width"])), edge
        return (edge, edge), edge
    if not getattr(processor, "do_resize", True):
        return (0, 0), None  # unused: the images are given as they are
    raise ModelLoadError(context.problem(
        "path", f"the image processor ({name}) resizes to {size}; modeltests reproduces "
        "{height, width} and {shortest_edge} (with an optional crop_size)"))
