"""builtin:digits-cnn through the classification kinds and the ``adversarial`` kind: one run of
a suite that passes (the trained CNN) and one that fails (the same CNN with noisy weights: it
regresses against the trained one). The figures are recomputed independently: accuracy, F1 and
per-class recall with scikit-learn on the CNN's own predictions, the attacks with ART's own
runner (``art.metrics.adversarial_accuracy``) on the same module, images and seed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# pytester's in-process runs drop modules first imported inside them; torch imported again in
# a later run fails, so it loads here once (ART, imported in a fixture, for the same reason).
import torch
import torch._inductor.test_operators  # noqa: F401  (registers a torch library: once only)

import modeltests.demo.digits  # noqa: F401  (imported once: the factory the suites name)

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "suites" / "data" / "digits_test.npz"
SEED = 0
EXAMPLES = 60
ATTACKS = [("fgsm", 0.1, 1), ("pgd", 0.1, 5), ("square", 0.1, 20)]

SUITE = """\
model:
  adapter: torch
  task: image-classification
  factory: modeltests.demo.digits:digits_cnn
  weights: {weights}
  labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
models:
  production:
    adapter: torch
    task: image-classification
    factory: modeltests.demo.digits:digits_cnn
    weights: {production}
    labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
datasets:
  test:
    path: digits_test.npz
    image:
      channels: 1
defaults:
  seed: {seed}
checks:
  - kind: accuracy
    dataset: test
    min_accuracy: 0.9
    min_f1_macro: 0.9
    slices:
      - name: eights
        column: label
        equals: 8
        min_accuracy: 0.7
  - kind: calibration
    dataset: test
    max_ece: 0.1
  - kind: coverage
    dataset: test
    confidence_threshold: 0.9
    min_accuracy_at_coverage: 0.95
  - kind: regression
    dataset: test
    baseline: production
    max_accuracy_drop: 0.05
  - kind: adversarial
    dataset: test
    num_examples: {examples}
    attacks:
{attacks}
"""


def _attacks(limit: float) -> str:
    return "\n".join(f"      - {{attack: {name}, eps: {eps}, max_iter: {steps}, "
                     f"max_attack_success_rate: {limit}}}" for name, eps, steps in ATTACKS)


@pytest.fixture(scope="module")
def art() -> Any:
    import art.attacks.evasion
    import art.estimators.classification
    import art.metrics

    return art


@pytest.fixture(scope="module")
def noisy_weights(digits_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained CNN's weights with noise (1.5 standard deviations of each tensor) and a 4x
    sharper last layer: about a third right, and confident about the rest."""
    state = torch.load(digits_model_dir / "weights.pt", weights_only=True)
    noise = torch.Generator().manual_seed(0)
    noisy = {key: value + 1.5 * value.std() * torch.randn(value.shape, generator=noise)
             for key, value in state.items()}
    noisy["6.weight"] = noisy["6.weight"] * 4
    path = tmp_path_factory.mktemp("noisy") / "noisy.pt"
    torch.save(noisy, path)
    return path


def _run(pytester: pytest.Pytester, weights: str, limit: float) -> list[dict[str, Any]]:
    folder = pytester.path / "suites"
    folder.mkdir(exist_ok=True)
    shutil.copy(DATA, folder / "digits_test.npz")
    (folder / "digits.yaml").write_text(SUITE.format(
        weights=weights, production="builtin:digits-cnn", seed=SEED, examples=EXAMPLES,
        attacks=_attacks(limit)))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    checks: list[dict[str, Any]] = json.loads(
        (pytester.path / "reports" / "modeltests.json").read_text())["checks"]
    pytester.result = result  # type: ignore[attr-defined]
    return checks


def _module(weights: Path) -> Any:
    from modeltests.demo.digits import digits_cnn

    module = digits_cnn()
    module.load_state_dict(torch.load(weights, weights_only=True))
    return module.eval()


def _images() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA) as arrays:
        return (arrays["images"].astype(np.float32)[:, None] / 255.0, arrays["labels"])


