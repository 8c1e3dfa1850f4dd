"""``quantization``, ``pruning``, ``footprint`` and ``latency`` on image classifiers, as a user
sees them: PASS and FAIL on two fixed-weight torch models of the 4x4 pictures of
:mod:`tests.plugin.test_images` (the ``brightness`` linear classifier, and ``pooled``, a 1x1
convolution and a global average pool that read any image size), and a size a model cannot take
as a located error. These tests are about the plugin: the verdicts follow from the weights
(worked out in each docstring); speeds are gated only on limits no machine reaches or misses,
and timed in ``benchmarks/``. The digits CNN's own figures live in
``tests/real/test_image_compression_real.py``."""

from __future__ import annotations

import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
import torch  # noqa: F401

from .helpers import assert_no_traceback, checks_by_nodeid, lit, read_report, write_suite
from .test_images import IMAGES, MODEL, image_project

POOLED = '''
import torch


def build(shift=0.5):
    """'bright' when the mean pixel is above ``shift``: a 1x1 convolution to (shift - x,
    x - shift), a global average pool, and 16 x the identity; any image size."""
    conv = torch.nn.Conv2d(1, 2, 1)
    head = torch.nn.Linear(2, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([-1.0, 1.0]).reshape(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([shift, -shift]))
        head.weight.copy_(16 * torch.eye(2))
        head.bias.zero_()
    return torch.nn.Sequential(conv, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), head)


def shifted():
    """The line at 0.3: the 90 and 100 dark pictures (0.35, 0.39) read bright."""
    return build(0.3)
'''

POOLED_MODEL = MODEL.replace("brightness:build", "pooled:build")
SHIFTED = ("models:\n  shifted:\n    adapter: torch\n    task: image-classification\n"
           "    factory: pooled:shifted\n    labels: [dark, bright]\n")
# 8 pictures: a drop's paired 95% interval is about +-0.32 wide, so the passing limits are 0.4
ESTIMATE = "defaults:\n  gate: estimate\n"
QUIET = "    speed_examples: 0\n"  # no speed-up timing: these verdicts do not depend on it
TIMING = "    warmup: 1\n    min_iterations: 5\n    min_seconds: 0\n    max_seconds: 1\n"
# The brightness classifier's Linear(16, 2) given 8x8 pictures, at the first check of a suite
REFUSED_8X8 = ("suites/linear.yaml:16: checks[0].image_sizes: the model cannot take 8x8 images: "
               "RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x64 and 16x2) (a model "
               "with a fixed-size layer reads one size only; list the sizes it takes)")


def _project(pytester: pytest.Pytester) -> None:
    image_project(pytester)
    pytester.makepyfile(pooled=POOLED)


