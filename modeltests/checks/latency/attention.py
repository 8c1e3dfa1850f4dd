"""Which attention a block-sparse model (BigBird) ran at each timed length.

The rule and the switch live in :mod:`modeltests.adapters.sparse_attention` (transformers falls
back to full attention at or below a length set by the block size, and stays there; the
transformers adapter restores the configured type before a long call). The latency check also
restores the configured type before each configuration, records the type transformers actually
ran after the timed calls, compares it with the rule, captures transformers' warning instead of
printing it on every call, and says when it found the model already switched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modeltests.adapters.sparse_attention import FULL, SPARSE, SparseAttention, fallback_threshold

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.checks.latency.record import LatencyRun, TimedConfig

__all__ = ["FULL", "SPARSE", "SparseAttention", "fallback_threshold", "sparse_attention"]

BIGBIRD_LOGGER = "transformers.models.big_bird.modeling_big_bird"


def sparse_attention(adapter: ModelAdapter) -> SparseAttention | None:
    """The adapter's block-sparse attention switch, or None for every other model."""
    from modeltests.adapters.sparse_attention import sparse_attention_of
    from modeltests.adapters.torch_utils import torch_module_or_none

    module = torch_module_or_none(adapter)
    return None if module is None else sparse_attention_of(module)


@dataclass
class CapturedWarnings:
    """Messages of BigBird's logger held back while timing (one line each in the details)."""

    messages: list[str] = field(default_factory=list)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)
        return False  # held here: not printed once per timed call


@contextmanager
def captured_bigbird_warnings() -> Iterator[CapturedWarnings]:
    """Hold back what BigBird's logger says (the fall-back warning) and collect it."""
    captured = CapturedWarnings()
    logger = logging.getLogger(BIGBIRD_LOGGER)
    logger.addFilter(captured)
    try:
        yield captured
    finally:
        logger.removeFilter(captured)


def attention_entry(switch: SparseAttention, length: int | None) -> dict[str, Any]:
    """What a configuration ran: the expected type, the one observed after its calls, and
    whether they agree."""
    expected = switch.expected(length)
    observed = switch.running()
    return {"attention": observed, "attention_expected": expected,
            "attention_agrees": expected is None or expected == observed}


# -- what the result says --------------------------------------------------------------------


def _timings_by_model(run: LatencyRun) -> dict[str, list[TimedConfig]]:
    found = {"model": run.timings}
    if run.compared is not None:
        found[run.compared.name] = run.compared.timings
    return {name: timings for name, timings in found.items() if name in run.attention_rules}


def per_length(timings: list[TimedConfig]) -> list[dict[str, Any]]:
    """Attention expected and observed per length (largest batch, primary mode first)."""
    seen: dict[int | None, dict[str, Any]] = {}
    for t in timings:
        if t.attention is not None and t.config.sequence_length not in seen:
            seen[t.config.sequence_length] = {"sequence_length": t.config.sequence_length,
                                              **t.attention}
    return [seen[n] for n in sorted(seen, key=lambda n: -1 if n is None else n)]


def attention_details(run: LatencyRun) -> dict[str, Any] | None:
    """The rule per block-sparse model, the type per length, the captured warnings."""
    if not run.attention_rules:
        return None
    return {"rules": run.attention_rules,
            "per_length": {name: per_length(timings)
                           for name, timings in _timings_by_model(run).items()},
            "held_back_warnings": list(run.held_back)}


def attention_summary(run: LatencyRun) -> str:
    """``original_full at 512; block_sparse at 1024, 2048`` per block-sparse model, or ''."""
    parts = []
    for name, timings in _timings_by_model(run).items():
        groups: dict[str, list[str]] = {}
        for entry in per_length(timings):
            length = entry["sequence_length"]
            groups.setdefault(entry["attention"], []).append(
                "dataset texts" if length is None else str(length))
        text = "; ".join(f"{kind} at {', '.join(lengths)}" for kind, lengths in groups.items())
        parts.append(text if name == "model" else f"{name}: {text}")
    return " | ".join(parts)


def attention_warnings(run: LatencyRun) -> list[str]:
    """Where transformers ran another attention than its rule says, and a model found running
    full attention on arrival (an earlier short input switched it: see the module docstring)."""
    warnings = []
    for name, timings in _timings_by_model(run).items():
        who = "" if name == "model" else f"{name}: "
        for entry in per_length(timings):
            if not entry["attention_agrees"]:
                warnings.append(
                    f"{who}attention at {entry['sequence_length']} tokens: transformers ran "
                    f"{entry['attention']}, its rule says {entry['attention_expected']}")
        rule = run.attention_rules[name]
        if rule["found_on_arrival"] != rule["configured"]:
            warnings.append(
                f"{who}the model was running {rule['found_on_arrival']} attention when this "
                f"check started although configured {rule['configured']}: an earlier input of "
                f"at most {rule['full_attention_up_to']} tokens switched it, and transformers "
                f"never switches back (other checks in this session ran it that way); this "
                f"check restored {rule['configured']} before each configuration")
    return warnings