def test_digits_cnn_passes_with_figures_equal_to_sklearn_and_art(
        pytester: pytest.Pytester, digits_model_dir: Path, art: Any) -> None:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    checks = _run(pytester, "builtin:digits-cnn", 0.9)
    pytester.result.stdout.fnmatch_lines([  # type: ignore[attr-defined]
        "suites/digits.yaml  accuracy[[]test]*PASS     accuracy 0.9* >= 0.900 (95% CI *",
        "suites/digits.yaml  calibration[[]test]*PASS     ece 0.0* <= 0.100 *",
        "suites/digits.yaml  coverage[[]test]*PASS     *",
        "suites/digits.yaml  regression[[]production]*PASS     accuracy_drop 0.000 <= 0.050*",
        "suites/digits.yaml  adversarial[[]test]*PASS     fgsm@0.1 attack_success_rate 0.* <= "
        "0.900 (95% CI *",
        "modeltests: 5 checks: 5 passed"])
    by_kind = {check["kind"]: check for check in checks}
    images, labels = _images()
    module = _module(digits_model_dir / "weights.pt")
    with torch.inference_mode():
        predicted = module(torch.from_numpy(images)).argmax(1).numpy()
    accuracy = by_kind["accuracy"]
    assert accuracy["metrics"]["accuracy"] == accuracy_score(labels, predicted)
    assert accuracy["metrics"]["f1_macro"] == pytest.approx(
        f1_score(labels, predicted, average="macro"), abs=1e-12)
    recalls = recall_score(labels, predicted, average=None)
    assert [accuracy["details"]["per_class"][str(c)]["recall"] for c in range(10)] == \
        pytest.approx(list(recalls), abs=1e-12)
    eights = labels == 8
    assert accuracy["metrics"]["slice.eights.accuracy"] == \
        accuracy_score(labels[eights], predicted[eights])
    assert by_kind["calibration"]["metrics"]["ece_width"] == pytest.approx(
        _equal_width_ece(module, images, labels, by_kind["calibration"]["details"]["bins"]),
        abs=1e-12)
    _assert_attacks_equal_arts_runner(by_kind["adversarial"], module, images, labels, art)


