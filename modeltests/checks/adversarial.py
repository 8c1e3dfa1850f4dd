"""``adversarial``: adversarial attacks on an image classifier through the Adversarial Robustness
Toolbox (:mod:`modeltests.perturb.art_attacks`), gated on attack success rate and robust accuracy
per attack and epsilon budget::

    - kind: adversarial
      dataset: test
      num_examples: 100
      attacks:
        - {attack: fgsm, eps: 0.1, max_attack_success_rate: 0.5}
        - {attack: pgd, eps: 0.1, max_iter: 10, min_robust_accuracy: 0.3}
        - {attack: square, eps: 0.1, max_iter: 50}

ART crafts the images (white-box FGSM and PGD from the model's gradients, black-box Square from
its scores); the crafted images are then classified through the session's prediction path like
any other input. ``attack_success_rate`` is the share of the examples the model classified right
that the attack makes it get wrong (``1 - art.metrics.adversarial_accuracy``);
``robust_accuracy`` the share of all sampled examples still classified right. Both carry Wilson
intervals and gate like the text ``robustness`` kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from modeltests.checks._sources import sample_indices
from modeltests.context import CheckContext
from modeltests.errors import UnsupportedCapabilityError
from modeltests.extend.registry import CheckKind
from modeltests.perturb.art_attacks import AttackName
from modeltests.result import CheckResult, SeededParams, ThresholdResult, threshold

if TYPE_CHECKING:
    from modeltests.data.datasets import ImageDataset


class AttackSpec(BaseModel):
    """One attack at one L-infinity budget, with its thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attack: AttackName = Field(description="fgsm, pgd (white-box, gradients) or square "
                               "(black-box, model scores only).")
    eps: float = Field(gt=0, le=1, description="L-infinity budget, in pixel units of [0, 1] "
                       "(before normalisation): 8/255 is about 0.031.")
    eps_step: float | None = Field(default=None, gt=0, le=1,
                                   description="PGD's step (default eps / 4).")
    max_iter: int = Field(default=10, ge=1, le=10_000,
                          description="PGD's steps, or Square's queries per image.")
    name: str | None = Field(default=None, description="Shown in the report (default "
                             "ATTACK@EPS, e.g. fgsm@0.1).")
    max_attack_success_rate: float | None = threshold(
        "Highest share of correctly classified examples the attack may flip.", ge=0, le=1)
    min_robust_accuracy: float | None = threshold(
        "Lowest share of all sampled examples still classified correctly under attack.",
        ge=0, le=1)

    @property
    def label(self) -> str:
        """The attack's name in the report."""
        return self.name or f"{self.attack}@{self.eps:g}"


class AdversarialParams(SeededParams):
    """Adversarial attacks on images sampled (seeded) from a labelled dataset of images."""

    kind: str = "adversarial"
    dataset: str = Field(description="Name of a dataset of images under 'datasets:'.")
    attacks: list[AttackSpec] = Field(min_length=1, description="Attacks and budgets to run.")
    num_examples: int = Field(default=100, ge=1, le=100_000,
                              description="Images sampled (seeded) from the dataset.")
    batch_size: int = Field(default=64, ge=1, le=4096, description="Images per ART batch.")
    threads: int | None = Field(
        default=1, ge=1, le=1024, description="torch.set_num_threads while attacking (restored "
        "after); unset: torch's own. One by default: attacks make many small forward and "
        "backward calls, which run many times slower when OpenMP threads compete for cores.")
    min_clean_accuracy: float | None = threshold(
        "Lowest accuracy on the sampled images before any attack.", ge=0, le=1)


def run_adversarial(context: CheckContext, params: AdversarialParams) -> CheckResult:
    """Sample the images, run every attack through ART, classify its images, gate (all on
    ``params.threads`` torch threads)."""
    from modeltests.measure.timing import torch_threads

    with torch_threads(params.threads) as threads:
        result = _attack_all(context, params)
    result.torch_threads = threads
    return result


