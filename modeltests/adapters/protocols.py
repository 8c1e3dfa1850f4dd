"""Request bodies and answers of the ``http`` adapter's protocols (pure functions, no I/O).

``plain``: ``{"<input_key>": ["text", ...]}`` (a pair of texts: ``["first", "second"]``) in, ``{"<output_key>": [...]}`` out, one label
name, label index or probability row per text.

``v2``: the Open Inference Protocol of KServe, Triton and MLServer. The texts go as one BYTES
tensor (``{"inputs": [{"name": "text", "shape": [n], "datatype": "BYTES", "data": [...]}]}``;
pairs of texts as two such tensors, the second sides named ``pair_input_name``, default
``text_pair``);
the answer's ``outputs`` are read in this order of preference:

1. a numeric tensor named ``probabilities_output`` of shape ``[n, k]``: one probability row per
   text (when the tensor's ``parameters.labels`` names its columns, they are put in the suite's
   label order);
2. a BYTES tensor named ``label_output``: one label per text, and no probabilities. MLServer's
   Hugging Face runtime answers a JSON object per text (``{"label": ..., "score": ...}``): the
   score is the top label's only, so the probabilities of the other labels are unknown and
   checks that need probabilities skip or fail for want of them.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from modeltests.data.inputs import ModelInput, any_pairs, split_pairs
from modeltests.errors import ModelPredictError

NUMERIC = {"FP16", "FP32", "FP64", "BF16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
           "UINT32", "UINT64"}


def plain_body(texts: Sequence[ModelInput], input_key: str) -> dict[str, Any]:
    """A text goes as a string, a pair of texts as a two-element list ``[first, second]``."""
    return {input_key: [list(t) if isinstance(t, tuple) else t for t in texts]}


def plain_outputs(payload: Any, output_key: str, url: str) -> list[Any]:
    if not isinstance(payload, dict) or output_key not in payload:
        raise ModelPredictError(f"{url} answered without the key {output_key!r} "
                                "(model.output_key)")
    outputs = payload[output_key]
    if not isinstance(outputs, list):
        raise ModelPredictError(f"{url} answered {output_key!r} as {type(outputs).__name__}, "
                                "not a list (one output per text)")
    return outputs


def v2_body(texts: Sequence[ModelInput], input_name: str,
            pair_input_name: str = "text_pair") -> dict[str, Any]:
    """One BYTES tensor of texts; for pairs, two: the first sides under ``input_name``, the
    second sides under ``pair_input_name`` (the names of a tokenizer's arguments)."""
    if any_pairs(texts):
        firsts, seconds = split_pairs(texts)
        return {"inputs": [{"name": name, "shape": [len(texts)], "datatype": "BYTES",
                            "data": side}
                           for name, side in ((input_name, firsts),
                                              (pair_input_name, seconds))]}
    return {"inputs": [{"name": input_name, "shape": [len(texts)], "datatype": "BYTES",
                        "data": list(texts)}]}


def v2_outputs(payload: Any, url: str, probabilities_output: str, label_output: str,
               labels: Sequence[str]) -> list[Any]:
    """Per text, a probability row in ``labels`` order, or a label name."""
    outputs = payload.get("outputs") if isinstance(payload, dict) else None
    if not isinstance(outputs, list):
        raise ModelPredictError(f"{url} answered without 'outputs' (the Open Inference "
                                "Protocol's response; model.protocol is v2)")
    by_name = {str(o.get("name")): o for o in outputs if isinstance(o, dict)}
    if probabilities_output in by_name:
        return _rows(by_name[probabilities_output], url, labels)
    if label_output in by_name:
        return [_label(item) for item in _data(by_name[label_output], url)]
    raise ModelPredictError(f"{url} answered the outputs {sorted(by_name)}; expected "
                            f"{probabilities_output!r} (model.probabilities_output) or "
                            f"{label_output!r} (model.label_output)")


def _data(output: dict[str, Any], url: str) -> list[Any]:
    data = output.get("data")
    if not isinstance(data, list):
        raise ModelPredictError(f"{url} answered output {output.get('name')!r} without a 'data' "
                                "list")
    return data


def _rows(output: dict[str, Any], url: str, labels: Sequence[str]) -> list[list[float]]:
    name = output.get("name")
    if output.get("datatype") not in NUMERIC:
        raise ModelPredictError(f"{url} answered output {name!r} as {output.get('datatype')!r}, "
                                "not a numeric tensor")
    data = _data(output, url)
    shape = output.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and shape[0] * shape[1] == len(data)):
        raise ModelPredictError(f"{url} answered output {name!r} with shape {shape!r} and "
                                f"{len(data)} values; expected [texts, labels]")
    width = int(shape[1])
    rows = [[float(x) for x in data[i * width:(i + 1) * width]] for i in range(int(shape[0]))]
    return _in_label_order(rows, output, url, labels)


def _in_label_order(rows: list[list[float]], output: dict[str, Any], url: str,
                    labels: Sequence[str]) -> list[list[float]]:
    parameters = output.get("parameters")
    named = parameters.get("labels") if isinstance(parameters, dict) else None
    if not isinstance(named, str):
        return rows
    columns = named.split(",")
    if sorted(columns) != sorted(labels):
        raise ModelPredictError(f"{url} names its probability columns {columns}; the suite's "
                                f"labels are {list(labels)} (model.labels)")
    order = [columns.index(label) for label in labels]
    return [[row[i] for i in order] for row in rows]


def _label(item: Any) -> Any:
    """A label, or the ``label`` of a JSON object ``{"label": ..., "score": ...}``."""
    if isinstance(item, str) and item.startswith("{"):
        try:
            decoded = json.loads(item)
        except ValueError:
            return item
        if isinstance(decoded, dict) and "label" in decoded:
            return str(decoded["label"])
    return item
