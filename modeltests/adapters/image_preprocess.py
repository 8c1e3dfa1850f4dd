"""An image classifier that prepares its own inputs, as its library's eval transform does: the
``timm`` adapter (timm's data config) and ``adapter: transformers`` with ``task:
image-classification`` (the directory's image processor).

Both wrap the library's model in :class:`PreprocessedClassifier`, a ``torch.nn.Module`` that
takes the dataset's pixels (``(n, channels, height, width)`` in [0, 1]) and does the rest in
torch: a gray image given to an RGB model is repeated to three channels (what PIL's
``convert("RGB")`` does, and transformers' ``load_image``), the shorter side is resized to the
scale size and the centre cropped to the model's input size, and each channel normalised as
``(x - mean) / std``. Doing it in torch keeps it differentiable, so the ``adversarial`` kind
attacks pixels through the whole model, and a quantized or pruned copy of the wrapper keeps
the preprocessing. On images that already have the model's input size (no resize) this is
exactly the library's transform; a resize interpolates in float (antialiased), where PIL
resizes 8-bit images, so resized pixels may differ slightly.

torch is imported on first use (the wrapper's class is defined then).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from modeltests.adapters.base import Batching, ModelAdapter, Predictions
from modeltests.adapters.image_torch import as_images
from modeltests.adapters.pixels import stacked_pixels
from modeltests.adapters.torch_utils import classified_in_batches, module_facts
from modeltests.data.inputs import ImageInput, ModelInput
from modeltests.errors import ModelPredictError

if TYPE_CHECKING:
    import torch

Interpolation = Literal["nearest", "bilinear", "bicubic"]


@dataclass(frozen=True)
class Preprocessing:
    """What the model is given: ``channels`` x ``size`` (height, width), cut from the image
    resized so that its shorter side is ``scale`` (None: resized straight to ``size``, no
    crop), normalised with ``mean`` and ``std``; ``origin`` says where each value came from.
    ``resize`` False gives the images as they are (a processor with ``do_resize: false``)."""

    channels: int
    size: tuple[int, int]
    scale: int | None
    interpolation: Interpolation
    mean: tuple[float, ...]
    std: tuple[float, ...]
    origin: str
    resize: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"channels": self.channels, "size": list(self.size), "resize_shorter_side_to":
                self.scale, "interpolation": self.interpolation, "mean": list(self.mean),
                "std": list(self.std), "from": self.origin,
                "resize": self.resize}


def preprocessed_classifier(model: Any, preprocessing: Preprocessing) -> Any:
    """``model`` behind ``preprocessing``: a ``torch.nn.Module`` (:data:`PreprocessedClassifier`)
    taking pixels in [0, 1], returning logits."""
    return _classifier_class()(model, preprocessing)


def __getattr__(name: str) -> Any:
    """``PreprocessedClassifier``, defined on first use (torch loads then, not at collection);
    pickle finds it here as well."""
    if name == "PreprocessedClassifier":
        return _classifier_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _classifier_class() -> type[Any]:
    import torch

    class PreprocessedClassifier(torch.nn.Module):
        """``model`` behind its own preprocessing: pixels in [0, 1] in, logits out."""

        def __init__(self, model: torch.nn.Module, preprocessing: Preprocessing) -> None:
            super().__init__()
            self.model = model
            self.preprocessing = preprocessing
            shape = (1, preprocessing.channels, 1, 1)
            self.register_buffer("mean", torch.tensor(preprocessing.mean).reshape(shape))
            self.register_buffer("std", torch.tensor(preprocessing.std).reshape(shape))

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            prep = self.preprocessing
            if pixels.shape[1] == 1 and prep.channels == 3:
                pixels = pixels.expand(-1, 3, -1, -1)
            pixels = self._resized(pixels)
            output = self.model((pixels - self.get_buffer("mean")) / self.get_buffer("std"))
            logits: torch.Tensor = getattr(output, "logits", output)
            return logits

        def _resized(self, pixels: torch.Tensor) -> torch.Tensor:
            prep = self.preprocessing
            if not prep.resize:
                return pixels
            height, width = int(pixels.shape[-2]), int(pixels.shape[-1])
            if prep.scale is None:
                target = prep.size
            else:  # the shorter side to scale, keeping the aspect ratio (torchvision's Resize(int))
                short, long = sorted((height, width))
                other = int(prep.scale * long / short)
                target = (prep.scale, other) if height <= width else (other, prep.scale)
            if target != (height, width):
                smooth = prep.interpolation != "nearest"
                pixels = torch.nn.functional.interpolate(
                    pixels, size=target, mode=prep.interpolation,
                    align_corners=False if smooth else None, antialias=smooth)
                if prep.interpolation == "bicubic":  # PIL's 8-bit bicubic clips its overshoot
                    pixels = pixels.clamp(0.0, 1.0)
            return _center_crop(pixels, prep.size)

    PreprocessedClassifier.__module__ = __name__
    PreprocessedClassifier.__qualname__ = "PreprocessedClassifier"
    return PreprocessedClassifier


def _center_crop(pixels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The centre ``size`` of ``pixels`` (torchvision's ``CenterCrop`` offsets)."""
    height, width = int(pixels.shape[-2]), int(pixels.shape[-1])
    if (height, width) == size:
        return pixels
    if height < size[0] or width < size[1]:
        raise ModelPredictError(f"images of {height}x{width} are smaller than the model's "
                                f"input {size[0]}x{size[1]} after resizing")
    top = int(round((height - size[0]) / 2.0))
    left = int(round((width - size[1]) / 2.0))
    return pixels[..., top:top + size[0], left:left + size[1]]


