"""A transformers image-classification directory and a timm architecture with local weights,
each loaded by its library's own API, through one suite run: an accuracy check that passes and
one that fails, and the mistakes a loaded model reveals as located ERRORs. The figures are
recomputed independently: each library's own runner (transformers' ``pipeline``; timm's model
on timm's own eval transform) classifies the same 360 images, its top-1 labels equal
modeltests' predictions one by one, and the reported accuracy equals scikit-learn's on them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# pytester's in-process runs drop modules first imported inside them; torch imported again in
# a later run fails, so it loads here once
import torch  # noqa: F401
from PIL import Image

from modeltests.adapters.base import LoadContext
from modeltests.data.inputs import ImageInput
from modeltests.demo.digits import LABELS
from modeltests.demo.digits_pretrained import TIMM_ARCHITECTURE, TIMM_DATA_CONFIG, TIMM_MODEL_ARGS
from modeltests.measure.timing import torch_threads

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "suites" / "data" / "digits_test.npz"
CHECKS = """datasets:
  test:
    path: digits_test.npz
    image:
      channels: 1
checks:
  - kind: accuracy
    dataset: test
    min_accuracy: 0.6
  - kind: accuracy
    dataset: test
    min_accuracy: 0.99
"""
TIMM_MODEL = f"""model:
  adapter: timm
  architecture: {{architecture}}
  weights: {{weights}}
  labels: {json.dumps(LABELS[:10])}
  model_args: {{model_args}}
  input_size: {TIMM_DATA_CONFIG["input_size"]}
  mean: {TIMM_DATA_CONFIG["mean"]}
  std: {TIMM_DATA_CONFIG["std"]}
  crop_pct: {TIMM_DATA_CONFIG["crop_pct"]}