def test_quantization_and_pruning_pass_and_fail_on_image_models(
        pytester: pytest.Pytester) -> None:
    """int8 leaves the brightness classifier's 16-unit margins alone (PASS), and its serialized
    size is not smaller for a 2x16 layer (FAIL on max_size_ratio 0.5); the shifted model, given
    as an already-compressed candidate, gets 2 of the 8 pictures wrong (FAIL on the drop).
    Pruning 10% of the brightness weights moves its line from 0.5 to at most 0.55 (PASS);
    pruning half of the pooled model's two convolution weights leaves one channel at its bias,
    so every picture reads dark (FAIL: a 0.5 drop)."""
    _project(pytester)
    write_suite(pytester, "suites/linear.yaml", MODEL + IMAGES + ESTIMATE + "checks:\n"
                "  - kind: quantization\n    dataset: pics\n    scheme: int8_dynamic\n" + QUIET +
                "    max_accuracy_drop: 0.4\n"
                "  - kind: quantization\n    name: small\n    dataset: pics\n"
                "    scheme: int8_dynamic\n" + QUIET + "    max_size_ratio: 0.5\n"
                "  - kind: pruning\n    dataset: pics\n    sparsity: 0.1\n" + QUIET +
                "    max_accuracy_drop: 0.4\n")
    write_suite(pytester, "suites/pooled.yaml", POOLED_MODEL + SHIFTED + IMAGES + ESTIMATE + "checks:\n"
                "  - kind: quantization\n    dataset: pics\n    compare_to: shifted\n" + QUIET +
                "    max_accuracy_drop: 0.1\n"
                "  - kind: quantization\n    name: int8\n    dataset: pics\n"
                "    scheme: int8_dynamic\n" + QUIET + "    max_accuracy_drop: 0.4\n"
                "  - kind: pruning\n    dataset: pics\n    sparsity: 0.5\n" + QUIET +
                "    max_accuracy_drop: 0.1\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/linear.yaml  quantization[int8_dynamic]  PASS     accuracy_drop 0.000 <= 0.400*",
        "suites/linear.yaml  quantization[small]         FAIL     size_ratio * > 0.500*",
        "suites/linear.yaml  pruning[l1-0.1]             PASS     accuracy_drop 0.000 <= 0.400*",
        "suites/pooled.yaml  quantization[shifted]       FAIL     accuracy_drop 0.250 > 0.100*",
        "suites/pooled.yaml  quantization[int8]          PASS     accuracy_drop 0.000 <= 0.400*",
        "suites/pooled.yaml  pruning[l1-0.5]             FAIL     accuracy_drop 0.500 > 0.100*",
    ]], consecutive=True)
    checks = checks_by_nodeid(read_report(pytester))
    int8 = checks["suites/pooled.yaml::quantization[int8]"]
    assert int8["details"]["quantized_parameters"]["linear"] == 6  # 2x2 weights, 2 biases
    assert int8["details"]["quantized_parameters"]["convolution"] == 4
    assert any(w.startswith("int8_dynamic quantized the Linear layers only (6 of 10 parameters); "
                            "the 4 convolution parameters stayed float") for w in int8["warnings"])
    pruned = checks["suites/pooled.yaml::pruning[l1-0.5]"]
    assert pruned["metrics"]["sparsity"] == 0.5  # one of 2 conv weights, 2 of 4 linear weights
    assert pruned["details"]["weights_reached"]["sparsity_by_layer_type"]["Conv2d"] == 0.25


def test_footprint_counts_flops_at_each_image_size_and_locates_a_size_the_model_refuses(
        pytester: pytest.Pytester) -> None:
    """The pooled model's FLOPs per image are its 1x1 convolution's, 2 x 2 channels x H x W
    (64 at 4x4, 256 at 8x8), plus its 2x2 linear layer's 2 x 4 = 8: 72 and 264. The
    brightness classifier reads 16 pixels exactly: 8x8 pictures end in torch's shape error."""
    _project(pytester)
    write_suite(pytester, "suites/pooled.yaml", POOLED_MODEL + IMAGES + ESTIMATE + "checks:\n"
                "  - kind: footprint\n    dataset: pics\n    image_sizes: [4, 8]\n"
                "    timed_calls: 0\n    max_gflops: 3.0e-7\n"
                "  - kind: footprint\n    name: tight\n    dataset: pics\n    timed_calls: 0\n"
                "    max_gflops: 1.0e-8\n")
    write_suite(pytester, "suites/linear.yaml", MODEL + IMAGES + ESTIMATE + "checks:\n"
                "  - kind: footprint\n    dataset: pics\n    image_sizes: [4, 8]\n"
                "  - kind: footprint\n    name: tokens\n    dataset: pics\n"
                "    sequence_lengths: [16]\n"
                "  - kind: footprint\n    name: nodata\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(line) for line in [
        REFUSED_8X8,
        "*",
        "suites/linear.yaml:20: checks[1].sequence_lengths: this model classifies images: "
        "measure it at image_sizes over a dataset of images, not at token lengths",
        "*",
        "suites/linear.yaml:21: checks[2].dataset: an image model is measured on images of a dataset: "
        "set 'dataset' to a dataset with an 'image' section (image_sizes resizes its images)",
    ]])
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/pooled.yaml  footprint[0]       PASS     2.64e-07 GFLOPs/input at 8x8 images; 10 "
        "parameters, 40.0% zeros, 0.0 MB weights",
        "suites/pooled.yaml  footprint[tight]   FAIL     gflops 7.20e-08 > 1.00e-08",
    ]], consecutive=False)
    checks = checks_by_nodeid(read_report(pytester))
    swept = checks["suites/pooled.yaml::footprint[0]"]
    assert [c["flops"] for c in swept["details"]["footprint"]] == [72, 264]
    assert swept["metrics"]["s4x4.gflops"] == 72e-9
    assert swept["details"]["footprint"][1]["flops_by_op"] == {"aten.convolution": 256,
                                                                "aten.addmm": 8}


