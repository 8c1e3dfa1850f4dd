"""What a torch model costs to compute and to hold: FLOPs, parameters, weight sparsity, the
bytes of its weights and the peak bytes of its activations. A leaf; torch is imported inside.

* **FLOPs** are counted by ``torch.utils.flop_counter.FlopCounterMode`` over one forward call:
  it counts the matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``, scaled dot-product
  attention, convolutions) at 2 FLOPs per multiply-add, and nothing else: softmax, layer norm,
  GELU, additions and embedding lookups count 0. For a transformer encoder the products are
  almost all the arithmetic. On CPU the counter misses attention (the fused kernel
  ``_scaled_dot_product_flash_attention_for_cpu`` is not in its registry in torch 2.13);
  :func:`count_flops` adds it with torch's own formula.
* **Sparsity** is the share of parameter entries that are exactly 0, over every parameter and
  per layer type (the class name of the module that owns the parameter: ``Linear``,
  ``Embedding``, ``LayerNorm``...).
* **Weight bytes**: ``numel * element_size`` of every parameter and buffer in memory (each
  tensor once, however often it is shared).
* **Activation peak** on CPU: the largest total of the tensors a forward call creates and still
  holds, tracked at torch's dispatcher (each operator's outputs are counted when created and
  released when the last tensor over their storage is freed). The weights and the inputs are not
  included; the allocator's own slack is not either (process RSS includes it, and is noisy).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch


@dataclass
class LayerTally:
    """Parameters of one layer type: entries, zero entries, bytes, modules."""

    parameters: int = 0
    zeros: int = 0
    bytes: int = 0
    modules: int = 0

    @property
    def sparsity(self) -> float:
        return self.zeros / self.parameters if self.parameters else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "zeros": self.zeros, "bytes": self.bytes,
                "modules": self.modules, "sparsity": self.sparsity}


@dataclass
class WeightFacts:
    """Parameters, zeros and bytes of a module, overall and per layer type."""

    parameters: int
    zeros: int
    weight_bytes: int
    by_type: dict[str, LayerTally] = field(default_factory=dict)

    @property
    def sparsity(self) -> float:
        return self.zeros / self.parameters if self.parameters else 0.0


def weight_facts(module: torch.nn.Module) -> WeightFacts:
    """Count the module's parameters (each tensor once), their exact zeros and bytes, by the
    type of the module that owns them; buffers add to the bytes only."""
    seen: set[int] = set()
    by_type: dict[str, LayerTally] = {}
    for owner in module.modules():
        own = [p for p in owner.parameters(recurse=False) if id(p) not in seen]
        if not own:
            continue
        tally = by_type.setdefault(type(owner).__name__, LayerTally())
        tally.modules += 1
        for p in own:
            seen.add(id(p))
            tally.parameters += p.numel()
            tally.zeros += int((p.detach() == 0).sum())
            tally.bytes += p.numel() * p.element_size()
    buffers = sum(b.numel() * b.element_size() for b in _unique(module.buffers()))
    return WeightFacts(
        parameters=sum(t.parameters for t in by_type.values()),
        zeros=sum(t.zeros for t in by_type.values()),
        weight_bytes=sum(t.bytes for t in by_type.values()) + buffers,
        by_type=dict(sorted(by_type.items())))


def _unique(tensors: Any) -> list[torch.Tensor]:
    seen: dict[int, torch.Tensor] = {}
    for t in tensors:
        seen.setdefault(id(t), t)
    return list(seen.values())


def count_flops(call: Callable[[], object]) -> tuple[int, dict[str, int]]:
    """FLOPs of ``call()`` (one forward) and their split by operator, as FlopCounterMode counts."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    # On CPU, scaled_dot_product_attention decomposes to the fused CPU kernel
    # _scaled_dot_product_flash_attention_for_cpu, which the counter's registry lacks (it knows
    # the CUDA kernels): unregistered, every attention product would count 0 (torch 2.13).
    # Its formula is torch's own sdpa_flop_count.
    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_flops}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        call()
    by_op = counter.get_flop_counts().get("Global", {})
    return int(counter.get_total_flops()), {str(op): int(n) for op, n in by_op.items()}


def _sdpa_flops(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any,
                **kwargs: Any) -> int:
    """2 FLOPs per multiply-add of ``Q K^T`` and of ``softmax(.) V`` (torch's formula)."""
    from torch.utils.flop_counter import sdpa_flop_count

    flops = sdpa_flop_count(query_shape, key_shape, value_shape)  # type: ignore[no-untyped-call]
    return int(flops)


def activation_peak_bytes(call: Callable[[], object]) -> int:
    """The peak bytes of the tensors ``call()`` creates and holds at once (see the module
    docstring), tracked with a dispatcher mode."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class Tracker(TorchDispatchMode):  # type: ignore[no-untyped-call]
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.live = self.peak = 0
            self.holders: dict[int, int] = {}  # storage address -> tensors over it

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            given = {_address(t) for t in tree_flatten((args, kwargs))[0]
                     if isinstance(t, torch.Tensor)}
            for tensor in tree_flatten(out)[0]:
                if isinstance(tensor, torch.Tensor) and tensor.device.type != "meta":
                    self._hold(tensor, given)
            return out

        def _hold(self, tensor: torch.Tensor, given: set[int]) -> None:
            storage = tensor.untyped_storage()
            address, size = storage.data_ptr(), storage.nbytes()
            if address == 0 or size == 0:
                return
            if address not in self.holders:
                if address in given:  # a view of (or write into) a weight or an input
                    return
                self.holders[address] = 0
                self.live += size
                self.peak = max(self.peak, self.live)
            self.holders[address] += 1
            weakref.finalize(tensor, self._release, address, size)

        def _release(self, address: int, size: int) -> None:
            self.holders[address] -= 1
            if not self.holders[address]:
                del self.holders[address]
                self.live -= size

    def _address(tensor: torch.Tensor) -> int:
        return int(tensor.untyped_storage().data_ptr()) if tensor.device.type != "meta" else 0

    tracker = Tracker()
    with tracker:
        call()
    return tracker.peak
