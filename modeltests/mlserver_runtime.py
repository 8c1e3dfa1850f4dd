"""An MLServer inference runtime serving a transformers classifier (``modeltests[serve]``).

MLServer (Seldon's model server) speaks the Open Inference Protocol (V2) of KServe and Triton:
``POST /v2/models/{name}/infer``, ``GET /v2/health/ready``. This runtime loads the model with
modeltests' own ``transformers`` adapter, so that the served model computes exactly what the
in-process model computes, and answers a BYTES tensor of texts with two outputs: ``label``
(BYTES, the predicted label per text) and ``probabilities`` (FP64, shape ``[n, k]``, columns in
the order of the ``labels`` parameter it reports). A request of two BYTES tensors (the ``http``
adapter's shape for text pairs: the first sides, then the second sides, e.g. ``text`` and
``text_pair``) is classified as pairs. Only MLServer imports this module::

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
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput

from modeltests.adapters.base import LoadContext, ModelAdapter
from modeltests.adapters.transformers import TransformersParams, load_transformers
from modeltests.data.inputs import ModelInput, TextPair

PROBABILITIES = "probabilities"
LABEL = "label"


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
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        if len(payload.inputs) not in (1, 2):
            raise ValueError(f"expected one input tensor of texts (or two, of text pairs), got "
                             f"{len(payload.inputs)}")
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
        outputs = [StringCodec.encode_output(LABEL, predictions.labels)]
        if probabilities is not None:
            outputs.append(ResponseOutput(
                name=PROBABILITIES, shape=list(probabilities.shape), datatype="FP64",
                data=[float(x) for x in probabilities.ravel()],
                parameters={"labels": ",".join(self._adapter.labels)}))
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=outputs)


def _text(item: Any) -> str:
    return item.decode("utf-8") if isinstance(item, bytes) else str(item)
