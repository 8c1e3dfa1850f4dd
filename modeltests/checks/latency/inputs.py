"""Inputs for the ``latency`` check: batches of synthetic texts (or text pairs) of exact token
lengths, or of real texts from a dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence, TypeVar

from modeltests.data.inputs import ModelInput, TextPair

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.checks.latency.params import LatencyParams
    from modeltests.context import CheckContext

DEFAULT_LENGTH = 64
_WORDS = ("the", "movie", "good", "film", "and", "was", "very", "great", "a", "is", "it", "bad")


class Tokenizer(Protocol):
    """What the inputs need of a Hugging Face tokenizer: ``input_ids`` of one text."""

    def __call__(self, text: str, text_pair: str | None = ...,
                 add_special_tokens: bool = ...) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Config:
    """One timed configuration: its batches of texts or images (cycled through while timing);
    ``image_size`` (``16x16``) for images resized to ``image_sizes``, whose every size was
    ``probed`` on one image before timing."""

    label: str
    batch_size: int
    sequence_length: int | None
    batches: list[list[ModelInput]]
    image_size: str | None = None
    probed: bool = False


def build_configs(context: CheckContext, params: LatencyParams, adapter: ModelAdapter,
                  role: str = "the model") -> list[Config]:
    """Configurations sorted by (batch size, length): the last is the headline (largest) one.

    ``role`` names the model in errors (``the compare_to model 'bert'``). A length beyond what
    the model takes is an error in the suite, raised before anything runs."""
    sizes = sorted(set(params.batch_sizes))
    if params.image_sizes is not None:
        return _image_configs(context, params, adapter, sizes, role)
    if params.dataset is not None:
        texts = list(context.dataset(params.dataset).texts[: params.samples])
        if not texts:
            raise context.error("dataset", f"dataset {params.dataset!r} has no texts")
        return [Config(f"b{b}_{params.dataset}", b, None, _cycled_batches(texts, b))
                for b in sizes]
    tokenizer: Tokenizer | None = getattr(adapter, "tokenizer", None)
    if tokenizer is None:
        raise context.error("sequence_lengths", "synthetic inputs of exact token lengths need "
                            "the model's tokenizer, and this adapter has none; time real texts "
                            "with 'dataset:' instead")
    limits = length_limits(adapter, tokenizer)
    limit = min(limits.values()) if limits else None
    lengths = sorted(set(params.sequence_lengths or [min(DEFAULT_LENGTH, limit or DEFAULT_LENGTH)]))
    check_lengths(context, lengths, limits, role)
    by_length: dict[int, ModelInput] = {}
    for n in lengths:
        try:
            by_length[n] = (exact_length_pair(tokenizer, n) if params.pairs
                            else exact_length_text(tokenizer, n))
        except ValueError as exc:
            raise context.error("sequence_lengths", str(exc)) from None
    return [Config(f"b{b}_l{n}", b, n, [[by_length[n]] * b]) for b in sizes for n in lengths]


def _image_configs(context: CheckContext, params: LatencyParams, adapter: ModelAdapter,
                   batch_sizes: list[int], role: str) -> list[Config]:
    """The dataset's images resized to each of ``image_sizes``, each size probed on one image
    (a size the model cannot take is a located error); sorted by (batch size, image size)."""
    from modeltests.checks._image_sizes import probe_sizes, reads_images, sized_images

    if not reads_images(adapter):
        raise context.error("image_sizes", f"image sizes apply to an image classifier; {role} "
                            "reads texts (use sequence_lengths)")
    sized = sized_images(context, params.dataset, params.image_sizes, params.samples)
    probe_sizes(context, adapter, sized, role)
    return [Config(f"b{b}_{entry.label}", b, None, _cycled_batches(entry.images, b),
                   image_size=entry.label, probed=True)
            for b in batch_sizes for entry in sized]


def _cycled_batches(texts: Sequence[ModelInput], size: int) -> list[list[ModelInput]]:
    count = max(1, -(-len(texts) // size))
    return [[texts[(i * size + j) % len(texts)] for j in range(size)] for i in range(count)]


def length_limits(adapter: ModelAdapter, tokenizer: Tokenizer) -> dict[str, int]:
    """The token limits the adapter declares, by name: its ``max_length`` (inputs beyond are
    truncated), the tokenizer's ``model_max_length`` and the configuration's
    ``max_position_embeddings`` (no position to embed beyond it)."""
    config = getattr(getattr(adapter, "model", None), "config", None)
    candidates = (("max_length", getattr(getattr(adapter, "params", None), "max_length", None)),
                  ("tokenizer model_max_length", getattr(tokenizer, "model_max_length", None)),
                  ("max_position_embeddings", getattr(config, "max_position_embeddings", None)))
    return {name: value for name, value in candidates
            if isinstance(value, int) and 0 < value < 1_000_000}


def check_lengths(context: CheckContext, lengths: Sequence[int], limits: dict[str, int],
                  role: str) -> None:
    """Raise a located error for the first length beyond ``limits`` (name -> tokens), naming
    ``role`` (e.g. "the compare_to model 'bert'") and each limit it exceeds."""
    limit = min(limits.values()) if limits else None
    for n in sorted(lengths):
        if limit is not None and n > limit:
            below = ", ".join(f"{name} {value}" for name, value in limits.items() if n > value)
            raise context.error("sequence_lengths", f"{n} tokens is more than {role} takes "
                                f"({below}); allowed: 1 to {limit}")


def prepare_lengths(context: CheckContext, params: LatencyParams) -> None:
    """At the check's setup: a ``sequence_lengths`` entry beyond what the timed model or the
    ``compare_to`` model takes is a located ERROR before anything is built or timed."""
    if not params.sequence_lengths:
        return
    roles = [(params.model, "the model" if params.model is None
              else f"the model {params.model!r}")]
    if params.compare_to is not None:
        roles.append((params.compare_to, f"the compare_to model {params.compare_to!r}"))
    for name, role in roles:
        adapter = context.model(name)
        tokenizer: Tokenizer | None = getattr(adapter, "tokenizer", None)
        if tokenizer is not None:  # without one, the run says synthetic lengths need it
            check_lengths(context, params.sequence_lengths, length_limits(adapter, tokenizer),
                          role)


def exact_length_text(tokenizer: Tokenizer, length: int) -> str:
    """A text that ``tokenizer`` encodes to exactly ``length`` ids, special tokens included."""
    special = len(tokenizer("")["input_ids"])
    if length <= special:
        raise ValueError(f"a sequence length must be more than the {special} special tokens the "
                         f"tokenizer adds (got {length})")

    def text_of(words: list[str], count: int) -> tuple[str, int]:
        text = _joined(words, max(count, 1))
        return text, len(tokenizer(text)["input_ids"])

    return _fitted(tokenizer, length, length - special, text_of, "a text")


def exact_length_pair(tokenizer: Tokenizer, length: int) -> TextPair:
    """A pair of texts that ``tokenizer(first, second)`` encodes to exactly ``length`` ids,
    special tokens included (``[CLS] a [SEP] b [SEP]``: three for BERT), the words split
    between the sides: the first gets ``ceil(words / 2)``, the second the rest (at least one)."""
    special = len(tokenizer("", "")["input_ids"])
    if length <= special + 1:
        raise ValueError(f"a pair's sequence length must be more than the {special} special "
                         f"tokens the tokenizer adds plus one word per side (got {length})")

    def pair_of(words: list[str], count: int) -> tuple[TextPair, int]:
        second_count = max(count // 2, 1)
        pair = TextPair(_joined(words, max(count - second_count, 1)),
                        _joined(words, second_count, offset=3))
        return pair, len(tokenizer(pair.first, pair.second)["input_ids"])

    return _fitted(tokenizer, length, length - special, pair_of, "a text pair")


I = TypeVar("I")


def _fitted(tokenizer: Tokenizer, length: int, count: int,
            build: Callable[[list[str], int], tuple[I, int]], what: str) -> I:
    """``build(words, count)``'s input, ``count`` single-token words corrected until the input
    encodes to exactly ``length`` ids (tokenizers that merge across spaces need a few tries)."""
    words = [w for w in _WORDS if len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1]
    if not words:
        raise ValueError("found no single-token word to build synthetic inputs from")
    got = 0
    for _ in range(8):
        built, got = build(words, count)
        if got == length:
            return built
        count += length - got
    raise ValueError(f"could not build {what} of exactly {length} tokens (got {got})")


def _joined(words: list[str], count: int, offset: int = 0) -> str:
    return " ".join(words[(i + offset) % len(words)] for i in range(count))
