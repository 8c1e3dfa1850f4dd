"""MLServer inference runtimes serving a transformers text classifier or a torch image
classifier (``modeltests[serve]``).

MLServer (Seldon's model server) speaks the Open Inference Protocol (V2) of KServe and Triton:
``POST /v2/models/{name}/infer``, ``GET /v2/health/ready``. This runtime loads the model with
modeltests' own ``transformers`` adapter, so that the served model computes exactly what the
in-process model computes, and answers a BYTES tensor of texts with two outputs: ``label``
(BYTES, the predicted label per text) and ``probabilities`` (FP64, shape ``[n, k]``, columns in
the order of the ``labels`` parameter it reports); a request that names ``outputs`` gets those
only, in its order (an unknown name is a 400). A request of two BYTES tensors (the ``http``
adapter's shape for text pairs: the first sides, then the second sides, e.g. ``text`` and
``text_pair``) is classified as pairs; an input of another datatype is a 400 naming BYTES.
The model metadata (``GET /v2/models/{name}``) declares these inputs and outputs, for clients
that build requests from it (tritonclient, KServe's). Only MLServer imports this module::

    // model-settings.json
    {"name": "sentiment", "implementation": "modeltests.mlserver_runtime.TextClassifier",
     "parameters": {"uri": "builtin:sentiment-minilm"}}

``uri`` is a model directory or ``builtin:<name>`` (the embedded demo models:
``sentiment-minilm``, ``nli-tiny``).

``ImageClassifier`` serves a torch image classifier through modeltests' ``torch`` adapter
(``task: image-classification``): one numeric input tensor of images, ``[n, c, h, w]`` (or
``[n, h, w, c]`` with ``extra.layout: NHWC``); ``FP32`` is taken as the module's input (pixels
already normalised, what the ``http`` adapter sends for ``datatype: FP32``), ``UINT8`` as
integers 0-255, scaled by 1/255 and normalised with ``extra.mean`` and ``extra.std`` here. It
answers ``label`` and ``probabilities`` as ``TextClassifier`` does::

    {"name": "digits", "implementation": "modeltests.mlserver_runtime.ImageClassifier",
     "parameters": {"uri": "builtin:digits-cnn"}}

    {"name": "pets", "implementation": "modeltests.mlserver_runtime.ImageClassifier",
     "parameters": {"uri": "/models/pets/weights.pt", "extra": {
        "factory": "pets.net:build", "labels": ["cat", "dog"],
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "layout": "NCHW"}}}

MLServer's own
Hugging Face runtime (``mlserver-huggingface``) answers only the top label and its score, and
its package requires TensorFlow; this runtime returns every class probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlserver import MLModel
from mlserver.codecs import StringCodec
from mlserver.errors import InferenceError
from mlserver.types import (InferenceRequest, InferenceResponse, MetadataTensor, Parameters,
                            ResponseOutput)

from modeltests.adapters.base import LoadContext, ModelAdapter, Predictions
from modeltests.adapters.transformers import TransformersParams, load_transformers
from modeltests.data.inputs import ImageInput, ModelInput, TextPair

PROBABILITIES = "probabilities"
LABEL = "label"
OUTPUTS = (LABEL, PROBABILITIES)
TEXT = "text"
TEXT_PAIR = "text_pair"


BUILTIN_NAMES = ("sentiment-minilm", "nli-tiny", "digits-cnn")
IMAGES = "images"
IMAGE_DATATYPES = ("FP32", "UINT8")


def _builtin(name: str) -> Path:
    if name == "digits-cnn":
        from modeltests.demo.digits import ensure_digits_cnn

        return ensure_digits_cnn()
    if name == "nli-tiny":
        from modeltests.demo.pairs import ensure_pair_bert

        return ensure_pair_bert()
    if name != "sentiment-minilm":
        raise ValueError(f"unknown built-in model {name!r} (allowed: "
                         + ", ".join(f"builtin:{n}" for n in BUILTIN_NAMES) + ")")
    from modeltests.demo.build import ensure_default_model

    return ensure_default_model(progress=False)


class TextClassifier(MLModel):  # type: ignore[misc]  # mlserver ships no type information
    """Texts in (a BYTES tensor), labels and class probabilities out."""

    async def load(self) -> bool:
        uri = str(self.settings.parameters.uri or "")
        if not uri:
            raise ValueError("model-settings.json: parameters.uri must name the model directory")
        context = LoadContext(base_dir=Path.cwd(), rootdir=Path.cwd(), location="model-settings",
                              builtin_model=_builtin, builtin_names=BUILTIN_NAMES)
        self._adapter: ModelAdapter = load_transformers(TransformersParams(path=uri), context)

        self.inputs = [MetadataTensor(name=TEXT, datatype="BYTES", shape=[-1]),
                       MetadataTensor(name=TEXT_PAIR, datatype="BYTES", shape=[-1],
                                      parameters=Parameters(optional=True))]
        self.outputs = _output_metadata(self._adapter.labels)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        if len(payload.inputs) not in (1, 2):
            raise InferenceError(f"expected one input tensor of texts (or two, of text pairs), "
                                 f"got {len(payload.inputs)}")
        for tensor in payload.inputs:
            if tensor.datatype != "BYTES":
                raise InferenceError(f"input {tensor.name!r} is {tensor.datatype}; this model "
                                     "reads texts: send datatype BYTES (one string per text)")
        _requested(payload)  # an unknown output is refused before the model runs
        sides = [[_text(item) for item in StringCodec.decode_input(tensor)]
                 for tensor in payload.inputs]
        texts: list[ModelInput] = list(sides[0])
        if len(sides) == 2:
            if len(sides[1]) != len(sides[0]):
                raise ValueError(f"the two input tensors of text pairs differ in length "
                                 f"({len(sides[0])} and {len(sides[1])})")
            texts = [TextPair(a, b) for a, b in zip(sides[0], sides[1])]
        return _answer(self.name, payload, self._adapter.predict(texts), self._adapter.labels)


def _answer(name: str, payload: InferenceRequest, predictions: Predictions,
            labels: list[str]) -> InferenceResponse:
    """The ``label`` and ``probabilities`` outputs (those the request names, in its order)."""
    wanted = _requested(payload)
    probabilities = predictions.probabilities
    answers = {LABEL: StringCodec.encode_output(LABEL, predictions.labels)}
    if probabilities is not None:
        answers[PROBABILITIES] = ResponseOutput(
            name=PROBABILITIES, shape=list(probabilities.shape), datatype="FP64",
            data=[float(x) for x in probabilities.ravel()],
            parameters={"labels": ",".join(labels)})
    return InferenceResponse(model_name=name, id=payload.id,
                             outputs=[answers[output] for output in wanted or answers
                                      if output in answers])


def _output_metadata(labels: list[str]) -> list[MetadataTensor]:
    return [MetadataTensor(name=LABEL, datatype="BYTES", shape=[-1]),
            MetadataTensor(name=PROBABILITIES, datatype="FP64", shape=[-1, len(labels)],
                           parameters=Parameters(labels=",".join(labels)))]


class ImageClassifier(MLModel):  # type: ignore[misc]  # mlserver ships no type information
    """Images in (one FP32 or UINT8 tensor), labels and class probabilities out."""

    async def load(self) -> bool:
        from modeltests.adapters.image_torch import load_image_torch
        from modeltests.adapters.torch_module import TorchParams

        parameters = self.settings.parameters
        uri = str(parameters.uri or "")
        extra = dict(parameters.extra or {})
        if uri == "builtin:digits-cnn":
            from modeltests.demo.digits import LABELS

            extra = {"factory": "modeltests.demo.digits:digits_cnn", "labels": LABELS, **extra}
        missing = [key for key in ("factory", "labels") if key not in extra]
        if not uri or missing:
            raise ValueError("model-settings.json: parameters.uri must name the weights file "
                             "(or builtin:digits-cnn), and parameters.extra the 'factory' and "
                             f"'labels' (missing: {', '.join(missing) or 'uri'})")
        context = LoadContext(base_dir=Path.cwd(), rootdir=Path.cwd(), location="model-settings",
                              builtin_model=_builtin, builtin_names=BUILTIN_NAMES)
        params = TorchParams(task="image-classification", factory=str(extra["factory"]),
                             weights=uri, labels=list(extra["labels"]))
        self._adapter: ModelAdapter = load_image_torch(params, context)
        self._mean = tuple(float(m) for m in extra.get("mean", [0.0]))
        self._std = tuple(float(s) for s in extra.get("std", [1.0]))
        self._layout = str(extra.get("layout", "NCHW"))
        if self._layout not in ("NCHW", "NHWC"):
            raise ValueError(f"model-settings.json: parameters.extra.layout is "
                             f"{self._layout!r}; allowed: NCHW, NHWC")
        shape = [-1, -1, -1, -1]
        self.inputs = [MetadataTensor(name=IMAGES, datatype=datatype, shape=shape,
                                      parameters=Parameters(layout=self._layout))
                       for datatype in IMAGE_DATATYPES]
        self.outputs = _output_metadata(self._adapter.labels)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        from mlserver.codecs import NumpyCodec

        if len(payload.inputs) != 1:
            raise InferenceError(f"expected one input tensor of images, got "
                                 f"{len(payload.inputs)}")
        (tensor,) = payload.inputs
        if tensor.datatype not in IMAGE_DATATYPES or len(tensor.shape) != 4:
            raise InferenceError(
                f"input {tensor.name!r} is {tensor.datatype} of shape {list(tensor.shape)}; this "
                f"model reads images: send FP32 (normalised pixels) or UINT8 (0-255) of shape "
                f"[n, {', '.join(self._layout[1:]).lower()}] (layout {self._layout})")
        try:
            array = NumpyCodec.decode_input(tensor)
        except ValueError as exc:
            raise InferenceError(f"input {tensor.name!r}: {exc}") from None
        if self._layout == "NHWC":
            array = array.transpose(0, 3, 1, 2)
        images = [self._image(number, pixels, tensor.datatype)
                  for number, pixels in enumerate(array)]
        return _answer(self.name, payload, self._adapter.predict(images), self._adapter.labels)

    def _image(self, number: int, values: Any, datatype: str) -> ImageInput:
        """FP32: the module's input as sent (normalising by 0 and 1 leaves it unchanged);
        UINT8: scaled to [0, 1] and normalised with this model's mean and std."""
        from modeltests.adapters.pixels import from_uint8

        if datatype == "UINT8":
            return ImageInput(f"request[{number}]", from_uint8(values), self._mean, self._std)
        channels = len(values)
        return ImageInput(f"request[{number}]", values, (0.0,) * channels, (1.0,) * channels)


def _requested(payload: InferenceRequest) -> list[str]:
    """The outputs a request names, in its order (none named: all of them)."""
    names = [output.name for output in payload.outputs or []]
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown:
        raise InferenceError(f"unknown output {unknown[0]!r}: this model answers "
                             f"{LABEL!r} (BYTES, one label per text) and {PROBABILITIES!r} "
                             "(FP64, [texts, labels])")
    return names


def _text(item: Any) -> str:
    return item.decode("utf-8") if isinstance(item, bytes) else str(item)
