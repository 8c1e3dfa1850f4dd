"""Images of declared sizes for the kinds that measure an image model over sizes (``footprint``,
``latency``): a dataset's images resized to each ``image_sizes`` side, and a probe that turns a
size the model cannot take into a located error naming the size and the model's own error.

Many image classifiers read exactly one size (a CNN whose last layer has a fixed width, such as
``builtin:digits-cnn``, reads 8x8 only); a sweep over sizes is meaningful only for models that
pool globally. The probe runs each size on one image before anything is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.context import CheckContext
    from modeltests.data.inputs import ImageInput


@dataclass(frozen=True)
class SizedImages:
    """Images of one size: ``label`` (``8x8``), the height (the size axis) and the images."""

    label: str
    height: int
    images: list[ImageInput]


MAX_SIDE = 8192


def valid_sides(value: list[int] | None) -> list[int] | None:
    """The ``image_sizes`` validator of the kinds that take them: each side in [1, 8192]."""
    if value is not None and any(n < 1 or n > MAX_SIDE for n in value):
        raise ValueError(f"each image size must be an integer in [1, {MAX_SIDE}]")
    return value


def reads_images(adapter: ModelAdapter) -> bool:
    """Whether the adapter classifies images (``task: image-classification``)."""
    return getattr(adapter, "inputs", "text") == "image"


def sized_images(context: CheckContext, dataset: str | None, sizes: list[int] | None,
                 count: int) -> list[SizedImages]:
    """The first ``count`` images of ``dataset`` at each side in ``sizes`` (square, bilinear),
    smallest first; without ``sizes``, the images as the dataset holds them."""
    from modeltests.data.datasets import ImageDataset
    from modeltests.data.images import resized_input

    if dataset is None:
        raise context.error("dataset", "an image model is measured on images of a dataset: set "
                            "'dataset' to a dataset with an 'image' section (image_sizes "
                            "resizes its images)")
    found = context.dataset(dataset)
    if not isinstance(found, ImageDataset):
        key = "image_sizes" if sizes else "dataset"
        raise context.error(key, f"dataset {dataset!r} holds texts; image sizes apply to a "
                            "dataset of images (declare an 'image' section)")
    images = list(found.images[:count])
    if not sizes:
        _, height, width = images[0].pixels.shape
        return [SizedImages(f"{height}x{width}", height, images)]
    return [SizedImages(f"{side}x{side}", side,
                        [resized_input(image, side, side) for image in images])
            for side in sorted(set(sizes))]


def probe_sizes(context: CheckContext, adapter: ModelAdapter, sized: list[SizedImages],
                role: str = "the model") -> None:
    """Run ``adapter`` on one image of each size; a size it cannot take is a located error at
    ``image_sizes`` that names the size and the model's error (never a traceback)."""
    for entry in sized:
        try:
            adapter.predict(entry.images[:1])
        except Exception as exc:  # the model's own error, whatever it raises
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise context.error("image_sizes", f"{role} cannot take {entry.label} images: "
                                f"{type(exc).__name__}: {message} (a model with a fixed-size "
                                "layer reads one size only; list the sizes it takes)") from None
