"""``adapter: torch`` with ``task: image-classification``: a ``torch.nn.Module`` from a factory
(its weights from ``model.weights`` when given) that classifies batches of images.

Inputs are :class:`~modeltests.data.inputs.ImageInput` rows (pixels in [0, 1]); the batch the
module gets is ``(n, channels, height, width)`` float32, normalised with the dataset's declared
``mean`` and ``std`` (or whatever the user's ``collate`` returns). A plain text given to it (a
text kind, or a text dataset) is refused by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from modeltests.adapters.base import LoadContext
from modeltests.adapters.pixels import normalised_batch
from modeltests.adapters.torch_module import TorchModel, TorchParams, factory_module, weights_file
from modeltests.data.inputs import ImageInput, ModelInput, as_display
from modeltests.errors import ModelPredictError


def image_batch(images: Sequence[ImageInput]) -> Any:
    """The default collate: pixels stacked and normalised per channel, as a float32 tensor
    (:func:`~modeltests.adapters.pixels.normalised_batch`, what a V2 FP32 tensor carries)."""
    import torch

    if not images:
        return torch.zeros((0,))
    return torch.from_numpy(normalised_batch(images))


class ImageTorchModel(TorchModel):
    """A torch image classifier: :meth:`predict` takes :class:`ImageInput` rows."""

    inputs = "image"

    def __init__(self, module: Any, collate: Any, params: TorchParams, device: str,
                 weights: Path | None = None) -> None:
        super().__init__(module, collate, params, device)
        self.weights = weights
        # Reusable across runs only when the weights are a file modeltests fingerprints (a
        # factory that reads its own weights elsewhere would leave a stale cache).
        self.cache_predictions = weights is not None

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        images = as_images(texts)
        batch = self.collate(images) if self.collate is not None else image_batch(images)
        return batch.to(self.device)

    def source_files(self) -> list[Path]:
        """The module's code (as for any torch model) and its weights file."""
        return super().source_files() + ([self.weights] if self.weights is not None else [])

    def with_module(self, module: Any) -> ImageTorchModel:
        clone = ImageTorchModel(module, self.collate, self.params, self.device, self.weights)
        clone.cache_predictions = False  # other weights than the files its sources name
        return clone

    def describe(self) -> dict[str, Any]:
        facts = super().describe()
        facts.update({"task": "image-classification",
                      "weights": str(self.weights) if self.weights else None})
        return facts


def as_images(texts: Sequence[ModelInput]) -> list[ImageInput]:
    """``texts`` when every one is an image; a text among them is refused, named."""
    texts_found = [row for row in texts if not isinstance(row, ImageInput)]
    if texts_found:
        raise ModelPredictError(
            f"this is an image classifier (model.task: image-classification) and it was given "
            f"{len(texts_found)} text(s), e.g. {as_display(texts_found[0], 60)!r}: a dataset "
            "of images declares an 'image' section, and text-only kinds do not apply")
    return [row for row in texts if isinstance(row, ImageInput)]


def load_image_torch(params: TorchParams, context: LoadContext) -> ImageTorchModel:
    """The module ``model.factory`` builds, with ``model.weights`` loaded into it."""
    module, collate, device = factory_module(params, context)
    weights = weights_file(params.weights, context) if params.weights is not None else None
    return ImageTorchModel(module, collate, params, device, weights)
