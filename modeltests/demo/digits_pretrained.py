"""Two more digit classifiers in other libraries' formats, trained in seconds on the same split
as ``builtin:digits-cnn`` (:func:`modeltests.demo.digits.digits_split`):

- ``builtin:digits-vit``: a transformers ``ViTForImageClassification`` (8x8 RGB images, 2x2
  patches, hidden size 32, 2 layers), saved with ``save_pretrained`` beside its
  ``ViTImageProcessor`` (resize to 8x8, a no-op on the digits; mean and std 0.5). RGB, as
  transformers' pipeline reads every image (``load_image`` converts to RGB): the gray digits
  are given as three equal channels, in training as in testing;
- ``builtin:digits-timm``: timm's ``test_efficientnet`` (its smallest test architecture that
  learns the 8x8 digits: 0.95 after six epochs) with ``in_chans=1``, its state dict saved as
  ``model.safetensors``; the suite declares ``model_args: {in_chans: 1}`` and the data config
  (:data:`TIMM_DATA_CONFIG`), since timm's defaults for the architecture are 3x160x160 RGB.

Both train on one thread with a fixed seed, batches of 128, AdamW: about 5 s each here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from modeltests.demo.cache import built_once, write_marker
from modeltests.demo.digits import LABELS, digits_split

VIT_RECIPE = "digits-vit-v1"
TIMM_RECIPE = "digits-timm-v1"
TIMM_ARCHITECTURE = "test_efficientnet"
TIMM_MODEL_ARGS = {"in_chans": 1}
TIMM_DATA_CONFIG = {"input_size": [1, 8, 8], "mean": [0.5], "std": [0.5], "crop_pct": 1.0}
"""What the digits' timm suite declares: one 8x8 channel, normalised as in training."""
SEED = 0
BATCH = 128


def _train(model: Any, epochs: int, learning_rate: float, channels: int = 1) -> float:
    """Train ``model`` (pixels normalised as ``(x - 0.5) / 0.5``, the gray channel repeated
    ``channels`` times) on the training split, on one thread; its accuracy on the held-out
    split."""
    import numpy as np
    import torch

    train_x, train_y, test_x, test_y = digits_split()
    inputs = _normalised(train_x, channels)
    targets = torch.from_numpy(train_y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
        order = torch.Generator().manual_seed(SEED)
        for _ in range(epochs):
            model.train()
            shuffled = torch.randperm(len(inputs), generator=order)
            for start in range(0, len(shuffled), BATCH):
                batch = shuffled[start:start + BATCH]
                optimiser.zero_grad()
                output = model(inputs[batch])
                logits = getattr(output, "logits", output)
                torch.autograd.backward(torch.nn.functional.cross_entropy(logits, targets[batch]))
                optimiser.step()
        model.eval()
        with torch.inference_mode():
            output = model(_normalised(test_x, channels))
            predicted = getattr(output, "logits", output).argmax(1).numpy()
    finally:
        torch.set_num_threads(threads)
    return float((predicted == test_y).mean())


def _normalised(images: Any, channels: int) -> Any:
    import numpy as np
    import torch

    pixels = torch.from_numpy(images.astype(np.float32)[:, None] / 255.0)
    return (pixels.repeat(1, channels, 1, 1) - 0.5) / 0.5


def build_digits_vit(directory: Path) -> Path:
    """Train the ViT; ``save_pretrained`` it and its image processor into ``directory``."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    started = time.perf_counter()
    torch.manual_seed(SEED)
    config = ViTConfig(image_size=8, patch_size=2, num_channels=3, hidden_size=32,
                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
                       label2id={label: i for i, label in enumerate(LABELS)})
    model = ViTForImageClassification(config)
    accuracy = _train(model, epochs=20, learning_rate=1e-2, channels=3)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    ViTImageProcessor(size={"height": 8, "width": 8}, image_mean=[0.5] * 3,
                      image_std=[0.5] * 3).save_pretrained(directory)
    write_marker(directory, {"recipe": VIT_RECIPE, "accuracy": accuracy, "seed": SEED,
                             "threads": 1, "seconds": round(time.perf_counter() - started, 1)})
    return directory


def build_digits_timm(directory: Path) -> Path:
    """Train timm's ``test_efficientnet`` (one input channel); save ``model.safetensors``."""
    import timm
    import torch
    from safetensors.torch import save_file

    started = time.perf_counter()
    torch.manual_seed(SEED)
    model = timm.create_model(TIMM_ARCHITECTURE, pretrained=False, num_classes=len(LABELS),
                              **TIMM_MODEL_ARGS)
    accuracy = _train(model, epochs=6, learning_rate=1e-2)
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(directory / "model.safetensors"))
    write_marker(directory, {"recipe": TIMM_RECIPE, "accuracy": accuracy, "seed": SEED,
                             "architecture": TIMM_ARCHITECTURE, "model_args": TIMM_MODEL_ARGS,
                             "data_config": TIMM_DATA_CONFIG, "timm": timm.__version__,
                             "threads": 1, "seconds": round(time.perf_counter() - started, 1)})
    return directory


def _ensure(recipe: str, build: Callable[[Path], Path], what: str) -> Path:
    from modeltests.support.environment import cache_dir

    return built_once(cache_dir() / "models" / recipe, recipe, build,
                      announce=f"training {what} (a few seconds, once)")


def ensure_digits_vit() -> Path:
    """The directory of :func:`build_digits_vit`, built once into ``<cache>/models/``."""
    return _ensure(VIT_RECIPE, build_digits_vit, "builtin:digits-vit")


def ensure_digits_timm() -> Path:
    """The directory of :func:`build_digits_timm` (needs timm), built once into the cache."""
    from modeltests.errors import ModelLoadError

    try:
        import timm  # noqa: F401
    except Exception as exc:  # PyPI's torchvision beside a CPU torch fails with RuntimeError
        raise ModelLoadError(f"builtin:digits-timm is trained with timm, which cannot be "
                             f"imported here ({type(exc).__name__}: {exc}); pip install "
                             "'modeltests[timm]' (see pyproject.toml)") from None
    return _ensure(TIMM_RECIPE, build_digits_timm, "builtin:digits-timm")