def _attack_all(context: CheckContext, params: AdversarialParams) -> CheckResult:
    import numpy as np

    from modeltests.perturb.art_attacks import art_classifier, art_version, generate, make_attack
    from modeltests.stats.proportions import wilson_interval

    dataset = image_dataset(context, params.dataset)
    adapter = context.model()
    try:
        module = adapter.torch_module()
    except UnsupportedCapabilityError:
        raise context.error("kind", f"adversarial attacks run the model's torch module in this "
                            f"process (ART's gradients and queries), and the suite's model "
                            f"({type(adapter).__name__}, {adapter.device}) exposes none: attack "
                            "the same weights loaded with adapter: torch") from None
    if getattr(adapter, "collate", None) is not None:
        raise context.error("kind", "adversarial attacks feed the module the dataset's "
                            "normalised pixels; a model with its own collate cannot be attacked "
                            "(remove model.collate)")
    indices = sample_indices(len(dataset), params.num_examples, context.seed)
    everything = dataset.images
    images = [everything[i] for i in indices]
    truth = np.asarray([adapter.labels.index(dataset.labels[i]) for i in indices])
    clean = _label_indices(context.predict(images).labels, adapter.labels)
    pixels = np.stack([image.pixels for image in images])
    classifier = art_classifier(module, dataset.shape, len(adapter.labels), dataset.mean,
                                dataset.std)
    correct = clean == truth
    metrics: dict[str, float] = {"clean_accuracy": float(correct.mean())}
    intervals = {"clean_accuracy": wilson_interval(int(correct.sum()), len(correct))}
    methods = {"clean_accuracy": "wilson"}
    result = CheckResult(metrics=metrics, sample_size=len(images), intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    entries = []
    for spec in params.attacks:
        attack = make_attack(classifier, spec.attack, spec.eps, spec.eps_step, spec.max_iter,
                             params.batch_size)
        crafted = generate(attack, pixels, context.seed)
        adversarial = [image.with_pixels(adv, spec.label) for image, adv in zip(images, crafted)]
        predicted = _label_indices(context.run_model(adapter, adversarial).labels,
                                   adapter.labels)
        entry, scoped = _score_attack(context, spec, truth, clean, predicted, crafted, pixels)
        entries.append(entry)
        result.metrics.update({f"{spec.label}.{k}": v for k, v in entry["metrics"].items()})
        result.intervals.update({f"{spec.label}.{k}": (v[0], v[1])
                                 for k, v in entry["intervals"].items()})
        result.thresholds.extend(scoped)
        result.warn_unresolved(scoped, len(images))
    result.details = {"library": f"adversarial-robustness-toolbox {art_version()}",
                      "seed": context.seed, "indices": indices, "attacks": entries,
                      "norm": "L-infinity, pixels in [0, 1]"}
    return result


def _score_attack(context: CheckContext, spec: AttackSpec, truth: Any, clean: Any,
                  predicted: Any, crafted: Any, pixels: Any
                  ) -> tuple[dict[str, Any], list[ThresholdResult]]:
    """One attack's metrics, Wilson intervals and gated thresholds (scoped by its name)."""
    from modeltests.stats.proportions import wilson_interval

    correct = clean == truth
    flipped = int((correct & (predicted != clean)).sum())
    still_right = int((predicted == truth).sum())
    attacked = int(correct.sum())
    metrics = {"attack_success_rate": flipped / attacked if attacked else 0.0,
               "robust_accuracy": still_right / len(truth),
               "max_perturbation": float(abs(crafted - pixels).max())}
    intervals = {"attack_success_rate": wilson_interval(flipped, attacked),
                 "robust_accuracy": wilson_interval(still_right, len(truth))}
    methods = {"attack_success_rate": "wilson", "robust_accuracy": "wilson",
               "max_perturbation": "exact"}
    scoped = context.evaluate(metrics, intervals, scope=spec.label, params=spec,
                              methods=methods)
    entry = {"name": spec.label, "attack": spec.attack, "eps": spec.eps,
             "max_iter": spec.max_iter, "attacked": attacked, "flipped": flipped,
             "metrics": metrics, "intervals": {k: list(v) for k, v in intervals.items()},
             "thresholds": [t.to_json() for t in scoped]}
    return entry, scoped


def _label_indices(labels: list[str], names: list[str]) -> Any:
    import numpy as np

    return np.asarray([names.index(label) for label in labels])


def image_dataset(context: CheckContext, name: str) -> ImageDataset:
    """The dataset ``name``, which must be a dataset of images."""
    from modeltests.data.datasets import ImageDataset

    dataset = context.dataset(name)
    if not isinstance(dataset, ImageDataset):
        raise context.error("dataset", f"dataset {name!r} holds texts; this kind edits images "
                            "(declare a dataset with an 'image' section)")
    return dataset


CHECK_KINDS = [CheckKind("adversarial", AdversarialParams, run_adversarial,
                         "image attacks through ART: FGSM, PGD, Square; success rate, robust "
                         "accuracy", inputs="image")]
