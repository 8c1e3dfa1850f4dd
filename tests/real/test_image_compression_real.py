"""builtin:digits-cnn through ``examples/digits_compression.yaml``: quantization and pruning
recomputed by hand on the same module and images (torch's own dynamic quantization and
L1 pruning), the FLOPs against the closed form of the CNN's layers, and the latency's batch
speed-up against the per-image medians it reports (plumbing: no timed assertion)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from .test_demo_suites import run_pytest

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "suites" / "data" / "digits_test.npz"


def digits_flops(side: int = 8) -> int:
    """2 x the multiply-adds of ``digits_cnn`` on one ``side`` x ``side`` image: conv 1->16
    and 16->32 (3x3, padding 1: every pixel), then 32 x (side/2)^2 features -> 10 logits."""
    pixels = side * side
    conv1 = 16 * pixels * 1 * 9
    conv2 = 32 * pixels * 16 * 9
    linear = 32 * (side // 2) ** 2 * 10
    return 2 * (conv1 + conv2 + linear)


def _predicted(module: Any, images: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return module(torch.from_numpy(images)).argmax(1).numpy()


@pytest.fixture(scope="module")
def example(digits_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, dict[str, Any]]:
    completed, document = run_pytest(["examples/digits_compression.yaml"],
                                     tmp_path_factory.mktemp("digits"))
    assert completed.returncode == 1, completed.stdout[-3000:]  # the 80% pruning fails
    return {c["name"]: c for c in document["checks"]}


def test_digits_compression_example_equals_torch_by_hand(
        example: dict[str, dict[str, Any]], digits_model_dir: Path) -> None:
    from torch.ao.quantization import quantize_dynamic
    from torch.nn.utils import prune

    from modeltests.demo.digits import digits_cnn

    module = digits_cnn()
    module.load_state_dict(torch.load(digits_model_dir / "weights.pt", weights_only=True))
    module.eval()
    with np.load(DATA) as arrays:
        images = arrays["images"].astype(np.float32)[:, None] / 255.0
        labels = arrays["labels"]
    reference = _predicted(module, images)

    quantized = quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
    check = example["quantization[int8_dynamic]"]
    assert check["outcome"] == "passed"
    assert check["metrics"]["agreement"] == float(np.mean(_predicted(quantized, images)
                                                          == reference))
    assert check["metrics"]["accuracy_compressed"] == float(
        np.mean(_predicted(quantized, images) == labels))
    assert {k: check["details"]["quantized_parameters"][k]
            for k in ("linear", "convolution", "total")} == \
        {"linear": 32 * 16 * 10 + 10, "convolution": 16 * 9 + 16 + 32 * 16 * 9 + 32,
         "total": 9930}

    for sparsity, outcome in ((0.5, "passed"), (0.8, "failed")):
        pruned = digits_cnn()
        pruned.load_state_dict(module.state_dict())
        for layer in pruned.modules():
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                prune.l1_unstructured(layer, "weight", sparsity)
        check = example[f"pruning[l1-{sparsity:g}]"]
        assert check["outcome"] == outcome
        assert check["metrics"]["accuracy_compressed"] == float(
            np.mean(_predicted(pruned.eval(), images) == labels))

    footprint = example["footprint[3]"]
    assert footprint["metrics"]["gflops"] == digits_flops() / 1e9 == 618_496 / 1e9
    assert footprint["metrics"]["parameters"] == 9930

    latency = example["latency[test]"]
    per_image = latency["details"]["batch_speedup"]["per_example_p50_ms"]
    assert latency["metrics"]["batch_speedup"] == per_image["b1_8x8"] / per_image["b64_8x8"]
    assert latency["details"]["threads"] == 1
    assert [c["config"] for c in latency["details"]["configs"]] == ["b1_8x8", "b64_8x8"]
