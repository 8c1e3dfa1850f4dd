"""Adversarial attacks on image classifiers through the Adversarial Robustness Toolbox (ART).

ART does the attacking: its ``PyTorchClassifier`` wraps the model's torch module with the
dataset's normalisation as ART ``preprocessing`` (so attacks work on pixels in [0, 1], the
``clip_values``, and epsilons are in those units), and its ``FastGradientMethod``,
``ProjectedGradientDescent`` and ``SquareAttack`` (black-box: model scores only) craft the
images. As in ART's own runner (``art.metrics.adversarial_accuracy``), ``generate(x)`` is
called without labels: the attack pushes each image away from the model's own prediction.
Everything is imported inside the functions (ART imports scikit-learn and scipy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Sequence

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

AttackName = Literal["fgsm", "pgd", "square"]
ATTACK_CLASSES = {"fgsm": "FastGradientMethod", "pgd": "ProjectedGradientDescent",
                  "square": "SquareAttack"}
"""ART's class for each attack name (all L-infinity)."""


def art_classifier(module: Any, input_shape: Sequence[int], nb_classes: int,
                   mean: Sequence[float], std: Sequence[float]) -> Any:
    """ART's ``PyTorchClassifier`` over ``module`` (inputs in [0, 1], normalised per channel
    as ``(x - mean) / std`` by ART's preprocessing before the module sees them)."""
    import numpy as np
    import torch
    from art.estimators.classification import PyTorchClassifier

    channels = len(mean)
    return PyTorchClassifier(
        model=module, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(input_shape),
        nb_classes=nb_classes, clip_values=(0.0, 1.0), device_type="cpu",
        preprocessing=(np.asarray(mean, dtype=np.float32).reshape(channels, 1, 1),
                       np.asarray(std, dtype=np.float32).reshape(channels, 1, 1)))


def make_attack(classifier: Any, name: AttackName, eps: float, eps_step: float | None,
                max_iter: int, batch_size: int) -> Any:
    """The ART attack ``name`` with an L-infinity budget ``eps`` (pixels in [0, 1]); PGD steps
    ``eps_step`` (default eps / 4) ``max_iter`` times from the image itself (no random start);
    Square queries the model ``max_iter`` times per image."""
    import numpy as np
    from art.attacks import evasion

    if name == "fgsm":
        return evasion.FastGradientMethod(classifier, norm=np.inf, eps=eps, batch_size=batch_size)
    if name == "pgd":
        return evasion.ProjectedGradientDescent(
            classifier, norm=np.inf, eps=eps, eps_step=eps_step or eps / 4, max_iter=max_iter,
            num_random_init=0, batch_size=batch_size, verbose=False)
    return evasion.SquareAttack(classifier, norm=np.inf, eps=eps, max_iter=max_iter,
                                batch_size=batch_size, verbose=False)


def generate(attack: Any, images: npt.NDArray[np.float32], seed: int
             ) -> npt.NDArray[np.float32]:
    """``attack.generate(images)`` with numpy's and torch's global generators seeded first
    (Square draws its squares from numpy's), as float32 in [0, 1]."""
    import numpy as np
    import torch

    np.random.seed(seed)
    torch.manual_seed(seed)
    crafted: npt.NDArray[np.float32] = np.asarray(attack.generate(x=images), dtype=np.float32)
    return crafted


def art_version() -> str:
    """The installed ART's version, for the report."""
    import art

    return str(art.__version__)
