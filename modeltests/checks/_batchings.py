"""The compressed model under several batch compositions, and the spread that makes.

Dynamic int8 computes activation scales per batch, so which texts share a batch moves its
predictions: the same model and data gave agreements from 0.932 to 0.945 over five batchings.
One batching's figure would then be one draw of several, and possibly the most favourable.

``quantization`` and ``pruning`` therefore run the compressed model again on the same rows
under other batchings (see :func:`rerun_batchings`): in file order batched as given (when the
adapter sorts by length), in a seeded shuffle batched as given, and in a second seeded shuffle
in batches of half the size. The figures keep the configured batching's estimate (what the
model does as configured, reproducible by an independent script), and **their 95% interval
becomes the union of every batching's interval**: the spread over batchings counts as the
figure's uncertainty. Under the default (undecided fails), a threshold therefore passes only
when every batching's interval clears it, which gates on the worst batching; the details list
each batching's figures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from modeltests.checks._paired import Paired, aligned, paired_metrics
from modeltests.result import CheckResult, ThresholdResult
from modeltests.support.text import format_number

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.context import CheckContext
    from modeltests.data.inputs import ModelInput

BATCH_DEPENDENT = ("accuracy_compressed", "accuracy_drop", "relative_accuracy", "agreement",
                   "negative_flip_rate", "positive_flip_rate", "mean_kl")
"""The paired figures that move with the compressed model's batching."""


@dataclass
class Rebatched:
    """The compressed model's predictions (in file order) under one other batching."""

    name: str
    facts: dict[str, Any]
    predictions: Predictions


def rerun_batchings(context: CheckContext, texts: Sequence[ModelInput], adapter: ModelAdapter,
                    recipe: dict[str, Any] | None, label_names: list[str]
                    ) -> list[Rebatched]:
    """The compressed model on ``texts`` under the other batchings: file order (only when it
    sorts by length), a seeded shuffle (``seed``), a second shuffle (``seed + 1``) in batches
    of half the size (when that is at least 1 and differs)."""
    given = adapter.in_given_order()
    size = given.batching().batch_size
    plans: list[tuple[str, list[int], int | None]] = []
    if adapter.batching().sorted_by_length:
        plans.append(("file order", list(range(len(texts))), None))
    plans.append(("seeded shuffle", _shuffled(len(texts), context.seed), None))
    if size is not None and size > 1:
        plans.append((f"seeded shuffle, batches of {size // 2}",
                      _shuffled(len(texts), context.seed + 1), size // 2))
    found = []
    for name, order, chunk in plans:
        rows = [texts[i] for i in order]
        predicted = _run(context, given, rows, recipe, chunk, label_names)
        back = [0] * len(order)
        for position, row in enumerate(order):
            back[row] = position
        seed = None if name == "file order" else context.seed + (chunk is not None)
        facts = {"order": name if chunk is None else "seeded shuffle, batched as given",
                 "batch_size": chunk or size, **({"seed": seed} if seed is not None else {})}
        found.append(Rebatched(name, facts, predicted.subset(back)))
    return found


def _shuffled(count: int, seed: int) -> list[int]:
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return order


def _run(context: CheckContext, adapter: ModelAdapter, texts: list[ModelInput],
         recipe: dict[str, Any] | None, chunk: int | None, label_names: list[str]
         ) -> Predictions:
    """``adapter`` on ``texts``; with ``chunk``, in calls of that many texts (so batches of at
    most ``chunk``), the answers joined."""
    import numpy as np

    from modeltests.adapters.base import Predictions

    def predict(part: list[ModelInput]) -> Predictions:
        found = (context.run_model(adapter, part) if recipe is None
                 else context.run_derived(adapter, part, recipe))
        return aligned(found, label_names, context.location())

    if chunk is None:
        return predict(texts)
    parts = [predict(texts[start:start + chunk]) for start in range(0, len(texts), chunk)]
    probabilities = (None if any(p.probabilities is None for p in parts) else
                     np.concatenate([p.probabilities for p in parts if p.probabilities is not None]))
    return Predictions([label for p in parts for label in p.labels], label_names, probabilities)


@dataclass
class Spread:
    """Each batch-dependent figure under every batching (the configured one first)."""

    names: list[str]
    values: dict[str, list[float]]

    def range_of(self, metric: str) -> tuple[float, float]:
        return min(self.values[metric]), max(self.values[metric])


def widen_by_batchings(result: CheckResult, truth: Sequence[str], reference: Predictions,
                       batchings: list[Rebatched], seed: int) -> Spread:
    """Make each batch-dependent figure's interval the union of every batching's interval
    (its estimate stays the configured batching's); record the figures per batching in
    ``details["batchings"]`` and their range in ``details["batching_spread"]``."""
    scored: list[tuple[str, dict[str, Any], Paired]] = [
        (b.name, b.facts, paired_metrics(truth, reference, b.predictions, seed))
        for b in batchings]
    configured = dict(result.details.get("batching", {}).get("compressed") or {})
    rows = [{"name": "as configured", **configured,
             **{m: result.metrics[m] for m in BATCH_DEPENDENT if m in result.metrics}}]
    spread = Spread(["as configured"] + [name for name, _, _ in scored], {})
    for metric in BATCH_DEPENDENT:
        if metric not in result.metrics or metric not in result.intervals:
            continue
        spread.values[metric] = [result.metrics[metric]] + [p.metrics[metric]
                                                             for _, _, p in scored]
        lows = [result.intervals[metric][0]] + [p.intervals[metric][0] for _, _, p in scored]
        highs = [result.intervals[metric][1]] + [p.intervals[metric][1] for _, _, p in scored]
        result.intervals[metric] = (min(lows), max(highs))
        method = result.interval_methods.get(metric, "")
        result.interval_methods[metric] = f"{method}, union over {len(scored) + 1} batchings"
    rows += [{"name": name, **facts, **{m: p.metrics[m] for m in BATCH_DEPENDENT
                                         if m in p.metrics}} for name, facts, p in scored]
    result.details["batchings"] = rows
    result.details["batching_spread"] = {m: list(spread.range_of(m)) for m in spread.values}
    return spread


def note_spread(thresholds: list[ThresholdResult], spread: Spread) -> list[ThresholdResult]:
    """Say the range over batchings on each batch-dependent threshold; return those whose
    batchings fall on both sides of the limit (no sample size decides them)."""
    split = []
    for t in thresholds:
        if t.scope or t.metric not in spread.values:
            continue
        low, high = spread.range_of(t.metric)
        if low == high:
            continue  # every batching gave the same figure
        t.note = (f"{len(spread.names)} batchings: {format_number(low)} to "
                  f"{format_number(high)}")
        if low < t.limit < high:
            split.append(t)
    return split


def split_warning(t: ThresholdResult, spread: Spread) -> str:
    """A threshold whose batchings disagree about it."""
    low, high = spread.range_of(t.metric)
    return (f"{t.metric}: {format_number(low)} to {format_number(high)} over "
            f"{len(spread.names)} batchings, on both sides of the limit "
            f"{format_number(t.limit)}: the model's dependence on batch composition decides "
            "this threshold, not the sample size (details.batchings lists each batching)")