def test_latency_over_image_sizes_and_batch_sizes_gates_the_batch_speedup(
        pytester: pytest.Pytester) -> None:
    """Every batch size at every image size is timed (the largest pair is the headline), with
    the thread count; min_batch_speedup compares the largest batch's per-image median with the
    smallest's, in this check: a limit of 0 always holds and 1e6 never does. A size the
    brightness classifier cannot take is located before anything is timed."""
    _project(pytester)
    write_suite(pytester, "suites/pooled.yaml", POOLED_MODEL + IMAGES + ESTIMATE + "checks:\n"
                "  - kind: latency\n    dataset: pics\n    image_sizes: [4, 16]\n"
                "    batch_sizes: [1, 8]\n    mode: model\n    threads: 1\n" + TIMING +
                "    min_batch_speedup: 0\n"
                "  - kind: latency\n    name: never\n    dataset: pics\n    batch_sizes: [1, 8]\n"
                "    mode: model\n    threads: 1\n" + TIMING + "    min_batch_speedup: 1.0e+6\n")
    write_suite(pytester, "suites/linear.yaml", MODEL + IMAGES + ESTIMATE + "checks:\n"
                "  - kind: latency\n    dataset: pics\n    image_sizes: [4, 8]\n" + TIMING +
                "  - kind: latency\n    name: one\n    dataset: pics\n    batch_sizes: [4]\n"
                "    min_batch_speedup: 2\n"
                "  - kind: latency\n    name: nodata\n    image_sizes: [4]\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(line) for line in [
        REFUSED_8X8,
    ]])
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/linear.yaml:21: checks[1]: 'min_batch_speedup' needs at least two different "
        "'batch_sizes' (it compares the largest with the smallest)",
        "*",
        "suites/linear.yaml:26: checks[2]: 'image_sizes' resizes the images of a dataset: set "
        "'dataset' to a dataset of images",
    ]])
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/pooled.yaml  latency[pics]    PASS     batch_speedup * >= 0.000 [b8_16x16 model, "
        "cpu, 1 threads]",
        "suites/pooled.yaml  latency[never]   FAIL     batch_speedup * < 1000000 [b8_pics model, "
        "cpu, 1 threads]",
    ]], consecutive=False)
    checks = checks_by_nodeid(read_report(pytester))
    swept = checks["suites/pooled.yaml::latency[pics]"]
    assert [(c["batch_size"], c["image_size"]) for c in swept["details"]["configs"]] == \
        [(1, "4x4"), (1, "16x16"), (8, "4x4"), (8, "16x16")]
    speedup = swept["details"]["batch_speedup"]
    per = speedup["per_example_p50_ms"]
    assert (speedup["smallest"], speedup["largest"]) == ("b1_16x16", "b8_16x16")
    assert swept["metrics"]["batch_speedup"] == per["b1_16x16"] / per["b8_16x16"]
    assert swept["details"]["threads"] == 1 and swept["details"]["cold_start"][
        "first_use_of_model"] is False  # each size was probed on one image first
