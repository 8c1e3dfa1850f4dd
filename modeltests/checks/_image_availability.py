"""``availability`` on an image classifier: valid answers on ordinary and odd images.

The smoke inputs are the first images of the check's ``dataset``; the odd ones are made in the
dataset's shape (channels x height x width) and normalisation: all black, all white, mid gray,
uniform noise, a dataset image with NaN pixels, the other channel count (one channel for a
three-channel model, three for a one-channel one), half and double the size, a single pixel and
a large image. Each is one line: answered validly (one finite probability row, a label of the
model) or failed with the model's located error (a crash, a shape mismatch, NaN outputs).
Generated inputs are seeded random images; repeatability is measured as for texts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from modeltests.data.inputs import ImageInput, ModelInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from modeltests.data.datasets import ImageDataset

LARGE_SIDE = 512
"""The large odd image: 16 times the dataset's size, at most this many pixels a side (a huge
input is a memory test, not a test of the model's arithmetic)."""
SMOKE_IMAGES = 3


def odd_images(dataset: ImageDataset) -> dict[str, ImageInput]:
    """The odd images, by name, in the dataset's shape and normalisation (see the module)."""
    import numpy as np

    channels, height, width = dataset.shape
    first = dataset.images[0]

    def made(name: str, pixels: npt.NDArray[np.float32]) -> tuple[str, ImageInput]:
        count = pixels.shape[0]
        mean = first.mean if len(first.mean) == count else (first.mean[0],) * count
        std = first.std if len(first.std) == count else (first.std[0],) * count
        return name, ImageInput(f"odd: {name}", pixels, mean, std)

    shape = (channels, height, width)
    nan = first.pixels.copy()
    nan[:, : max(1, height // 4)] = np.nan
    other = 1 if channels == 3 else 3
    large = min(LARGE_SIDE, 16 * max(height, width))
    half = (channels, max(1, height // 2), max(1, width // 2))
    return dict([
        made("all black", np.zeros(shape, np.float32)),
        made("all white", np.ones(shape, np.float32)),
        made("mid gray", np.full(shape, 0.5, np.float32)),
        made("uniform noise", np.random.default_rng(0).random(shape, dtype=np.float32)),
        made("NaN pixels (top quarter)", nan),
        made(f"{other} channel{'s' if other > 1 else ''} (expects {channels})",
             np.repeat(first.pixels.mean(axis=0, keepdims=True), other, axis=0)),
        made(f"half size {half[1]}x{half[2]}", np.full(half, 0.5, np.float32)),
        made(f"double size {2 * height}x{2 * width}",
             first.pixels.repeat(2, axis=1).repeat(2, axis=2)),
        made("1x1 pixel", np.full((channels, 1, 1), 0.5, np.float32)),
        made(f"large {large}x{large}", np.full((channels, large, large), 0.5, np.float32)),
    ])


def random_images(dataset: ImageDataset, count: int, seed: int) -> list[ImageInput]:
    """``count`` seeded random images in the dataset's shape: uniform noise at a random
    brightness and contrast."""
    import numpy as np

    rng = np.random.default_rng(seed)
    first = dataset.images[0]
    out = []
    for i in range(count):
        level, spread = rng.random(2)
        pixels = np.clip(level + spread * (rng.random(dataset.shape) - 0.5), 0.0, 1.0)
        out.append(ImageInput(f"random image {i}", pixels.astype(np.float32), first.mean,
                              first.std))
    return out


Predict = Callable[[list[ModelInput]], Any]


def image_validity(dataset: ImageDataset, predict: Predict, generated: int, seed: int,
                   try_each: Callable[..., float], repeatability: Callable[..., dict[str, float]],
                   labels: list[str], tolerance: float, failures: list[dict[str, Any]]
                   ) -> tuple[dict[str, float], dict[str, Any], int]:
    """The metrics of the smoke, odd and random images (``try_each`` and ``repeatability`` are
    the text availability's own), the report's details, and how many images were tried."""
    smoke: dict[str, ModelInput] = {f"smoke {i}": image for i, image in
                                    enumerate(dataset.images[:SMOKE_IMAGES])}
    odd: dict[str, ModelInput] = dict(odd_images(dataset))
    metrics = {"smoke_pass_rate": try_each(predict, smoke, labels, failures),
               "edge_pass_rate": try_each(predict, odd, labels, failures)}
    passed = {name for name in odd} - {f["input"] for f in failures}
    steady = [*smoke.values(), *(odd[name] for name in list(odd)[:4] if name in passed)]
    metrics.update(repeatability(predict, steady, tolerance, failures))
    random = {f"random {i}": image for i, image in
              enumerate(random_images(dataset, generated, seed))}
    if random:
        metrics["generated_pass_rate"] = try_each(predict, random, labels, failures,
                                                  batched=True)
    details = {"edge_inputs": {name: name in passed for name in odd},
               "image_shape": list(dataset.shape), "dataset": dataset.name}
    return metrics, details, len(smoke) + len(odd) + len(random)
