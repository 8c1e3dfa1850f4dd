"""What a model is given: one text, or a pair of texts (premise and hypothesis, question and
answer) for text-pair classification.

A :class:`TextPair` is a plain ``NamedTuple`` of two strings, so a ``callable`` model receives
ordinary tuples and a pair compares, hashes and pickles like one. Checks handle both kinds
through the helpers here: :func:`sides` (the texts of an input), :func:`map_side` (an edit on
one side or both), :func:`as_display` (how reports show it), :func:`length_key` (for sorting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, NamedTuple, Sequence, Union

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class TextPair(NamedTuple):
    """Two texts classified together: ``first`` (premise, question) and ``second``
    (hypothesis, answer), given to a tokenizer as ``tokenizer(first, second)``."""

    first: str
    second: str


class ImageInput(str):
    """One image given to an image classifier: ``pixels`` (float32, channels x height x width,
    in [0, 1]) and the per-channel ``mean`` and ``std`` the model's adapter normalises with.

    It is a ``str`` whose value names the image and a digest of its pixels and normalisation
    (``digits.npz[17] #3fa2c1d0e9b7``), so images travel the one prediction path of texts
    unchanged: the prediction cache keys on that value (other pixels, another digest), the
    reports show it, and a ``callable`` model receives it like a text. A text edit (a text kind
    given an image model) yields a plain ``str``, which an image adapter refuses by name."""

    pixels: npt.NDArray[np.float32]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __new__(cls, source: str, pixels: Any, mean: Sequence[float] = (0.0,),
                std: Sequence[float] = (1.0,)) -> ImageInput:
        import hashlib

        import numpy as np

        array = np.ascontiguousarray(pixels, dtype=np.float32)
        digest = hashlib.sha256(repr((array.shape, tuple(mean), tuple(std))).encode())
        digest.update(array.tobytes())
        value = super().__new__(cls, f"{source} #{digest.hexdigest()[:12]}")
        value.pixels = array
        value.mean = tuple(float(m) for m in mean)
        value.std = tuple(float(s) for s in std)
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_image_input, (self.source, self.pixels, self.mean, self.std))

    @property
    def source(self) -> str:
        """Where the image came from (a file, ``file.npz[i]``), without the digest."""
        return str(self).rsplit(" #", 1)[0]

    def with_pixels(self, pixels: Any, how: str) -> ImageInput:
        """The same image with other pixels (a corruption, an attack), named ``source (how)``."""
        return ImageInput(f"{self.source} ({how})", pixels, self.mean, self.std)


def _image_input(source: str, pixels: Any, mean: Sequence[float], std: Sequence[float]
                 ) -> ImageInput:
    return ImageInput(source, pixels, mean, std)


ModelInput = Union[str, TextPair]
"""What one row of a model's input is: a text, or a pair of texts."""

Side = Literal["first", "second", "both"]
"""Which side of a pair an edit applies to."""

SIDES: tuple[Side, ...] = ("first", "second", "both")
PAIR_SEPARATOR = " ⟂ "
"""Between the two sides of a pair where a report shows it on one line."""


def as_input(value: object) -> ModelInput:
    """``value`` as a model input: a string stays, a 2-tuple / 2-list of strings becomes a
    :class:`TextPair` (TextAttack hands pairs over as plain tuples)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2 \
            and all(isinstance(side, str) for side in value):
        return TextPair(str(value[0]), str(value[1]))
    raise TypeError(f"a model input is a text or a pair of texts, not {type(value).__name__}")


def sides(value: ModelInput) -> tuple[str, ...]:
    """The texts of an input: one for a text, two for a pair."""
    if isinstance(value, TextPair):
        return (value.first, value.second)
    return (value,)


def map_side(value: ModelInput, side: Side, edit: Callable[[str], str]) -> ModelInput:
    """``value`` with ``edit`` applied to the chosen side of a pair (a single text is edited
    whatever ``side`` says: it has one side)."""
    if not isinstance(value, TextPair):
        return edit(value)
    first = edit(value.first) if side in ("first", "both") else value.first
    second = edit(value.second) if side in ("second", "both") else value.second
    return TextPair(first, second)


def map_side_or_none(value: ModelInput, side: Side,
                     edit: Callable[[str], str | None]) -> ModelInput | None:
    """Like :func:`map_side` for an edit that may not apply (returns None): None when it
    applies to no edited side, else the input with the sides it changed."""
    if not isinstance(value, TextPair):
        return edit(value)
    first = edit(value.first) if side in ("first", "both") else None
    second = edit(value.second) if side in ("second", "both") else None
    if first is None and second is None:
        return None
    return TextPair(first if first is not None else value.first,
                    second if second is not None else value.second)


def as_display(value: ModelInput, limit: int | None = None) -> str:
    """How the terminal and the reports show an input: the text, or ``first ⟂ second``;
    each side cut to ``limit`` characters when given."""
    parts = [side if limit is None else side[:limit] for side in sides(value)]
    return PAIR_SEPARATOR.join(parts)


def length_key(value: ModelInput) -> int:
    """Characters in all sides: a sort key for inputs of either kind."""
    return sum(len(side) for side in sides(value))


def joined(value: ModelInput) -> str:
    """All sides joined by a space: what a slice's regex or length condition reads."""
    return " ".join(sides(value))


def any_pairs(values: Iterable[ModelInput]) -> bool:
    """Whether any of ``values`` is a pair."""
    return any(isinstance(value, TextPair) for value in values)


def digest_text(value: ModelInput) -> str:
    """A string that stands for the input in a digest: a text is itself; a pair is both sides
    with their lengths (so ``("ab", "c")`` and ``("a", "bc")`` differ, and no text can equal
    a pair)."""
    if isinstance(value, TextPair):
        return f"\x00pair:{len(value.first)}:{value.first}\x00{value.second}"
    return value


def split_pairs(values: Sequence[ModelInput]) -> tuple[list[str], list[str]]:
    """The first and second sides of inputs that are all pairs, as two lists."""
    firsts, seconds = [], []
    for value in values:
        if not isinstance(value, TextPair):
            raise TypeError("a batch mixes single texts and pairs of texts")
        firsts.append(value.first)
        seconds.append(value.second)
    return firsts, seconds
