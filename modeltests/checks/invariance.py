"""``invariance`` (CheckList's INV): built-in perturbations must not change the prediction.

Each perturbation of :mod:`modeltests.perturb.checklist` (typos, punctuation, names ...) is applied to
each sentence with its own seed; a case passes when the predicted label stays (and, with
``max_confidence_drop``, its probability does not fall by more). Reports ``pass_rate`` overall and
per perturbation, with a few failing cases::

    - kind: invariance
      dataset: eval
      perturbations: [typos, names, append_url]
      samples: 100
      min_pass_rate: 0.9

On a dataset of text pairs the perturbations edit one side (``side: first | second | both``,
default ``second``); the other side is left as it is.

On a dataset of images the perturbations are image edits (:mod:`modeltests.perturb.image_edits`):
``flip_horizontal``, ``flip_vertical``, ``rotate`` (by ``+rotation_degrees`` and
``-rotation_degrees``), ``crop`` (the centre ``crop_fraction`` of each side, resized back) and
``brightness`` (``+brightness_delta`` and ``-brightness_delta``); the same ``pass_rate``, per
perturbation too, with Wilson intervals::

    - kind: invariance
      dataset: test
      perturbations: [rotate, crop, brightness]
      rotation_degrees: 10
      min_pass_rate: 0.9
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal, get_args

from pydantic import Field

from modeltests.checks._rates import label_probability, pass_rate_result
from modeltests.checks._sources import TextSource, edited_side, prepare_side, source_texts
from modeltests.context import CheckContext
from modeltests.data.inputs import ImageInput, ModelInput, as_display, map_side_or_none
from modeltests.extend.registry import CheckKind
from modeltests.perturb.image_edits import IMAGE_EDITS, EditStrengths, ImageEditName
from modeltests.result import CheckResult

TextPerturbation = Literal["typos", "punctuation", "case", "contractions", "whitespace", "names",
                           "locations", "numbers", "append_url", "append_handle", "neutral_word"]
PerturbationName = Literal[TextPerturbation, ImageEditName]


class InvarianceParams(TextSource):
    """INV: perturbations that must not change the predicted label."""

    kind: str = "invariance"
    perturbations: list[PerturbationName] = Field(
        min_length=1, description="Built-in perturbations to apply: to texts typos, "
        "punctuation, case, contractions, whitespace, names, locations, numbers, append_url, "
        "append_handle, neutral_word; to images flip_horizontal, flip_vertical, rotate, crop, "
        "brightness.")
    max_confidence_drop: float | None = Field(
        default=None, ge=0, le=1, description="A case also fails when the probability of the "
        "original prediction drops by more than this.")
    rotation_degrees: float = Field(default=10.0, gt=0, le=90, description="Images: 'rotate' "
                                    "turns each image by + and - this many degrees.")
    crop_fraction: float = Field(default=0.9, ge=0.5, lt=1, description="Images: 'crop' keeps "
                                 "this share of each side, centred, resized back.")
    brightness_delta: float = Field(default=0.1, gt=0, le=0.5, description="Images: "
                                    "'brightness' adds + and - this to every pixel (in [0, 1]).")


def run_invariance(context: CheckContext, params: InvarianceParams) -> CheckResult:
    """Apply each perturbation to each sentence (or image); a case passes when the label
    stays."""
    from modeltests.stats.proportions import wilson_interval

    texts = source_texts(context, params)
    cases = (_image_cases(context, params, texts) if _edits_images(context, params, texts)
             else _text_cases(context, params, texts))
    before = context.predict(texts)
    after = context.predict([c[2] for c in cases])
    passed: list[bool] = []
    failures: list[dict[str, Any]] = []
    drops: list[float] = []
    by_kind: dict[str, list[bool]] = {}
    for row, (i, name, changed) in enumerate(cases):
        label = before.labels[i]
        p0, p1 = label_probability(before, i, label), label_probability(after, row, label)
        drop = 0.0 if p0 is None or p1 is None else max(0.0, p0 - p1)
        drops.append(drop)
        ok = after.labels[row] == label and (params.max_confidence_drop is None
                                             or drop <= params.max_confidence_drop)
        passed.append(ok)
        by_kind.setdefault(name, []).append(ok)
        if not ok:
            failures.append({"original": as_display(texts[i]), "perturbed": as_display(changed),
                             "input": name,
                             "expected": label, "predicted": after.labels[row],
                             "confidence": label_probability(after, row, after.labels[row]),
                             "watched_label": label, "p_before": p0, "p_after": p1,
                             "confidence_drop": round(drop, 4)})
    extra = {f"pass_rate.{k}": sum(v) / len(v) for k, v in by_kind.items()}
    extra["worst_confidence_drop"] = max(drops, default=0.0)
    result = pass_rate_result(context, passed, failures, extra)
    result.details["per_perturbation"] = {
        k: {"cases": len(v), "passed": sum(v), "interval": list(wilson_interval(sum(v), len(v)))}
        for k, v in by_kind.items()}
    return result


def _text_cases(context: CheckContext, params: InvarianceParams, texts: list[ModelInput]
                ) -> list[tuple[int, str, ModelInput]]:
    """``(row, perturbation, perturbed text)`` for every text a perturbation changes."""
    from modeltests.perturb.checklist import perturb

    side = edited_side(context, params, texts)
    return [(i, name, changed) for i, text in enumerate(texts) for name in params.perturbations
            if (changed := map_side_or_none(text, side, partial(perturb, name=name,
                                                                seed=context.seed)))
            is not None]


def _image_cases(context: CheckContext, params: InvarianceParams, texts: list[ModelInput]
                 ) -> list[tuple[int, str, ModelInput]]:
    """``(row, perturbation, edited image)`` for every image and variant of each edit."""
    from modeltests.perturb.image_edits import edit, variants

    strengths = EditStrengths(params.rotation_degrees, params.crop_fraction,
                              params.brightness_delta)
    images = [text for text in texts if isinstance(text, ImageInput)]
    return [(i, name, image.with_pixels(edit(image.pixels, variant, strengths), variant))
            for i, image in enumerate(images) for name in params.perturbations
            for variant in variants(name, strengths)]


def _edits_images(context: CheckContext, params: InvarianceParams, texts: list[ModelInput]
                  ) -> bool:
    """Whether the perturbations edit images (the rows are images, the perturbations all image
    edits) or texts (neither); a mix is a located error naming the perturbations that fit."""
    images = bool(texts) and all(isinstance(text, ImageInput) for text in texts)
    wrong = [name for name in params.perturbations if (name in IMAGE_EDITS) != images]
    if wrong:
        rows, other = ("images", "texts") if images else ("texts", "images")
        fits = IMAGE_EDITS if images else get_args(TextPerturbation)
        where = f"dataset {params.dataset!r}" if params.dataset else "'texts'"
        verb = "edit" if len(wrong) > 1 else "edits"
        raise context.error("perturbations", f"{', '.join(wrong)} {verb} {other}, and {where} "
                            f"holds {rows}; the perturbations of {rows} are {', '.join(fits)}")
    return images


CHECK_KINDS = [CheckKind("invariance", InvarianceParams, run_invariance,
                         "INV: perturbations must not change the prediction (texts or images)",
                         prepare=prepare_side, inputs="any")]
