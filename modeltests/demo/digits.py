"""``builtin:digits-cnn``: a small CNN trained in seconds on scikit-learn's bundled handwritten
digits (1,797 grayscale 8x8 images, shipped inside scikit-learn, so offline).

The split is fixed (stratified, ``random_state=0``): 1,437 images train the model and the 360
held out are ``suites/data/digits_test.npz`` (uint8 0-255, written by :func:`write_test_split`),
the dataset ``suites/digits.yaml`` tests on; a unit test checks the committed file equals this
split, so the model never saw a test image. Training runs on one thread with a fixed seed, so
the weights are the same on every machine; they are saved as a state dict (``weights.pt``) and
loaded into :func:`digits_cnn` by ``adapter: torch``, ``task: image-classification``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeltests.demo.cache import built_once, write_marker

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

DIGITS_RECIPE = "digits-cnn-v1"
LABELS = [str(digit) for digit in range(10)]
TEST_SIZE = 360
EPOCHS = 12
BATCH = 32
LEARNING_RATE = 3e-3
SEED = 0


def digits_cnn() -> Any:
    """The untrained network (the ``model.factory`` of the digits suite): two 3x3
    convolutions and a linear layer over 1x8x8 inputs, 10 logits."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 4 * 4, 10))


def digits_split() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64],
                            npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """``(train_images, train_labels, test_images, test_labels)``: the digits as uint8 8x8
    images (0-16 scaled to 0-255, rounded), split 1,437 / 360, stratified, ``random_state=0``."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=TEST_SIZE, stratify=labels, random_state=0)
    return train_x, train_y, test_x, test_y


def write_test_split(path: Path) -> Path:
    """The held-out images and labels as an ``.npz`` (``images``, ``labels``)."""
    import numpy as np

    _, _, test_x, test_y = digits_split()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=test_x, labels=test_y)
    return path


def train_digits_cnn(seed: int = SEED, epochs: int = EPOCHS) -> tuple[Any, float]:
    """The CNN trained on the training split (one thread, Adam, fixed seed), and its accuracy
    on the held-out split."""
    import numpy as np
    import torch

    train_x, train_y, test_x, test_y = digits_split()
    inputs = torch.from_numpy(train_x.astype(np.float32)[:, None] / 255.0)
    targets = torch.from_numpy(train_y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same weights everywhere, and fast beside busy processes
    try:
        torch.manual_seed(seed)
        model = digits_cnn()
        optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        order = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            shuffled = torch.randperm(len(inputs), generator=order)
            for start in range(0, len(shuffled), BATCH):
                batch = shuffled[start:start + BATCH]
                optimiser.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(inputs[batch]), targets[batch])
                torch.autograd.backward(loss)
                optimiser.step()
        model.eval()
        with torch.inference_mode():
            test = torch.from_numpy(test_x.astype(np.float32)[:, None] / 255.0)
            accuracy = float((model(test).argmax(1).numpy() == test_y).mean())
    finally:
        torch.set_num_threads(threads)
    return model, accuracy


def build_digits_cnn(directory: Path) -> Path:
    """Train the CNN and save ``weights.pt`` (a state dict) and the build marker."""
    import torch

    started = time.perf_counter()
    model, accuracy = train_digits_cnn()
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), directory / "weights.pt")
    write_marker(directory, {"recipe": DIGITS_RECIPE, "accuracy": accuracy, "seed": SEED,
                             "epochs": EPOCHS, "threads": 1, "labels": LABELS,
                             "seconds": round(time.perf_counter() - started, 1)})
    return directory


def ensure_digits_cnn() -> Path:
    """The directory of :func:`build_digits_cnn`, built once into ``<cache>/models/``."""
    from modeltests.support.environment import cache_dir

    return built_once(cache_dir() / "models" / DIGITS_RECIPE, DIGITS_RECIPE, build_digits_cnn,
                      announce="training builtin:digits-cnn (a few seconds, once)")