def _equal_width_ece(module: Any, images: np.ndarray, labels: np.ndarray, bins: int) -> float:
    """The plain equal-width ECE by hand: per bin of top-class confidence, |accuracy - mean
    confidence|, weighted by the bin's share of the rows."""
    with torch.inference_mode():
        logits = module(torch.from_numpy(images)).double()
    probabilities = torch.softmax(logits, dim=1).numpy()
    confidence, right = probabilities.max(1), probabilities.argmax(1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return float(sum((which == b).mean() * abs(right[which == b].mean()
                                                - confidence[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def _assert_attacks_equal_arts_runner(check: dict[str, Any], module: Any, images: np.ndarray,
                                      labels: np.ndarray, art: Any) -> None:
    """ART's own runner on the same module, sampled images, attack settings and seed gives the
    same success rate; the attack's own images give the same robust accuracy."""
    indices = check["details"]["indices"]
    assert len(indices) == EXAMPLES
    x, y = images[indices], labels[indices]
    classifier = art.estimators.classification.PyTorchClassifier(
        model=module, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=10,
        clip_values=(0.0, 1.0), device_type="cpu",
        preprocessing=(np.zeros((1, 1, 1), np.float32), np.ones((1, 1, 1), np.float32)))
    evasion = art.attacks.evasion
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, eps, steps in ATTACKS:
            attack = {"fgsm": lambda: evasion.FastGradientMethod(classifier, norm=np.inf, eps=eps),
                      "pgd": lambda: evasion.ProjectedGradientDescent(
                          classifier, norm=np.inf, eps=eps, eps_step=eps / 4, max_iter=steps,
                          num_random_init=0, verbose=False),
                      "square": lambda: evasion.SquareAttack(
                          classifier, norm=np.inf, eps=eps, max_iter=steps, verbose=False),
                      }[name]
            np.random.seed(SEED)
            torch.manual_seed(SEED)
            runner = art.metrics.adversarial_accuracy(classifier, x, y, attack_crafter=attack())
            np.random.seed(SEED)
            torch.manual_seed(SEED)
            crafted = attack().generate(x=x)
            robust = float((classifier.predict(crafted).argmax(1) == y).mean())
            label = f"{name}@{eps:g}"
            assert check["metrics"][f"{label}.attack_success_rate"] == pytest.approx(
                1 - runner, abs=1e-12), label
            assert check["metrics"][f"{label}.robust_accuracy"] == robust, label
            assert check["metrics"][f"{label}.max_perturbation"] <= eps + 1e-6
    finally:
        torch.set_num_threads(before)


def test_a_noisy_digits_cnn_fails_every_kind(pytester: pytest.Pytester, noisy_weights: Path,
                                             digits_model_dir: Path, art: Any) -> None:
    checks = _run(pytester, str(noisy_weights), 0.05)
    pytester.result.stdout.fnmatch_lines([  # type: ignore[attr-defined]
        "suites/digits.yaml  accuracy[[]test]*FAIL     accuracy 0.* < 0.900 *",
        "suites/digits.yaml  calibration[[]test]*FAIL     ece 0.* > 0.100 *",
        "suites/digits.yaml  coverage[[]test]*FAIL     accuracy_at_coverage 0.* < 0.950 *",
        "suites/digits.yaml  regression[[]production]*FAIL     accuracy_drop 0.* > 0.050 *",
        "suites/digits.yaml  adversarial[[]test]*FAIL     *attack_success_rate 0.* > 0.050 *",
        "modeltests: 5 checks: 5 failed"])
    assert all(check["outcome"] == "failed" for check in checks)


CORRUPTED = ["gaussian_noise", "impulse_noise", "contrast"]  # impulse_noise takes its own seed
CORRUPTION_SUITE = SUITE.split("checks:")[0] + """\
checks:
  - kind: corruption
    dataset: test
    num_examples: {examples}
    corruptions: [{names}]
    baseline: production
    max_mce: 1.0
"""


def test_corruption_figures_equal_the_librarys_own_corruptions(
        pytester: pytest.Pytester, digits_model_dir: Path, noisy_weights: Path) -> None:
    """The trained CNN against the noisy one as its baseline passes max_mce: 1 (it errs less
    under every corruption), the noisy one against the trained one fails it; every accuracy and
    the mCE equal an independent loop of imagecorruptions' own ``corrupt()`` on the same images
    (enlarged 4x to the 32x32 it requires, its centre pixels kept), seeded per image as
    documented."""
    folder = pytester.path / "suites"
    folder.mkdir()
    shutil.copy(DATA, folder / "digits_test.npz")
    trained = str(digits_model_dir / "weights.pt")
    for name, model, other in (("trained", trained, noisy_weights),
                               ("noisy", noisy_weights, trained)):
        (folder / f"{name}.yaml").write_text(CORRUPTION_SUITE.format(
            weights=model, production=other, seed=SEED, examples=40,
            names=", ".join(CORRUPTED)))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "suites/noisy.yaml    corruption[[]test]  FAIL     mce *.* > 1.000 (95% CI *",
        "suites/trained.yaml  corruption[[]test]  PASS     mce 0.* <= 1.000 (95% CI *"])
    checks = {c["suite"].rsplit("/", 1)[-1]: c for c in json.loads(
        (pytester.path / "reports" / "modeltests.json").read_text())["checks"]}
    indices = checks["trained.yaml"]["details"]["indices"]
    assert checks["noisy.yaml"]["details"]["indices"] == indices and len(indices) == 40
    with np.load(DATA) as arrays:
        pixels, labels = arrays["images"][indices], arrays["labels"][indices]
    right = {path: _library_right(_module(Path(path)), pixels, labels)
             for path in (trained, str(noisy_weights))}
    for suite, model, other in (("trained.yaml", trained, str(noisy_weights)),
                                ("noisy.yaml", str(noisy_weights), trained)):
        metrics = checks[suite]["metrics"]
        for (name, severity), hits in right[model].items():
            assert metrics[f"{name}@{severity}.accuracy"] == hits.mean(), (suite, name, severity)
        errors = {name: sum((~right[model][(name, s)]).sum() for s in range(1, 6))
                  / sum((~right[other][(name, s)]).sum() for s in range(1, 6))
                  for name in CORRUPTED}
        for name, error in errors.items():
            assert metrics[f"{name}.corruption_error"] == pytest.approx(error, abs=1e-12)
        assert metrics["mce"] == pytest.approx(np.mean(list(errors.values())), abs=1e-12)


def _library_right(module: Any, pixels: np.ndarray, labels: np.ndarray
                   ) -> dict[tuple[str, int], np.ndarray]:
    """Per corruption and severity, which images ``module`` gets right after imagecorruptions'
    ``corrupt()``, each image seeded with sha256("seed:name:severity:position")[:4]."""
    import hashlib

    from imagecorruptions import corrupt

    right = {}
    for name in CORRUPTED:
        for severity in range(1, 6):
            batch = []
            for position, image in enumerate(pixels):
                text = f"{SEED}:{name}:{severity}:{position}".encode()
                seed = int.from_bytes(hashlib.sha256(text).digest()[:4], "big")
                np.random.seed(seed)
                own = {"seed": seed} if name == "impulse_noise" else {}
                out = corrupt(np.kron(image, np.ones((4, 4), np.uint8)), severity=severity,
                              corruption_name=name, **own)
                batch.append(out[2::4, 2::4, 0].astype(np.float32) / 255.0)
            with torch.inference_mode():
                predicted = module(torch.from_numpy(np.stack(batch)[:, None])).argmax(1)
            right[(name, severity)] = predicted.numpy() == labels
    return right
