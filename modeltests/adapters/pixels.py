"""Images as arrays: the float batch a torch image classifier is given, and the 0-255 integers
an image goes over the wire as (the ``http`` adapter's UINT8 tensors, the MLServer runtime).

modeltests holds every image as float32 pixels in [0, 1] (:class:`~modeltests.data.inputs.
ImageInput`). :func:`normalised_batch` is what ``adapter: torch`` feeds its module and what a
V2 FP32 tensor carries; :func:`as_uint8` is what a UINT8 tensor carries, and
:func:`from_uint8` reads it back exactly as the dataset loader scales uint8 files, so an image
that came from 0-255 integers (an ``.npz`` of uint8, a PNG) travels as UINT8 without loss.
numpy is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from modeltests.data.inputs import ImageInput
from modeltests.errors import ModelPredictError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def stacked_pixels(images: Sequence[ImageInput]) -> npt.NDArray[np.float32]:
    """The images' pixels as one ``(n, channels, height, width)`` float32 array in [0, 1]; a
    batch of several shapes is refused."""
    import numpy as np

    shapes = {image.pixels.shape for image in images}
    if len(shapes) > 1:
        raise ModelPredictError(f"a batch mixes image shapes {sorted(shapes)}; declare "
                                "image.size in the dataset to resize them alike")
    return np.stack([image.pixels for image in images]).astype(np.float32, copy=False)


def normalised_batch(images: Sequence[ImageInput]) -> npt.NDArray[np.float32]:
    """``(pixels - mean) / std`` per channel, float32, with the first image's ``mean`` and
    ``std`` (a dataset declares one normalisation for all its images)."""
    import numpy as np

    first = images[0]
    mean = np.asarray(first.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(first.std, dtype=np.float32)[:, None, None]
    normalised: npt.NDArray[np.float32] = (stacked_pixels(images) - mean) / std
    return normalised


def as_uint8(pixels: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Pixels in [0, 1] as integers 0-255: ``round(pixels * 255)``, clipped (no
    normalisation: the receiver scales by 1/255 and normalises)."""
    import numpy as np

    integers: npt.NDArray[np.uint8] = np.clip(np.rint(pixels * np.float32(255.0)), 0,
                                              255).astype(np.uint8)
    return integers


def from_uint8(values: Any) -> npt.NDArray[np.float32]:
    """Integers 0-255 as float32 pixels in [0, 1], as the dataset loader scales uint8 images
    (``values / 255`` in float32), so that ``from_uint8(as_uint8(p)) == p`` for such images."""
    import numpy as np

    scaled: npt.NDArray[np.float32] = np.asarray(values).astype(np.float32) / 255.0
    return scaled
