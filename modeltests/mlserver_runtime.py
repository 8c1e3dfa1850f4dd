"""An MLServer inference runtime serving a transformers classifier (``modeltests[serve]``).

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
``sentiment-minilm``, ``nli-tiny``). MLServer's own
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

from modeltests.adapters.base import LoadContext, ModelAdapter
from modeltests.adapters.transformers import TransformersParams, load_transformers
from modeltests.data.inputs import ModelInput, TextPair

PROBABILITIES = "probabilities"
LABEL = "label"
OUTPUTS = (LABEL, PROBABILITIES)
TEXT = "text"
TEXT_PAIR = "text_pair"


BUILTIN_NAMES = ("sentiment-minilm", "nli-tiny")


def _builtin(name: str) -> Path:
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
        self.outputs = [MetadataTensor(name=LABEL, datatype="BYTES", shape=[-1]),
                        MetadataTensor(name=PROBABILITIES, datatype="FP64",
                                       shape=[-1, len(self._adapter.labels)],
                                       parameters=Parameters(
                                           labels=",".join(self._adapter.labels)))]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        if len(payload.inputs) not in (1, 2):
            raise InferenceError(f"expected one input tensor of texts (or two, of text pairs), "
                                 f"got {len(payload.inputs)}")
        for tensor in payload.inputs:
            if tensor.datatype != "BYTES":
                raise InferenceError(f"input {tensor.name!r} is {tensor.datatype}; this model "
                                     "reads texts: send datatype BYTES (one string per text)")
        wanted = _requested(payload)
        sides = [[_text(item) for item in StringCodec.decode_input(tensor)]
                 for tensor in payload.inputs]
        texts: list[ModelInput] = list(sides[0])
        if len(sides) == 2:
            if len(sides[1]) != len(sides[0]):
                raise ValueError(f"the two input tensors of text pairs differ in length "
                                 f"({len(sides[0])} and {len(sides[1])})")
            texts = [TextPair(a, b) for a, b in zip(sides[0], sides[1])]
        predictions = self._adapter.predict(texts)
        probabilities = predictions.probabilities
        answers = {LABEL: StringCodec.encode_output(LABEL, predictions.labels)}
        if probabilities is not None:
            answers[PROBABILITIES] = ResponseOutput(
                name=PROBABILITIES, shape=list(probabilities.shape), datatype="FP64",
                data=[float(x) for x in probabilities.ravel()],
                parameters={"labels": ",".join(self._adapter.labels)})
        return InferenceResponse(model_name=self.name, id=payload.id,
                                 outputs=[answers[name] for name in wanted or answers
                                          if name in answers])


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