class PreprocessedImageModel(ModelAdapter):
    """A loaded image classifier whose module prepares its own inputs: :meth:`predict` takes
    :class:`ImageInput` rows and batches their raw pixels."""

    inputs = "image"
    #: Outputs depend only on the weights (:meth:`source_files`), the parameters and batching.
    cache_predictions = True

    def __init__(self, module: Any, labels: Sequence[str], batch_size: int,
                 device: str, sources: Sequence[Path], facts: dict[str, Any]) -> None:
        self.module = module
        self.labels = list(labels)
        self.batch_size = batch_size
        self.device = device
        self.sources = list(sources)
        self.facts = facts

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        import torch

        images = as_images(texts)
        if not images:
            return torch.zeros((0, self.module.preprocessing.channels, 1, 1))
        _refuse_dataset_normalisation(images[0], self.module.preprocessing)
        stacked = stacked_pixels(images)
        channels = stacked.shape[1]
        wanted = self.module.preprocessing.channels
        if channels != wanted and not (channels == 1 and wanted == 3):
            raise ModelPredictError(f"the model takes {wanted}-channel images and was given "
                                    f"{channels}-channel ones ({images[0].source})")
        return torch.from_numpy(stacked).to(self.device)

    def forward(self, batch: Any) -> Any:
        import torch

        with torch.inference_mode():
            return self.module(batch)

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        return classified_in_batches(self, texts, self.batch_size, self.labels)

    def batching(self) -> Batching:
        return Batching(self.batch_size, sorted_by_length=False)

    def source_files(self) -> list[Path]:
        """The weights (a file, or a transformers directory with its processor config)."""
        return list(self.sources)

    def torch_module(self) -> Any:
        """The wrapper: preprocessing and model (pixels in [0, 1] in, logits out)."""
        return self.module

    def with_module(self, module: Any) -> PreprocessedImageModel:
        clone = PreprocessedImageModel(module, self.labels, self.batch_size, self.device,
                                       self.sources, self.facts)
        clone.cache_predictions = False  # other weights than the files its sources name
        return clone

    def describe(self) -> dict[str, Any]:
        return {**self.facts, "task": "image-classification", "device": self.device,
                "preprocessing": self.module.preprocessing.to_json(),
                **module_facts(self.module.model)}

    def close(self) -> None:
        self.module = None


def _refuse_dataset_normalisation(image: ImageInput, prep: Preprocessing) -> None:
    """The model normalises its inputs itself: a dataset declaring ``mean`` / ``std`` too would
    normalise twice (the pixels reach the model unnormalised; the adversarial kind applies the
    dataset's values as well)."""
    if any(m != 0.0 for m in image.mean) or any(s != 1.0 for s in image.std):
        raise ModelPredictError(
            f"this model normalises its inputs itself (mean {list(prep.mean)}, std "
            f"{list(prep.std)}, from {prep.origin}); the dataset declares image.mean "
            f"{list(image.mean)} and image.std {list(image.std)} as well: remove them from the "
            "dataset's image section")