"""


def _digits() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA) as arrays:
        return arrays["images"], arrays["labels"]


def _run(pytester: pytest.Pytester, suites: dict[str, str], *more: str
         ) -> tuple[Any, dict[str, Any]]:
    folder = pytester.path / "suites"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA, folder / "digits_test.npz")
    shutil.copy(DATA, folder / "data" / "digits_test.npz")  # where examples/ read it
    for name, text in suites.items():
        (folder / f"{name}.yaml").write_text(text)
    for example in more:
        (pytester.path / "examples").mkdir(exist_ok=True)
        shutil.copy(ROOT / "examples" / example, pytester.path / "examples" / example)
    result = pytester.runpytest("suites/", *(f"examples/{name}" for name in more),
                                "-p", "no:cacheprovider")
    report = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    return result, report


def _accuracy(report: dict[str, Any], suite: str) -> float:
    found = {check["metrics"]["accuracy"] for check in report["checks"]
             if check["kind"] == "accuracy" and check["suite"].endswith(suite)}
    assert len(found) == 1  # both checks read the one cached prediction of the dataset
    return float(found.pop())


def _modeltests_labels(adapter: Any) -> list[str]:
    images, _ = _digits()
    rows = [ImageInput(f"digits[{i}]", image[None].astype(np.float32) / 255.0)
            for i, image in enumerate(images)]
    labels: list[str] = adapter.predict(rows).labels
    return labels


def test_transformers_directory_equals_the_pipeline(pytester: pytest.Pytester,
                                                    digits_vit_dir: Path) -> None:
    from sklearn.metrics import accuracy_score
    from transformers import pipeline

    from modeltests.adapters.transformers import TransformersParams
    from modeltests.adapters.transformers_image import load_image_transformers

    model = (f"model:\n  adapter: transformers\n  task: image-classification\n"
             f"  path: {digits_vit_dir}\n")
    renamed = model + f"  labels: {json.dumps(['zero'] + LABELS[1:])}\n"
    result, report = _run(pytester, {"vit": model + CHECKS, "renamed": renamed + CHECKS},
                          "digits_vit.yaml")
    result.stdout.fnmatch_lines([
        "suites/vit.yaml *accuracy[[]test] *PASS     accuracy 0.* >= 0.600 (95% CI *",
        "suites/vit.yaml *accuracy[[]test-2] *FAIL     accuracy 0.* < 0.990 (95% CI *",
        "examples/digits_vit.yaml *accuracy[[]test] *PASS     accuracy 0.* >= 0.750 (95% CI *",
        "examples/digits_vit.yaml *calibration[[]test] *PASS     ece 0.0* <= 0.150 *",
        "examples/digits_vit.yaml *adversarial[[]test] *PASS     fgsm@0.05 attack_success_rate *",
        "examples/digits_vit.yaml *corruption[[]test] *PASS     mce 0.* <= 0.700 *",
        "examples/digits_vit.yaml *invariance[[]test] *PASS     pass_rate 0.* >= 0.700 *",
    ], consecutive=False)
    result.stdout.fnmatch_lines([
        "suites/renamed.yaml:5: model.labels: the suite's labels differ from the model's "
        "config.id2label at 1 output(s) (0: 'zero' vs '0'); list them as id2label does "
        "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), or leave labels out"])

    images, truth = _digits()
    runner = pipeline("image-classification", model=str(digits_vit_dir), device="cpu")
    adapter = load_image_transformers(TransformersParams(path=str(digits_vit_dir),
                                                         task="image-classification"),
                                      LoadContext(base_dir=pytester.path, rootdir=pytester.path))
    with torch_threads(1):  # batched, on one thread: 0.7 s, not 90 s beside busy processes
        answers = runner([Image.fromarray(image, mode="L") for image in images], top_k=1,
                         batch_size=120)
        ours = _modeltests_labels(adapter)
    theirs = [answer[0]["label"] for answer in answers]
    assert sum(a == b for a, b in zip(ours, theirs)) == len(images) == 360
    assert _accuracy(report, "suites/vit.yaml") == accuracy_score([str(t) for t in truth], theirs)
    assert _accuracy(report, "digits_vit.yaml") == _accuracy(report, "suites/vit.yaml")


def test_timm_architecture_with_weights_equals_timms_own_transform(
        pytester: pytest.Pytester, digits_timm_dir: Path, timm_lib: Any) -> None:
    from sklearn.metrics import accuracy_score

    from modeltests.adapters.timm_model import TimmParams, load_timm

    timm = timm_lib
    weights = digits_timm_dir / "model.safetensors"
    good = TIMM_MODEL.format(architecture=TIMM_ARCHITECTURE, weights=weights,
                             model_args=json.dumps(TIMM_MODEL_ARGS))
    unknown = good.replace(f"architecture: {TIMM_ARCHITECTURE}", "architecture: test_efficientnt")
    three_channels = good.replace(json.dumps(TIMM_MODEL_ARGS), "{}").replace(
        "input_size: [1, 8, 8]", "input_size: [3, 8, 8]")
    result, report = _run(pytester, {"net": good + CHECKS, "unknown": unknown + CHECKS,
                                     "rgb": three_channels + CHECKS})
    result.stdout.fnmatch_lines([
        "suites/net.yaml *accuracy[[]test] *PASS     accuracy 0.* >= 0.600 (95% CI *",
        "suites/net.yaml *accuracy[[]test-2] *FAIL     accuracy 0.* < 0.990 (95% CI *",
    ], consecutive=False)
    result.stdout.fnmatch_lines([
        f"suites/rgb.yaml:4: model.weights: model.safetensors does not fit timm's "
        f"{TIMM_ARCHITECTURE} with model_args {{}}: size mismatch for conv_stem.weight: copying "
        "a param with shape torch.Size([[]24, 1, 3, 3]) from checkpoint, the shape in current "
        "model is torch.Size([[]24, 3, 3, 3]).",
        f"suites/unknown.yaml:3: model.architecture: timm {timm.__version__} has no architecture "
        f"'test_efficientnt'; did you mean '{TIMM_ARCHITECTURE}'? (close: *; see "
        "timm.list_models())",
    ], consecutive=False)

    images, truth = _digits()
    model = timm.create_model(TIMM_ARCHITECTURE, num_classes=10, **TIMM_MODEL_ARGS)
    timm.models.load_checkpoint(model, str(weights), strict=True)
    config = timm.data.resolve_model_data_config(model.eval(), args=TIMM_DATA_CONFIG)
    transform = timm.data.create_transform(**config)  # timm's eval transform, on PIL images
    batch = torch.stack([transform(Image.fromarray(image, mode="L")) for image in images])
    adapter = load_timm(TimmParams(architecture=TIMM_ARCHITECTURE, weights=str(weights),
                                   labels=LABELS, model_args=TIMM_MODEL_ARGS,
                                   **TIMM_DATA_CONFIG),  # type: ignore[arg-type]
                        LoadContext(base_dir=pytester.path, rootdir=pytester.path))
    with torch_threads(1), torch.inference_mode():
        theirs = [LABELS[i] for i in model(batch).argmax(1).tolist()]
        ours = _modeltests_labels(adapter)
    assert sum(a == b for a, b in zip(ours, theirs)) == len(images) == 360
    assert _accuracy(report, "suites/net.yaml") == accuracy_score([str(t) for t in truth], theirs)
