"""Image classifiers as a user sees them: a folder of images through a torch factory (a fixed
two-weight "brightness" classifier), PASS and FAIL, and every mismatch between images and texts
or a hostile dataset as a located ERROR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

# imported before pytester's in-process runs, which drop modules first imported inside them
import torch  # noqa: F401

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite

BRIGHTNESS = '''
import torch


def build():
    """'bright' when the mean pixel is above 0.5 (logit = 16 * (mean - 0.5)), else 'dark'."""
    layer = torch.nn.Linear(16, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.stack([-torch.ones(16), torch.ones(16)]))
        layer.bias.copy_(torch.tensor([8.0, -8.0]))
    return torch.nn.Sequential(torch.nn.Flatten(), layer)


def shifted():
    """The line at 0.3 instead of 0.5: the 90 and 100 dark pictures (0.35, 0.39) read bright."""
    model = build()
    with torch.no_grad():
        model[1].bias.copy_(torch.tensor([4.8, -4.8]))
    return model
'''

MODEL = ("model:\n  adapter: torch\n  task: image-classification\n  factory: brightness:build\n"
         "  labels: [dark, bright]\n")
IMAGES = "datasets:\n  pics:\n    path: pics\n    image:\n      channels: 1\n"


def _pictures(folder: Path) -> None:
    for label, values in (("dark", (0, 40, 90, 100)), ("bright", (160, 200, 230, 255))):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for value in values:
            Image.new("L", (4, 4), color=value).save(folder / label / f"{value}.png")


def image_project(pytester: pytest.Pytester) -> Path:
    make_project(pytester, suite=None)
    pytester.makepyfile(brightness=BRIGHTNESS)
    _pictures(pytester.path / "suites" / "pics")
    return pytester.path / "suites"


def test_a_folder_of_images_passes_and_fails(pytester: pytest.Pytester) -> None:
    image_project(pytester)
    write_suite(pytester, "suites/pass.yaml", MODEL + IMAGES +
                "checks:\n  - kind: accuracy\n    dataset: pics\n    min_accuracy: 0.5\n"
                "  - kind: calibration\n    dataset: pics\n    max_brier: 0.5\n")
    write_suite(pytester, "suites/fail.yaml", MODEL + IMAGES +
                "    label_map: {dark: bright, bright: dark}\n"
                "checks:\n  - kind: accuracy\n    dataset: pics\n    min_accuracy: 0.5\n"
                "  - kind: coverage\n    dataset: pics\n    confidence_threshold: 0.5\n"
                "    min_accuracy_at_coverage: 0.5\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/fail.yaml  accuracy[pics]     FAIL     accuracy 0.000 < 0.500 (95% upper bound "
        "0.324)",
        "suites/fail.yaml  coverage[pics]     FAIL     accuracy_at_coverage 0.000 < 0.500 (95% "
        "upper bound 0.324)",
        "suites/pass.yaml  accuracy[pics]     PASS     accuracy 1.000 >= 0.500 (95% lower bound "
        "0.676)",
        "suites/pass.yaml  calibration[pics]  PASS     brier * <= 0.500 (95% CI *",
    ]], consecutive=True)
    checks = {c["nodeid"]: c for c in read_report(pytester)["checks"]}
    passed = checks["suites/pass.yaml::accuracy[pics]"]
    assert passed["details"]["per_class"]["bright"]["recall"] == 1.0
    shown = checks["suites/fail.yaml::accuracy[pics]"]["examples"][0]["text"]
    assert shown.startswith(("bright/", "dark/")) and " #" in shown  # the file, its digest


def test_images_and_texts_do_not_mix_and_hostile_files_are_located(
        pytester: pytest.Pytester) -> None:
    suites = image_project(pytester)
    (suites / "pics" / "dark" / "notes.png").write_text("not an image")
    Image.new("RGB", (4, 4)).save(suites / "pics" / "bright" / "colour.png")
    write_suite(pytester, "suites/hostile.yaml", MODEL + IMAGES +
                "checks:\n  - kind: accuracy\n    dataset: pics\n")
    (suites / "ok").mkdir()
    _pictures(suites / "ok")
    ok_images = IMAGES.replace("path: pics", "path: ok")
    write_suite(pytester, "suites/textkind.yaml", MODEL + ok_images +
                "checks:\n  - kind: robustness\n    dataset: pics\n")
    write_suite(pytester, "suites/textmodel.yaml",
                "model:\n  adapter: callable\n  target: fakemodel:predict\n"
                "  labels: [dark, bright]\n" + ok_images +
                "checks:\n  - kind: accuracy\n    dataset: pics\n")
    write_suite(pytester, "suites/textdata.yaml", MODEL +
                "datasets:\n  pics:\n    path: data.csv\n"
                "    label_map: {negative: dark, positive: bright}\n"
                "checks:\n  - kind: accuracy\n    dataset: pics\n")
    write_suite(pytester, "suites/weights.yaml", MODEL + "  weights: missing.pt\n" + ok_images +
                "checks:\n  - kind: accuracy\n    dataset: pics\n")
    write_suite(pytester, "suites/attack.yaml",
                "model:\n  adapter: callable\n  target: fakemodel:predict\n"
                "  labels: [negative, positive]\n"
                "datasets:\n  dev:\n    path: data.csv\n"
                "checks:\n  - kind: adversarial\n    dataset: dev\n"
                "    attacks: [{attack: fgsm, eps: 0.1}]\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    output = result.stdout.str()
    assert_no_traceback(output)
    result.stdout.fnmatch_lines([lit(line) for line in [
        "*suites/attack.yaml:9: checks[0].kind: 'adversarial' edits images, and the suite's "
        "model reads texts (CallableModel); load an image classifier (adapter: torch with task: "
        "image-classification)",
        "*suites/hostile.yaml:8: datasets.pics: 2 of 10 image file(s) cannot be used: "
        "bright/colour.png (mode RGB; image.channels: 1 reads L or 1), dark/notes.png (not an "
        "image)",
        "*suites/textdata.yaml:7: datasets.pics is a dataset of texts, and the suite's model "
        "classifies images (ImageTorchModel); declare the dataset's images with an 'image' "
        "section (channels, size, mean, std)",
        "*suites/textkind.yaml:12: checks[0].kind: 'robustness' gives the model texts, and the "
        "suite's model classifies images (ImageTorchModel, task: image-classification); for "
        "images use accuracy, calibration, coverage, regression, availability, invariance "
        "(image edits), quantization, pruning, footprint, latency or the image kinds "
        "(adversarial, corruption)",
        "*suites/textmodel.yaml:6: datasets.pics is a dataset of images (it has an 'image' "
        "section), and the suite's model reads texts (CallableModel); load an image "
        "classifier (adapter: torch with task: image-classification)",
        "*suites/weights.yaml:6: model.weights: file not found: */suites/missing.pt",
    ]])


CORRUPTIONS = "checks:\n  - kind: corruption\n    dataset: pics\n"
OTHER_MODEL = ("models:\n  twin:\n    adapter: torch\n    task: image-classification\n"
               "    factory: brightness:build\n    labels: [dark, bright]\n")


def test_corruptions_pass_and_fail_on_a_brightness_classifier(
        pytester: pytest.Pytester) -> None:
    """Contrast and defocus blur leave a uniform image's mean, so the brightness classifier
    stays right; the brightness corruption lifts every dark image at severity 5 (+0.5) over the
    classifier's 0.5 line but the black one (0 + 127 of 255). Against itself as the baseline,
    every corruption error is 1."""
    image_project(pytester)
    write_suite(pytester, "suites/pass.yaml", MODEL + IMAGES + CORRUPTIONS +
                "    corruptions: [contrast, defocus_blur]\n    min_accuracy: 0.6\n"
                "    max_accuracy_drop: 0.4\n    max_mce: 0.1\n")
    write_suite(pytester, "suites/fail.yaml", MODEL + OTHER_MODEL + IMAGES + CORRUPTIONS +
                "    corruptions: [brightness]\n    severities: [5]\n    baseline: twin\n"
                "    min_accuracy: 0.9\n    max_mce: 0.9\n")
    write_suite(pytester, "suites/perfect.yaml", MODEL + OTHER_MODEL + IMAGES + CORRUPTIONS +
                "    corruptions: [contrast]\n    baseline: twin\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(line) for line in [
        "corruption[pics] failed (suites/fail.yaml:18, n=8)",
        "  mce 1.000 > 0.900 (95% CI 1.000 to 1.000)  [max_mce]",
        "  brightness@5 accuracy 0.625 < 0.900 (95% CI 0.306 to 0.863)  "
        "[brightness@5.min_accuracy]",
        "  failing examples (3):",
        "    - [brightness@5] 'dark/100.png' expected dark predicted bright",
        "*",
        "suites/perfect.yaml:21: checks[0].baseline: model 'twin' classified all 8 images "
        "right under contrast at every severity tested: its error cannot normalise the "
        "corruption error (sample more images, add higher severities, or remove 'baseline' "
        "for the unnormalised mean error)",
        "*modeltests summary*",
        "*",
        "suites/fail.yaml     corruption[pics]  FAIL     mce 1.000 > 0.900 (95% CI 1.000 to "
        "1.000); brightness@5 accuracy 0.625 < 0.900 (95% CI 0.306 to 0.863)",
        "suites/pass.yaml     corruption[pics]  PASS     mce 0.000 <= 0.100 (95% CI 0.000 to "
        "0.000); contrast@1 accuracy 1.000 >= 0.600 (95% lower bound 0.676)",
        "suites/perfect.yaml  corruption[pics]  FAIL     suites/perfect.yaml:21: "
        "checks[0].baseline: model 'twin' classified all 8 images right un…",
    ]])
    checks = {c["nodeid"]: c for c in read_report(pytester)["checks"]}
    passed = checks["suites/pass.yaml::corruption[pics]"]
    assert passed["metrics"]["mce"] == 0.0 and not passed["details"]["normalised"]
    assert passed["details"]["resized"].startswith("4x4 images are smaller than the 32x32")
    assert "unnormalised" in passed["details"]["mce_note"]
    failed = checks["suites/fail.yaml::corruption[pics]"]
    assert failed["metrics"]["brightness@5.accuracy_drop"] == 0.375
    assert failed["details"]["baseline_errors"] == {"brightness@5": 0.375}
    assert {e["input"] for e in failed["examples"]} == {"brightness@5"}


def test_corruption_names_and_severities_are_checked_where_they_are_written(
        pytester: pytest.Pytester) -> None:
    image_project(pytester)
    write_suite(pytester, "suites/bad.yaml", MODEL + IMAGES + CORRUPTIONS +
                "    corruptions: [fogg, noise]\n    severities: [0, 3]\n")
    write_suite(pytester, "suites/text.yaml",
                "model:\n  adapter: callable\n  target: fakemodel:predict\n"
                "  labels: [negative, positive]\n"
                "datasets:\n  pics:\n    path: data.csv\n" + CORRUPTIONS)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/bad.yaml:14: checks[0].corruptions[0]: must be one of 'gaussian_noise', "
        "'shot_noise', 'impulse_noise', 'defocus_blur', 'glass_blur', 'motion_blur', "
        "'zoom_blur', 'snow', 'frost', 'fog', 'brightness', 'contrast', 'elastic_transform', "
        "'pixelate', 'jpeg_compression', 'speckle_noise', 'gaussian_blur', 'spatter', "
        "'saturate', 'noise', 'blur', 'weather', 'digital', 'common' or 'extra' (got 'fogg'); "
        "did you mean 'fog'?",
        "suites/bad.yaml:15: checks[0].severities[0]: must be one of 1, 2, 3, 4 or 5 (got 0)",
    ]], consecutive=True)
    result.stdout.fnmatch_lines([lit(
        "*suites/text.yaml:9: checks[0].kind: 'corruption' edits images, and the suite's model "
        "reads texts (CallableModel); load an image classifier (adapter: torch with task: "
        "image-classification)")])


INVARIANCE = "checks:\n  - kind: invariance\n    dataset: pics\n"


def test_image_invariance_passes_and_fails_on_a_brightness_classifier(
        pytester: pytest.Pytester) -> None:
    """Flipping or turning a uniform image leaves its mean (the corners a rotation uncovers are
    black, which keeps dark images dark and bright ones above 0.5); +-0.5 brightness moves 7 of
    the 16 edited images across the 0.5 line (0 + 0.5 and 255 - 0.5 land on it, a tie read as
    the first label, dark)."""
    image_project(pytester)
    write_suite(pytester, "suites/pass.yaml", MODEL + IMAGES + INVARIANCE +
                "    perturbations: [flip_horizontal, flip_vertical, rotate]\n"
                "    min_pass_rate: 0.6\n")
    write_suite(pytester, "suites/fail.yaml", MODEL + IMAGES + INVARIANCE +
                "    perturbations: [brightness]\n    brightness_delta: 0.5\n"
                "    min_pass_rate: 0.9\n")
    write_suite(pytester, "suites/mixed.yaml", MODEL + IMAGES + INVARIANCE +
                "    perturbations: [rotate, typos]\n")
    write_suite(pytester, "suites/text.yaml",
                "model:\n  adapter: callable\n  target: fakemodel:predict\n"
                "  labels: [negative, positive]\n"
                "datasets:\n  pics:\n    path: data.csv\n" + INVARIANCE +
                "    perturbations: [crop]\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/fail.yaml   invariance[pics]  FAIL     pass_rate 0.562 < 0.900 (95% CI 0.332 "
        "to 0.769)",
        "suites/mixed.yaml  invariance[pics]  FAIL     suites/mixed.yaml:14: "
        "checks[0].perturbations: typos edits texts*",
        "suites/pass.yaml   invariance[pics]  PASS     pass_rate 1.000 >= 0.600 (95% lower "
        "bound 0.893)",
        "suites/text.yaml   invariance[pics]  FAIL     suites/text.yaml:11: "
        "checks[0].perturbations: crop edits images*",
    ]], consecutive=True)
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/mixed.yaml:14: checks[0].perturbations: typos edits texts, and dataset 'pics' "
        "holds images; the perturbations of images are flip_horizontal, flip_vertical, rotate, "
        "crop, brightness",
        "*",
        "suites/text.yaml:11: checks[0].perturbations: crop edits images, and dataset 'pics' "
        "holds texts; the perturbations of texts are typos, punctuation, case, contractions, "
        "whitespace, names, locations, numbers, append_url, append_handle, neutral_word",
    ]])
    checks = {c["nodeid"]: c for c in read_report(pytester)["checks"]}
    failed = checks["suites/fail.yaml::invariance[pics]"]
    assert failed["metrics"]["cases"] == 16.0
    assert {e["perturbed"].split(" (")[1].split(")")[0] for e in failed["examples"]} == \
        {"brightness +0.5", "brightness -0.5"}
    passed = checks["suites/pass.yaml::invariance[pics]"]["details"]["per_perturbation"]
    assert {name: entry["cases"] for name, entry in passed.items()} == \
        {"flip_horizontal": 8, "flip_vertical": 8, "rotate": 16}


ROBUST = '''
import torch


class MeanBrightness(torch.nn.Module):
    """'bright' when the mean pixel (NaN read as 0) is above 0.5, for any size or channels."""

    def forward(self, x):
        logit = 16 * (torch.nan_to_num(x).mean(dim=(1, 2, 3)) - 0.5)
        return torch.stack([-logit, logit], dim=1)


def build():
    return MeanBrightness()
'''
AVAILABILITY = "checks:\n  - kind: availability\n    dataset: pics\n"


def test_image_availability_lists_each_odd_image_as_a_pass_or_a_fail(
        pytester: pytest.Pytester) -> None:
    """A model that reads any size and channel count and ignores NaN answers every odd image;
    the fixed 16-input linear layer answers only the four of the dataset's own shape: NaN
    pixels give NaN outputs, every other shape a located shape error."""
    image_project(pytester)
    pytester.makepyfile(robust=ROBUST)
    write_suite(pytester, "suites/pass.yaml", MODEL.replace("brightness:build", "robust:build")
                + IMAGES + AVAILABILITY)
    write_suite(pytester, "suites/fail.yaml", MODEL + IMAGES + AVAILABILITY)
    write_suite(pytester, "suites/nodata.yaml", MODEL + IMAGES +
                "checks:\n  - kind: availability\n")
    write_suite(pytester, "suites/text.yaml",
                "model:\n  adapter: callable\n  target: fakemodel:predict\n"
                "  labels: [negative, positive]\n"
                "datasets:\n  pics:\n    path: data.csv\n" + AVAILABILITY)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    output = result.stdout.str()
    assert "Traceback" not in output and "site-packages" not in output
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/nodata.yaml:12: checks[0].kind: availability on an image classifier needs "
        "'dataset': a dataset of images whose first images are the smoke inputs and whose "
        "shape the odd images take",
        "*",
        "suites/text.yaml:10: checks[0].dataset: dataset applies to an image classifier (its "
        "odd images take the dataset's shape); the suite's model (CallableModel) reads texts: "
        "remove dataset",
        "*",
        "*",
        "availability[pics] failed (suites/fail.yaml:12, n=53)",
        "  edge_pass_rate 0.400 < 1.000  [min_edge_pass_rate]",
        "  failing examples (6):",
        "    - [NaN pixels (top quarter)] 'odd: NaN pixels (top quarter) #*' error: model "
        "returned NaN or infinite outputs for 1 of 1 inputs (first: 'odd: NaN pixels (top "
        "quarter) #*')",
        "    - [3 channels (expects 1)] 'odd: 3 channels (expects 1) #*' error: model raised "
        "RuntimeError in predict: mat1 and mat2 shapes cannot be multiplied (1x48 and 16x2)",
        "    - [half size 2x2] 'odd: half size 2x2 #*' error: model raised RuntimeError in "
        "predict: mat1 and mat2 shapes cannot be multiplied (1x4 and 16x2)",
        "    - [double size 8x8] * (1x64 and 16x2)",
        "    - [1x1 pixel] * (1x1 and 16x2)",
        "    - [large 64x64] * (1x4096 and 16x2)",
        "*modeltests summary*",
        "*",
        "suites/fail.yaml    availability[pics]  FAIL     edge_pass_rate 0.400 < 1.000",
        "suites/nodata.yaml  availability[0]     ERROR    suites/nodata.yaml:12: *",
        "suites/pass.yaml    availability[pics]  PASS     smoke_pass_rate 1.000 >= 1.000; "
        "edge_pass_rate 1.000 >= 1.000",
        "suites/text.yaml    availability[pics]  ERROR    suites/text.yaml:10: *",
    ]], consecutive=True)
    checks = {c["nodeid"]: c for c in read_report(pytester)["checks"]}
    passed = checks["suites/pass.yaml::availability[pics]"]
    assert passed["metrics"]["edge_pass_rate"] == 1.0
    assert all(passed["details"]["edge_inputs"].values())
    assert passed["metrics"]["generated_pass_rate"] == 1.0
    failed = checks["suites/fail.yaml::availability[pics]"]["details"]["edge_inputs"]
    assert [name for name, ok in failed.items() if ok] == \
        ["all black", "all white", "mid gray", "uniform noise"]


SHIFTED = ("models:\n  shifted:\n    adapter: torch\n    task: image-classification\n"
           "    factory: brightness:shifted\n    labels: [dark, bright]\n")
BRIGHT = SHIFTED.replace("shifted:\n", "bright:\n").replace("brightness:shifted",
                                                            "brightness:build")


def test_relative_mce_equals_the_hand_computation_from_the_reports_cells(
        pytester: pytest.Pytester) -> None:
    """The relative mCE divides the error each corruption adds to the model's clean error by
    the error it adds to the baseline's. Brightness +0.5 (severity 5) lifts three dark pictures
    over the brightness classifier's 0.5 line (+3 errors) and all four over the shifted
    model's 0.3 line, two of which it already got wrong (+2): 3 / 2 = 1.5 with the shifted
    model as the baseline, 2 / 3 the other way round; over 8 pictures the bootstrap intervals
    are wide (0.25 to 5, 0 to 2.8), so the limits that decide are 0.2 (FAIL) and 3 (PASS). Contrast
    leaves a uniform picture as it is: the shifted baseline loses nothing to it, which cannot
    normalise; and without a baseline the gate is refused where it is written."""
    image_project(pytester)
    relative = CORRUPTIONS + "    corruptions: [brightness]\n    severities: [4, 5]\n"
    write_suite(pytester, "suites/fail.yaml", MODEL + SHIFTED + IMAGES + relative +
                "    baseline: shifted\n    max_relative_mce: 0.2\n")
    write_suite(pytester, "suites/pass.yaml", MODEL.replace("brightness:build",
                                                            "brightness:shifted") +
                BRIGHT + IMAGES + relative + "    baseline: bright\n    max_relative_mce: 3.0\n")
    write_suite(pytester, "suites/flat.yaml", MODEL + SHIFTED + IMAGES + CORRUPTIONS +
                "    corruptions: [contrast]\n    severities: [5]\n    baseline: shifted\n"
                "    max_relative_mce: 1.0\n")
    write_suite(pytester, "suites/alone.yaml", MODEL + IMAGES + relative +
                "    max_relative_mce: 1.0\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/alone.yaml:12: checks[0]: 'max_relative_mce' divides by a baseline model's "
        "degradation: set 'baseline' to a model under 'models:' (max_mce without baseline "
        "gates the unnormalised mean error)",
        "*",
        "suites/flat.yaml:22: checks[0].baseline: model 'shifted' lost no accuracy to contrast "
        "(its corrupted errors summed over the severities do not exceed its clean error on "
        "these 8 images): its degradation cannot normalise the relative corruption error "
        "(sample more images, add higher severities, or remove 'max_relative_mce')",
    ]])
    result.stdout.fnmatch_lines([lit(line) for line in [
        "suites/fail.yaml   corruption[pics]  FAIL     relative_mce 1.500 > 0.200 (95% CI 0.250 to 5.000)",
        "suites/flat.yaml   corruption[pics]  FAIL     suites/flat.yaml:22: checks[0].baseline*",
        "suites/pass.yaml   corruption[pics]  PASS     relative_mce 0.667 <= 3.000 (95% CI 0.000 to 2.787)",
    ]])
    checks = {c["nodeid"]: c for c in read_report(pytester)["checks"]}
    for name in ("fail", "pass"):
        check = checks[f"suites/{name}.yaml::corruption[pics]"]
        assert check["metrics"]["relative_mce"] == pytest.approx(_hand_relative_mce(check),
                                                                 abs=1e-12)
        assert check["metrics"]["brightness.relative_corruption_error"] == \
            check["metrics"]["relative_mce"]  # one corruption: its mean is itself


def _hand_relative_mce(check: dict[str, Any]) -> float:
    """sum_s (E_s - E_clean) / sum_s (E_s(base) - E_clean(base)), averaged over corruptions,
    from the per-cell accuracies and the baseline's errors the report lists."""
    clean_error = 1 - check["metrics"]["clean_accuracy"]
    base_clean = check["details"]["baseline_clean_error"]
    ratios = []
    for name in check["details"]["corruptions"]:
        cells = [c for c in check["details"]["cells"] if c["corruption"] == name]
        mine = sum((1 - c["accuracy"]) - clean_error for c in cells)
        theirs = sum(check["details"]["baseline_errors"][f"{name}@{c['severity']}"] - base_clean
                     for c in cells)
        ratios.append(mine / theirs)
    return sum(ratios) / len(ratios)
