"""The TextAttack objects modeltests reads, as structural types (TextAttack ships no stubs), and
the model wrapper that feeds TextAttack through a suite's adapter (batches padded to their
longest text, where ``HuggingFaceModelWrapper`` pads to 512 tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol, SupportsFloat

from modeltests.perturb.textattack.offline import import_textattack
from modeltests.data.inputs import ModelInput, as_input

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Probabilities = npt.NDArray[np.float64]
    """An ``(n, k)`` matrix of class probabilities, rows in input order."""

def adapter_model_wrapper(predict: Callable[[list[ModelInput]], Probabilities],
                          model: object = None) -> ModelWrapper:
    """A ``textattack.models.wrappers.ModelWrapper`` answering with ``predict(texts)``.

    ``predict`` returns an ``(n, k)`` probability array; the suite's adapter pads each batch to
    its longest text, so short inputs cost short forward passes. TextAttack hands a text of
    two columns over as a tuple: it reaches ``predict`` as a :class:`TextPair`.
    """
    import_textattack()
    from textattack.models.wrappers import (
        ModelWrapper as TextAttackModelWrapper,
    )

    class AdapterModelWrapper(TextAttackModelWrapper):  # type: ignore[misc]  # untyped base
        """Queries the suite's model adapter (class defined once TextAttack is imported)."""

        def __init__(self) -> None:
            self.model = model if model is not None else predict
            self.queries = 0

        def __call__(self, text_input_list: list[str | tuple[str, ...]],
                     **kwargs: object) -> Probabilities:
            self.queries += len(text_input_list)
            return predict([as_input(t) for t in text_input_list])

    return AdapterModelWrapper()


# -- the TextAttack objects modeltests reads (structural types: TextAttack ships no stubs) -------

class ModelWrapper(Protocol):
    """``textattack.models.wrappers.ModelWrapper``: texts in, class scores out."""

    def __call__(self, text_input_list: list[str]) -> Probabilities: ...


class AttackedText(Protocol):
    """``textattack.shared.AttackedText``: a text (or several columns) and its words."""

    text: str
    words: list[str]

    @property
    def tokenizer_input(self) -> str | tuple[str, ...]: ...

    def all_words_diff(self, other_attacked_text: AttackedText) -> set[int]: ...


class Scores(Protocol):
    """A goal function's raw output: a tensor of class probabilities."""

    def max(self) -> SupportsFloat: ...

    def __getitem__(self, index: int) -> SupportsFloat: ...


class GoalFunctionResult(Protocol):
    """``textattack.goal_function_results.GoalFunctionResult``: the model's answer on one text."""

    attacked_text: AttackedText
    ground_truth_output: int
    output: int
    raw_output: Scores


class AttackResult(Protocol):
    """``textattack.attack_results.AttackResult``: successful, failed, skipped or maximized."""

    original_result: GoalFunctionResult
    perturbed_result: GoalFunctionResult
    num_queries: int

    def diff_color(self, color_method: str | None = None) -> tuple[str, str]: ...


class GoalFunction(Protocol):
    """The budgets of ``textattack.goal_functions.GoalFunction``."""

    batch_size: int
    query_budget: float


class Attack(Protocol):
    """``textattack.Attack``: attacks one labelled text."""

    goal_function: GoalFunction

    pre_transformation_constraints: list[object]

    def attack(self, example: object, ground_truth_output: int) -> AttackResult: ...

    def clear_cache(self, recursive: bool = True) -> None: ...
