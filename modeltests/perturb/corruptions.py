"""The ImageNet-C common corruptions (Hendrycks & Dietterich, ICLR 2019) through the
``imagecorruptions`` package, applied to one image at one severity, reproducibly.

The package is imported as ``imagecorruptions``; the distribution that installs it is
``imagecorruptions-imaug`` (the maintained fork: the last ``imagecorruptions`` release, 1.1.2 of
2020, no longer imports with setuptools >= 81, numpy 2 or scikit-image >= 0.19). Its contract,
which :func:`corrupt_pixels` keeps:

* ``corrupt()`` takes uint8 pixels, height and width at least 32, and always works on three
  channels (a gray image is repeated to RGB). A smaller image is enlarged by the smallest whole
  factor that reaches 32 (each pixel repeated, so nothing is invented), corrupted, and brought
  back by keeping the centre pixel of each block: with no corruption the round trip gives the
  image back exactly, and per-pixel noise keeps its strength (averaging the blocks would divide
  it by the factor). Blurs, zoom, pixelation and elastic warps then act at the enlarged scale:
  on the original image they reach 1/factor as far as the severity says.
* A one-channel model sees the first channel of the result. Every corruption but ``frost``,
  ``spatter`` and ``saturate`` keeps a repeated gray image gray except for its noise, which the
  package draws per channel: the first channel is the corruption of the gray image at full
  strength (averaging the three would weaken the noise about 1.5x).
* Its randomness comes from numpy's global generator, and ``glass_blur`` and ``impulse_noise``
  take their own ``seed``: each image is corrupted after seeding both with
  :func:`image_seed` (the check's seed, the corruption, the severity, the image's index), and the
  global generator's state is restored after, so the result is reproducible and cacheable.

numpy and the package are imported inside the functions.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

CorruptionName = Literal[
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression", "speckle_noise", "gaussian_blur",
    "spatter", "saturate"]
FamilyName = Literal["noise", "blur", "weather", "digital", "common", "extra"]
CorruptionChoice = Literal[CorruptionName, FamilyName]
"""What a suite may name: a corruption or a family of them."""
Severity = Literal[1, 2, 3, 4, 5]

FAMILIES: dict[str, tuple[str, ...]] = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise"),
    "blur": ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur"),
    "weather": ("snow", "frost", "fog", "brightness"),
    "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression"),
    "extra": ("speckle_noise", "gaussian_blur", "spatter", "saturate"),
}
"""ImageNet-C's four families of the 15 common corruptions, and its 4 held-out ("validation")
corruptions, as the package groups them."""
FAMILIES["common"] = FAMILIES["noise"] + FAMILIES["blur"] + FAMILIES["weather"] + \
    FAMILIES["digital"]

MIN_SIDE = 32
"""The smallest height and width the package's ``corrupt()`` accepts."""
DISTRIBUTION = "imagecorruptions-imaug"


def expand(names: list[str]) -> list[str]:
    """Corruption names with family names replaced by their members (order kept, each once)."""
    out: list[str] = []
    for name in names:
        for member in FAMILIES.get(name, (name,)):
            if member not in out:
                out.append(member)
    return out


def image_seed(seed: int, corruption: str, severity: int, index: int) -> int:
    """The seed of one image's corruption: the same on every machine and in every process."""
    text = f"{seed}:{corruption}:{severity}:{index}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "big")


def corrupt_images(images: list[npt.NDArray[np.float32]], corruption: str, severity: int,
                   seeds: list[int]) -> list[npt.NDArray[np.float32]]:
    """Each of ``images`` (channels x height x width, in [0, 1]) corrupted by the package with
    its own seed, in the same shape and range; numpy's global generator is restored after."""
    import numpy as np

    state = np.random.get_state()
    try:
        return [corrupt_pixels(image, corruption, severity, seed)
                for image, seed in zip(images, seeds)]
    finally:
        np.random.set_state(state)


def corrupt_pixels(pixels: npt.NDArray[np.float32], corruption: str, severity: int,
                   seed: int) -> npt.NDArray[np.float32]:
    """``pixels`` corrupted by the package after seeding numpy's global generator with
    ``seed`` (left seeded: :func:`corrupt_images` restores it); see the module's docstring for
    the contract kept."""
    import numpy as np

    channels, height, width = pixels.shape
    factor = enlargement(height, width)
    image = np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(1, 2, 0)
    if factor > 1:
        image = image.repeat(factor, axis=0).repeat(factor, axis=1)
    corrupted = library_corrupt(image if channels == 3 else image[..., 0], corruption, severity,
                                seed).astype(np.float32)
    if factor > 1:  # the centre pixel of each block: noise keeps its strength per pixel
        corrupted = corrupted[factor // 2::factor, factor // 2::factor]
    kept = corrupted if channels == 3 else corrupted[..., :1]
    return np.ascontiguousarray(kept.transpose(2, 0, 1) / 255.0, dtype=np.float32)


def enlargement(height: int, width: int) -> int:
    """The whole factor that brings the smaller side to at least :data:`MIN_SIDE` (1 if it is)."""
    side = min(height, width)
    return 1 if side >= MIN_SIDE else -(-MIN_SIDE // side)


def library_corrupt(image: npt.NDArray[np.uint8], corruption: str, severity: int, seed: int
                    ) -> npt.NDArray[np.uint8]:
    """The package's ``corrupt()`` on a uint8 image (height x width [x 3]) after seeding numpy's
    global generator with ``seed``, and with ``seed=`` to the corruptions that take their own;
    the result is height x width x 3, uint8."""
    import numpy as np
    from imagecorruptions import corrupt

    kwargs: dict[str, Any] = {"seed": seed} if takes_seed(corruption) else {}
    np.random.seed(seed)
    out: npt.NDArray[np.uint8] = corrupt(image, severity=severity, corruption_name=corruption,
                                         **kwargs)
    return out


@functools.lru_cache(maxsize=None)
def takes_seed(corruption: str) -> bool:
    """Whether the package's function for ``corruption`` takes its own ``seed``."""
    from imagecorruptions import corruption_dict

    return "seed" in inspect.signature(corruption_dict[corruption]).parameters


def library_version() -> str:
    """``imagecorruptions-imaug 1.1.5`` (the distribution and its version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{DISTRIBUTION} {version(DISTRIBUTION)}"
    except PackageNotFoundError:
        return "imagecorruptions (distribution unknown)"
