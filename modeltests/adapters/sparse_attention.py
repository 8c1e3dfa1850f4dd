"""Block-sparse attention that transformers switches by input length (BigBird), made to depend
on each call's input only.

transformers' ``BigBirdModel.forward`` switches from ``block_sparse`` to ``original_full`` when
the input has at most ``(5 + 2 * num_random_blocks) * block_size`` tokens (2 global blocks, 3
sliding blocks and 2 * num_random_blocks random blocks; 704 with the defaults 64 and 3), logs a
warning on every such call, and *stays* switched: ``set_attention_type`` replaces the attention
modules, and nothing switches back on a longer input, while ``config.attention_type`` still says
``block_sparse``. So without care a BigBird's outputs on long texts depend on whether it saw a
short one before (another check, a cold-start call): predictions would depend on history.

:meth:`SparseAttention.prepare` restores the configured type before a call longer than the
threshold (a shorter one falls back anyway), so each call runs the attention its own length
selects. The transformers adapter calls it before every forward pass; the latency check also
records which attention ran per length. torch and transformers are not imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SPARSE = "block_sparse"
FULL = "original_full"


def fallback_threshold(block_size: int, num_random_blocks: int) -> int:
    """The longest input transformers runs with full attention instead of block-sparse
    (``BigBirdModel.forward``: ``seq_length <= (5 + 2 * num_random_blocks) * block_size``)."""
    return (5 + 2 * num_random_blocks) * block_size


@dataclass
class SparseAttention:
    """A model whose base model switches attention type by input length (BigBird)."""

    base: Any
    """The module with ``attention_type`` and ``set_attention_type`` (``model.base_model``)."""
    configured: str
    block_size: int
    num_random_blocks: int
    found_on_arrival: str
    """The type the model was running when this switch was made (``original_full`` after any
    short input, whatever the configuration says)."""

    @property
    def threshold(self) -> int:
        return fallback_threshold(self.block_size, self.num_random_blocks)

    def expected(self, length: int | None) -> str | None:
        """The type transformers should run at ``length`` tokens (None: lengths vary)."""
        if length is None:
            return None
        if self.configured == SPARSE and length <= self.threshold:
            return FULL
        return self.configured

    def restore(self) -> None:
        """Back to the configured type, so the next call decides afresh."""
        self.base.set_attention_type(self.configured)

    def prepare(self, length: int) -> None:
        """Before a call on inputs of ``length`` tokens: restore the configured type when an
        earlier short call left full attention on and this call is long enough for sparse."""
        if self.expected(length) != self.running():
            self.restore()

    def running(self) -> str:
        return str(self.base.attention_type)

    def facts(self) -> dict[str, Any]:
        """The rule, for a result's details."""
        return {"configured": self.configured, "block_size": self.block_size,
                "num_random_blocks": self.num_random_blocks,
                "full_attention_up_to": self.threshold,
                "rule": "transformers BigBirdModel.forward: original_full when seq_length <= "
                        "(5 + 2 * num_random_blocks) * block_size",
                "found_on_arrival": self.found_on_arrival}


def sparse_attention_of(module: Any) -> SparseAttention | None:
    """The switch of a torch module (or its ``base_model``), or None for every other model."""
    base = getattr(module, "base_model", module)
    config = getattr(base, "config", None)
    setter = getattr(base, "set_attention_type", None)
    configured = getattr(config, "attention_type", None)
    block = getattr(config, "block_size", None)
    random_blocks = getattr(config, "num_random_blocks", None)
    if not (callable(setter) and isinstance(configured, str) and isinstance(block, int)
            and isinstance(random_blocks, int) and hasattr(base, "attention_type")):
        return None
    return SparseAttention(base, configured, block, random_blocks,
                           str(getattr(base, "attention_type")))
