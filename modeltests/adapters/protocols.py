"""Request bodies and answers of the ``http`` adapter's protocols (pure functions, no I/O).

``plain``: ``{"<input_key>": ["text", ...]}`` (a pair of texts: ``["first", "second"]``) in, ``{"<output_key>": [...]}`` out, one label
name, label index or probability row per text.

``v2``: the Open Inference Protocol of KServe, Triton and MLServer. The texts go as one BYTES
tensor (``{"inputs": [{"name": "text", "shape": [n], "datatype": "BYTES", "data": [...]}]}``;
pairs of texts as two such tensors, the second sides named ``pair_input_name``, default
``text_pair``);
the answer's ``outputs`` are read in this order of preference:

1. a numeric tensor named ``probabilities_output`` of shape ``[n, k]``: one probability row per
   text. When the tensor's ``parameters.labels`` names its columns, they are put in the suite's
   label order. When it does not, the columns are read in the suite's ``labels`` order; a label
   output in the same answer is then the cross-check: every row's most probable column must be
   the label it names (a mismatch is an error: ``labels`` is in another order than the
   columns). With no label output to check against, the answer carries a note that the order
   was taken from the suite (a warning in every check's result);
2. a BYTES tensor named ``label_output``: one label per text, and no probabilities. MLServer's
   Hugging Face runtime answers a JSON object per text (``{"label": ..., "score": ...}``): the
   score is the top label's only, so the probabilities of the other labels are unknown and
   checks that need probabilities skip or fail for want of them.

Images (``task: image-classification``, ``image_input``) go as one numeric tensor of shape
``[n, channels, height, width]`` (``layout: NHWC``: ``[n, height, width, channels]``), data
flattened row-major: ``FP32`` carries what ``adapter: torch`` feeds its module (the pixels
normalised with the dataset's ``mean`` and ``std``), ``UINT8`` the pixels as integers 0-255
(``round(pixel * 255)``; the server scales and normalises). The answer is read as for texts,
and its probability tensor must have one row per image sent and one column per label.

``request_outputs`` names the outputs the request asks for (the body's ``outputs``): a stock
runtime may answer only some by default (MLServer's scikit-learn runtime answers ``predict``
unless ``predict_proba`` is asked for).

Tensors go as JSON. tritonclient's HTTP client sends binary tensors by default (the
``Inference-Header-Content-Length`` extension), which MLServer 1.7 answers 422: call it with
``binary_data=False`` on every input and requested output (modeltests itself always sends JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from modeltests.data.inputs import ModelInput, any_pairs, split_pairs
from modeltests.errors import ModelOutputError, ModelPredictError

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


def v2_body(texts: Sequence[ModelInput], input_name: str, pair_input_name: str = "text_pair",
            request_outputs: Sequence[str] = ()) -> dict[str, Any]:
    """One BYTES tensor of texts; for pairs, two: the first sides under ``input_name``, the
    second sides under ``pair_input_name`` (the names of a tokenizer's arguments). With
    ``request_outputs``, the outputs the answer must hold."""
    sides: list[tuple[str, list[Any]]] = [(input_name, list(texts))]
    if any_pairs(texts):
        firsts, seconds = split_pairs(texts)
        sides = [(input_name, firsts), (pair_input_name, seconds)]
    body: dict[str, Any] = {"inputs": [{"name": name, "shape": [len(texts)],
                                        "datatype": "BYTES", "data": side}
                                       for name, side in sides]}
    if request_outputs:
        body["outputs"] = [{"name": name} for name in request_outputs]
    return body


def v2_image_body(images: Sequence[ModelInput], name: str, datatype: str, layout: str,
                  request_outputs: Sequence[str] = ()) -> dict[str, Any]:
    """One tensor of images, ``[n, c, h, w]`` (or ``[n, h, w, c]`` for ``layout: NHWC``),
    ``FP32`` normalised pixels or ``UINT8`` integers 0-255, flattened row-major."""
    from modeltests.adapters.image_torch import as_images
    from modeltests.adapters.pixels import as_uint8, normalised_batch, stacked_pixels

    batch = as_images(images)
    values: Any = as_uint8(stacked_pixels(batch)) if datatype == "UINT8" \
        else normalised_batch(batch)
    if layout == "NHWC":
        values = values.transpose(0, 2, 3, 1)
    # tolist(): float32 values become the Python floats equal to them, whose JSON text parses
    # back to the same float32 on the server.
    body: dict[str, Any] = {"inputs": [{"name": name, "shape": list(values.shape),
                                        "datatype": datatype, "data": values.ravel().tolist()}]}
    if request_outputs:
        body["outputs"] = [{"name": output} for output in request_outputs]
    return body


@dataclass(frozen=True)
class V2Outputs:
    """Per text a probability row in ``labels`` order, or a label name; ``note`` says how the
    answer was read when the reader could not check it (the column order taken from the
    suite)."""

    values: list[Any]
    note: str | None = None


def v2_outputs(payload: Any, url: str, probabilities_output: str, label_output: str,
               labels: Sequence[str], images_sent: int | None = None) -> V2Outputs:
    """Per text, a probability row in ``labels`` order (cross-checked with the label output
    when the columns are not named), or a label name. With ``images_sent``, the probability
    tensor must be ``[images_sent, len(labels)]``."""
    outputs = payload.get("outputs") if isinstance(payload, dict) else None
    if not isinstance(outputs, list):
        raise ModelPredictError(f"{url} answered without 'outputs' (the Open Inference "
                                "Protocol's response; model.protocol is v2)")
    by_name = {str(o.get("name")): o for o in outputs if isinstance(o, dict)}
    if probabilities_output in by_name:
        output = by_name[probabilities_output]
        rows = _rows(output, url, labels, images_sent)
        if _column_labels(output) is not None:
            return V2Outputs(rows)
        if label_output in by_name:
            _cross_check(rows, _data(by_name[label_output], url), url, probabilities_output,
                         label_output, labels)
            return V2Outputs(rows)
        return V2Outputs(rows, note=(
            f"{url}: the columns of {probabilities_output!r} were read in the order of "
            f"model.labels ({', '.join(labels)}), unchecked: the server names no column labels "
            f"(parameters.labels) and answered no {label_output!r} output to cross-check them "
            "(ask for one with model.request_outputs)"))
    if label_output in by_name:
        return V2Outputs([_label(item) for item in _data(by_name[label_output], url)])
    raise ModelPredictError(f"{url} answered the outputs {sorted(by_name)}; expected "
                            f"{probabilities_output!r} (model.probabilities_output) or "
                            f"{label_output!r} (model.label_output)")


def _data(output: dict[str, Any], url: str) -> list[Any]:
    data = output.get("data")
    if not isinstance(data, list):
        raise ModelPredictError(f"{url} answered output {output.get('name')!r} without a 'data' "
                                "list")
    return data


def _rows(output: dict[str, Any], url: str, labels: Sequence[str],
          images_sent: int | None = None) -> list[list[float]]:
    name = output.get("name")
    unit = "texts" if images_sent is None else "images"
    if output.get("datatype") not in NUMERIC:
        raise ModelPredictError(f"{url} answered output {name!r} as {output.get('datatype')!r}, "
                                "not a numeric tensor")
    data = _data(output, url)
    shape = output.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and shape[0] * shape[1] == len(data)):
        raise ModelPredictError(f"{url} answered output {name!r} with shape {shape!r} and "
                                f"{len(data)} values; expected [{unit}, labels]")
    if images_sent is not None and list(shape) != [images_sent, len(labels)]:
        raise ModelPredictError(f"{url} answered output {name!r} with shape {shape!r} for "
                                f"{images_sent} images sent; expected [{images_sent}, "
                                f"{len(labels)}] (one row per image, one column per label of "
                                "model.labels)")
    width = int(shape[1])
    rows = [[float(x) for x in data[i * width:(i + 1) * width]] for i in range(int(shape[0]))]
    return _in_label_order(rows, output, url, labels)


def _in_label_order(rows: list[list[float]], output: dict[str, Any], url: str,
                    labels: Sequence[str]) -> list[list[float]]:
    columns = _column_labels(output)
    if columns is None:
        return rows
    if sorted(columns) != sorted(labels):
        raise ModelPredictError(f"{url} names its probability columns {columns}; the suite's "
                                f"labels are {list(labels)} (model.labels)")
    order = [columns.index(label) for label in labels]
    return [[row[i] for i in order] for row in rows]


def _column_labels(output: dict[str, Any]) -> list[str] | None:
    """The column names a probability tensor gives in ``parameters.labels``, if any."""
    parameters = output.get("parameters")
    named = parameters.get("labels") if isinstance(parameters, dict) else None
    return named.split(",") if isinstance(named, str) else None


def _cross_check(rows: list[list[float]], said: list[Any], url: str, probabilities_output: str,
                 label_output: str, labels: Sequence[str]) -> None:
    """Every row's most probable column (rows with a tie skipped) is the label the label
    output names, by name, or by index when the server answers class indices."""
    if len(said) != len(rows):
        raise ModelOutputError(f"{url} answered {len(rows)} rows of {probabilities_output!r} "
                               f"and {len(said)} labels in {label_output!r}")
    for number, (row, item) in enumerate(zip(rows, said)):
        top = max(row)
        columns = [column for column, value in enumerate(row) if value == top]
        if len(columns) != 1:
            continue
        label = _label(item)
        if isinstance(label, bool) or not isinstance(label, (int, str)):
            label = str(label)
        expected: Any = columns[0] if isinstance(label, int) else labels[columns[0]]
        if label != expected:
            raise ModelOutputError(
                f"{url}: text {number}: {label_output!r} says {label!r}, but the highest "
                f"probability of {probabilities_output!r} is in column {columns[0]}, which "
                f"model.labels names {labels[columns[0]]!r}: the server names no column labels, "
                f"and model.labels {list(labels)} is not in the order of its probability "
                "columns; list the labels in the server's column order")


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
