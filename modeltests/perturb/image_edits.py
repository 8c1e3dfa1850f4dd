"""Edits of an image that should not change what a classifier sees in it: flips, small
rotations, a centre crop resized back, brightness up and down (the image perturbations of the
``invariance`` kind).

Pixels are channels x height x width in [0, 1]; every edit keeps the shape and the range.
Rotations and resizing are Pillow's, per channel, in float (mode ``F``, bilinear); a rotation
fills the corners it uncovers with 0 (black, as torchvision's ``RandomRotation`` does by
default). No edit draws at random: each perturbation's variants are fixed (``rotate`` turns by
``+degrees`` and ``-degrees``, ``brightness`` adds ``+delta`` and ``-delta``), so a run is the
same on every machine. numpy and Pillow are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal, get_args

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

ImageEditName = Literal["flip_horizontal", "flip_vertical", "rotate", "crop", "brightness"]
IMAGE_EDITS: tuple[str, ...] = get_args(ImageEditName)


@dataclass(frozen=True)
class EditStrengths:
    """How far the edits go: degrees of ``rotate``, the share of each side ``crop`` keeps,
    the pixel shift of ``brightness``."""

    degrees: float = 10.0
    crop_fraction: float = 0.9
    brightness_delta: float = 0.1


def variants(name: str, strengths: EditStrengths) -> list[str]:
    """The fixed variants of one edit, as they are named in the report."""
    if name == "rotate":
        return [f"rotate {sign}{strengths.degrees:g}deg" for sign in "+-"]
    if name == "brightness":
        return [f"brightness {sign}{strengths.brightness_delta:g}" for sign in "+-"]
    if name == "crop":
        return [f"crop {strengths.crop_fraction:g}"]
    return [name]


def edit(pixels: npt.NDArray[np.float32], variant: str, strengths: EditStrengths
         ) -> npt.NDArray[np.float32]:
    """``pixels`` with one variant (from :func:`variants`) applied."""
    import numpy as np

    name, _, amount = variant.partition(" ")
    sign = -1.0 if amount.startswith("-") else 1.0
    if name == "flip_horizontal":
        out = pixels[:, :, ::-1]
    elif name == "flip_vertical":
        out = pixels[:, ::-1, :]
    elif name == "rotate":
        out = _per_channel(pixels, lambda plane: plane.rotate(
            sign * strengths.degrees, resample=_bilinear(), fillcolor=0.0))
    elif name == "crop":
        out = _centre_crop(pixels, strengths.crop_fraction)
    elif name == "brightness":
        out = pixels + sign * strengths.brightness_delta
    else:
        raise ValueError(f"unknown image edit {variant!r}")
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


def _centre_crop(pixels: npt.NDArray[np.float32], fraction: float) -> npt.NDArray[np.float32]:
    """The centre ``fraction`` of each side (at least one pixel), resized back (bilinear)."""
    _, height, width = pixels.shape
    kept_h, kept_w = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - kept_h) // 2, (width - kept_w) // 2
    crop = pixels[:, top:top + kept_h, left:left + kept_w]
    return _per_channel(crop, lambda plane: plane.resize((width, height), _bilinear()))


def _per_channel(pixels: npt.NDArray[np.float32], change: Callable[[Image.Image], Image.Image]
                 ) -> npt.NDArray[np.float32]:
    """``change`` applied to each channel as a float (mode ``F``) Pillow image."""
    import numpy as np
    from PIL import Image

    planes = [np.asarray(change(Image.fromarray(np.ascontiguousarray(plane), mode="F")),
                         dtype=np.float32) for plane in pixels]
    return np.stack(planes)


def _bilinear() -> Image.Resampling:
    from PIL import Image

    return Image.Resampling.BILINEAR
