"""``adapter: timm`` and ``adapter: transformers`` with ``task: image-classification``: the
mistakes found before any library loads (a missing weights file, a file of another kind, an
unknown built-in model, a missing model directory) and timm missing, each a located ERROR with
no traceback. The models themselves are in tests/real/test_image_models_real.py."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import assert_no_traceback, lit, make_project, write_suite

DATA = "datasets:\n  test:\n    path: digits.npz\n    image:\n      channels: 1\n"
CHECK = "checks:\n  - kind: accuracy\n    dataset: test\n    min_accuracy: 0.5\n"
TIMM = ("model:\n  adapter: timm\n  architecture: resnet18\n  weights: {weights}\n"
        "  labels: [a, b]\n")


def _project(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    rng = np.random.default_rng(0)
    np.savez(pytester.path / "suites" / "digits.npz",
             images=rng.integers(0, 256, (4, 8, 8), dtype=np.uint8), labels=np.array([0, 1, 0, 1]))


def test_weights_and_directories_are_checked_before_loading(pytester: pytest.Pytester) -> None:
    _project(pytester)
    (pytester.path / "suites" / "model.onnx").write_bytes(b"onnx")
    for name, weights in (("missing", "weights/net.safetensors"), ("onnx", "model.onnx"),
                          ("builtin", "builtin:digits-tim")):
        write_suite(pytester, f"suites/{name}.yaml", TIMM.format(weights=weights) + DATA + CHECK)
    write_suite(pytester, "suites/vit.yaml", "model:\n  adapter: transformers\n  task: "
                "image-classification\n  path: ./vit-digits\n" + DATA + CHECK)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    root = pytester.path / "suites"
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/builtin.yaml:4: model.weights: unknown built-in model 'digits-tim' (allowed: "
        "builtin:bert-wide-tiny, builtin:bigbird-tiny, builtin:digits-cnn, builtin:digits-timm, "
        "builtin:digits-vit, builtin:gpt-tiny, builtin:ner-tiny, builtin:nli-tiny, "
        "builtin:sentiment-minilm, builtin:smollm2-135m)",
        f"suites/missing.yaml:4: model.weights: file not found: {root / 'weights' / 'net.safetensors'}",
        "suites/onnx.yaml:4: model.weights: model.onnx: expected a state dict file ending in "
        ".safetensors, .pth, .pt, .bin",
        f"suites/vit.yaml:4: model.path: model directory does not exist: {root / 'vit-digits'}",
    ]], consecutive=False)
    result.stdout.fnmatch_lines(["modeltests: 4 checks: 4 error"])
    assert_no_traceback(result.stdout.str())


def _timm_importable() -> bool:
    try:
        import timm  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.skipif(_timm_importable(), reason="timm is importable here")
def test_timm_missing_is_a_located_error(pytester: pytest.Pytester) -> None:
    _project(pytester)
    (pytester.path / "suites" / "net.safetensors").write_bytes(b"")
    write_suite(pytester, "suites/net.yaml", TIMM.format(weights="net.safetensors") + DATA + CHECK)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        "suites/net.yaml:2: model.adapter: timm cannot be imported (*); pip install 'modeltests[timm]', "
        "with a torchvision built for the installed torch (for the CPU build: pip install "
        "torchvision --index-url https://download.pytorch.org/whl/cpu)").replace("([*])", "(*)")])
    assert_no_traceback(result.stdout.str())
