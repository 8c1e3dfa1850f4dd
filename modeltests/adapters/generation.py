"""Models that generate text: the two calls every generator answers, and a third for
instruments that need whole next-token distributions.

A generator is a :class:`~modeltests.adapters.base.ModelAdapter` whose ``task`` is
``text-generation``; it answers the split lm-evaluation-harness uses (``generate_until`` /
``loglikelihood``):

- :meth:`TextGenerator.generate` (prompts, :class:`GenerationRequest`) -> one
  :class:`Generation` per prompt: the text, its token ids, why it stopped;
- :meth:`TextGenerator.score` (context, continuation) pairs -> one :class:`ContinuationScore`
  per pair: the summed log-probability of the continuation's tokens given the context, their
  count, and whether greedy decoding from the context would produce exactly them.

A user's own generator (any Python object behind the ``callable`` or ``torch`` adapters, or an
adapter of their own) implements the same calls::

    # conftest.py
    from modeltests.adapters.generation import (ContinuationScore, Generation,
                                                GenerationRequest, TextGenerator)

    class Echo(TextGenerator):
        def generate(self, prompts, request):
            return [Generation(text=p[-request.max_new_tokens:], finish_reason="length")
                    for p in prompts]
        def score(self, pairs):
            return [ContinuationScore(logprob=-1.0 * len(c), tokens=len(c), is_greedy=False)
                    for _, c in pairs]

Greedy decoding is the default; sampling happens only when a check asks for it with an explicit
``temperature`` and ``seed`` (``samples: k`` in the generative kinds). Checks reach a generator
only through :class:`~modeltests.context.CheckContext` (``generate``, ``score``,
``token_logprobs``), like every other model call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import time
from typing import TYPE_CHECKING, Callable, Literal, Sequence, TypeVar

from typing_extensions import TypeIs

from modeltests.adapters.base import ModelAdapter, Predictions
from modeltests.data.inputs import ModelInput
from modeltests.errors import ModelOutputError, UnsupportedCapabilityError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FinishReason = Literal["eos", "stop", "length", "context"]
"""Why generation ended: the model's end-of-text token (``eos``), one of the request's stop
strings (``stop``), ``max_new_tokens`` reached (``length``), or the model's context full
(``context``)."""


@dataclass(frozen=True)
class GenerationRequest:
    """How to generate: at most ``max_new_tokens`` tokens, ending early at the first of the
    ``stop`` strings (which is cut from the text); ``temperature`` 0 decodes greedily (the
    default, deterministic), above 0 samples with ``seed``."""

    max_new_tokens: int = 32
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1 (got {self.max_new_tokens})")
        if self.temperature < 0:
            raise ValueError(f"temperature must be 0 (greedy) or more (got {self.temperature})")
        if self.temperature > 0 and self.seed is None:
            raise ValueError("sampling (temperature > 0) needs a seed, so that a run can be "
                             "repeated")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Generation:
    """What a generator produced for one prompt. ``text`` excludes the prompt and any stop
    string; ``token_ids`` are the generated tokens (empty when the adapter cannot say, e.g. a
    remote server that sends text only); ``prompt_tokens`` the prompt's length in tokens (None
    when unknown)."""

    text: str
    finish_reason: FinishReason
    token_ids: tuple[int, ...] = ()
    prompt_tokens: int | None = None
    tokens: int | None = None
    """How many tokens were generated when the adapter knows the count but not the ids (a
    server's ``usage``); None: the length of ``token_ids``."""

    @property
    def new_tokens(self) -> int:
        """Generated tokens (``tokens`` when given, else from ``token_ids``; 0 when the adapter
        gave neither)."""
        return self.tokens if self.tokens is not None else len(self.token_ids)


@dataclass(frozen=True)
class ContinuationScore:
    """``log p(continuation | context)`` summed over the continuation's ``tokens`` tokens
    (natural log), and whether greedy decoding from the context gives exactly them."""

    logprob: float
    tokens: int
    is_greedy: bool


@dataclass(frozen=True)
class DocumentScore:
    """A whole document's log-probability (natural log) from the model's start token, over
    its ``tokens`` tokens, scored in ``windows`` windows when it is longer than the context
    (lm-eval's ``loglikelihood_rolling``)."""

    logprob: float
    tokens: int
    windows: int = 1


@dataclass(frozen=True)
class TokenLogprobs:
    """A text scored token by token: ``logprobs[i]`` is the log-probability distribution over
    the vocabulary for token ``i + 1`` given tokens ``0..i`` (shape ``(len(token_ids) - 1,
    vocab)``, natural log), for instruments that compare whole distributions (the KL divergence
    and top-1 agreement of a compressed model)."""

    token_ids: tuple[int, ...]
    logprobs: npt.NDArray[np.float32] = field(repr=False)


@dataclass(frozen=True)
class TimedGeneration:
    """One prompt generated under a clock (:meth:`TextGenerator.generate_timed`).

    ``first_token_ms``: from the call to the first generated token being available on the host
    (the prefill: one forward over the prompt that produces the first token, plus its
    sampling); ``total_ms``: from the call to the last token. The decode time per output token
    is the rest divided by the tokens after the first (:attr:`tpot_ms`)."""

    generation: Generation
    first_token_ms: float
    total_ms: float
    chunk_ms: tuple[float, ...] = ()
    """When each streamed piece arrived, ms from the call (a served generator's non-empty
    deltas, whose gaps are the inter-token latencies); empty when the adapter does not say."""
    end_ms: float | None = None
    """When the answer ended, ms from the call (a stream's last event: its finish and usage
    chunks included, as vLLM's benchmark times a request); None: at the last token."""

    @property
    def e2e_ms(self) -> float:
        """The whole request: ``end_ms`` when known, else ``total_ms``."""
        return self.end_ms if self.end_ms is not None else self.total_ms

    @property
    def tpot_ms(self) -> float | None:
        """(total - first token) / (generated tokens - 1); None with fewer than 2 tokens."""
        tokens = self.generation.new_tokens
        return None if tokens < 2 else (self.total_ms - self.first_token_ms) / (tokens - 1)


class TokenClock:
    """A streamer for ``transformers``' ``model.generate(..., streamer=clock)`` that notes when
    each generated token reaches the host (an adapter's :meth:`TextGenerator.generate_timed`).

    ``generate`` calls ``put`` once with the prompt's ids, then once per generated step with
    the new token moved to the CPU (which waits for a CUDA device: the stamp follows the work),
    then ``end``. ``start()`` is called right before ``generate`` (after ``synchronize``, e.g.
    ``torch.cuda.synchronize``, so that no earlier work is counted)."""

    def __init__(self, synchronize: Callable[[], None] | None = None) -> None:
        self._synchronize = synchronize
        self._prompt_seen = False
        self.started_ns = 0
        self.token_ns: list[int] = []
        self.ended_ns = 0

    def start(self) -> None:
        if self._synchronize is not None:
            self._synchronize()
        self._prompt_seen = False
        self.token_ns = []
        self.started_ns = time.perf_counter_ns()

    def put(self, value: object) -> None:
        if not self._prompt_seen:  # the first put is the prompt itself
            self._prompt_seen = True
            return
        self.token_ns.append(time.perf_counter_ns())

    def end(self) -> None:
        self.ended_ns = time.perf_counter_ns()

    def timed(self, generation: Generation) -> TimedGeneration:
        """The :class:`TimedGeneration` of the call this clock watched."""
        if not self.token_ns:
            raise ModelOutputError("the streamer saw no generated token")
        # The last token the answer keeps: not an end-of-text token or the tokens after a stop
        # string, which the model computed but the answer does not count in its tokens (an
        # adapter that gives no token ids: the last token streamed).
        kept = min(generation.new_tokens or len(self.token_ns), len(self.token_ns))
        last = self.token_ns[kept - 1]
        return TimedGeneration(generation, (self.token_ns[0] - self.started_ns) / 1e6,
                               (last - self.started_ns) / 1e6)


class TextGenerator(ModelAdapter):
    """A loaded model that generates text. Subclass it and implement :meth:`generate` and
    :meth:`score`; :meth:`token_logprobs`, :meth:`count_tokens` and :attr:`max_context` are
    optional (kinds that need them say so when a generator lacks them)."""

    task = "text-generation"
    #: The longest prompt plus generation, in tokens (None when unknown).
    max_context: int | None = None
    #: The end-of-text string the model emits (None when unknown).
    eos_text: str | None = None

    def generate(self, prompts: Sequence[str], request: GenerationRequest) -> list[Generation]:
        """One :class:`Generation` per prompt, in order."""
        raise NotImplementedError

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[ContinuationScore]:
        """One :class:`ContinuationScore` per ``(context, continuation)`` pair, in order. The
        context may be empty (then the model's start token, if it has one, is the context)."""
        raise NotImplementedError

    def rolling_logprob(self, texts: Sequence[str], stride: int | None = None
                        ) -> list[DocumentScore]:
        """Each text's log-probability from the start token (for perplexity). A generator that
        knows its context scores long texts in windows predicting ``stride`` new tokens each;
        this default scores each text whole as the continuation of an empty context."""
        return [DocumentScore(s.logprob, s.tokens) for s in self.score([("", t) for t in texts])]

    def token_logprobs(self, texts: Sequence[str]) -> list[TokenLogprobs]:
        """Next-token distributions over each text (see :class:`TokenLogprobs`)."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} gives no next-token "
                                         "distributions")

    def generate_timed(self, prompt: str, request: GenerationRequest) -> TimedGeneration:
        """Optional: generate for one prompt and say when the first and the last token were
        ready (see :class:`TimedGeneration`; a transformers adapter passes a
        :class:`TokenClock` as ``streamer``). Without it, the ``latency`` check times two
        calls of :meth:`generate` instead (``max_new_tokens`` 1 for the first token, then the
        whole request) and says so in its details."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} does not time its tokens")

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is for this model."""
        raise UnsupportedCapabilityError(f"{type(self).__name__} has no tokenizer to count with")

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        raise UnsupportedCapabilityError(
            f"{type(self).__name__} generates text and predicts no labels: use a generative "
            "check kind (perplexity, completion, choice, format, degeneration ...)")


def is_generator(adapter: object) -> TypeIs[TextGenerator]:
    """Whether ``adapter`` generates text (and answers :meth:`TextGenerator.generate`)."""
    return isinstance(adapter, TextGenerator)


FINISH_REASONS = ("eos", "stop", "length", "context")


def validate_generations(answer: object, prompts: Sequence[str], request: GenerationRequest
                         ) -> list[Generation]:
    """``answer`` if it answers ``prompts`` under ``request``: one :class:`Generation` per
    prompt, text that encodes as UTF-8 (no lone surrogates), a known finish reason, and no more
    than ``max_new_tokens`` token ids; else :class:`ModelOutputError` naming the first prompt
    that breaks a rule."""
    generations = _one_each(answer, Generation, "generate", len(prompts), "prompts")
    for row, generation in enumerate(generations):
        try:
            generation.text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ModelOutputError(f"prompt {row}: the generated text is not valid UTF-8 "
                                   f"({exc.reason} at character {exc.start})") from None
        if generation.finish_reason not in FINISH_REASONS:
            raise ModelOutputError(f"prompt {row}: finish_reason {generation.finish_reason!r} "
                                   f"is not one of {', '.join(FINISH_REASONS)}")
        if generation.new_tokens > request.max_new_tokens:
            raise ModelOutputError(f"prompt {row}: {generation.new_tokens} tokens generated, "
                                   f"more than max_new_tokens {request.max_new_tokens}")
    return generations


def validate_timed(answer: object, prompt: str, request: GenerationRequest) -> TimedGeneration:
    """``answer`` if it is a :class:`TimedGeneration` whose generation answers ``prompt`` (see
    :func:`validate_generations`) with times that are finite, not negative and in order."""
    if not isinstance(answer, TimedGeneration):
        raise ModelOutputError(f"generate_timed returned {type(answer).__name__}, not a "
                               "TimedGeneration")
    validate_generations([answer.generation], [prompt], request)
    first, total = answer.first_token_ms, answer.total_ms
    if not (math.isfinite(first) and math.isfinite(total) and 0 <= first <= total):
        raise ModelOutputError(f"generate_timed: first token at {first!r} ms and last at "
                               f"{total!r} ms are not times with 0 <= first <= last")
    return answer


def validate_scores(answer: object, pairs: Sequence[tuple[str, str]]) -> list[ContinuationScore]:
    """``answer`` if it holds one :class:`ContinuationScore` per pair, each a finite
    log-probability at most 0 over at least one token."""
    scores = _one_each(answer, ContinuationScore, "score", len(pairs), "pairs")
    for row, scored in enumerate(scores):
        if not math.isfinite(scored.logprob) or scored.logprob > 1e-6:
            raise ModelOutputError(f"pair {row}: log-probability {scored.logprob!r} is not a "
                                   "finite number <= 0")
        if scored.tokens < 1:
            raise ModelOutputError(f"pair {row}: the continuation scored over {scored.tokens} "
                                   "tokens (an empty continuation has no probability to score)")
    return scores


def validate_document_scores(answer: object, texts: Sequence[str]) -> list[DocumentScore]:
    """``answer`` if it holds one :class:`DocumentScore` per text, each finite and <= 0."""
    if not isinstance(answer, list) or not all(isinstance(s, DocumentScore) for s in answer):
        raise ModelOutputError(f"rolling_logprob returned {type(answer).__name__}, not a list "
                               "of DocumentScore")
    if len(answer) != len(texts):
        raise ModelOutputError(f"rolling_logprob answered {len(answer)} scores for "
                               f"{len(texts)} texts")
    for row, scored in enumerate(answer):
        if not math.isfinite(scored.logprob) or scored.logprob > 1e-6:
            raise ModelOutputError(f"text {row}: log-probability {scored.logprob!r} is not a "
                                   "finite number <= 0")
    return answer


def validate_token_logprobs(answer: object, texts: Sequence[str]) -> list[TokenLogprobs]:
    """``answer`` if it holds one :class:`TokenLogprobs` per text, with one finite row per
    predicted token."""
    import numpy as np

    scored_texts = _one_each(answer, TokenLogprobs, "token_logprobs", len(texts), "texts")
    for row, scored in enumerate(scored_texts):
        rows = max(0, len(scored.token_ids) - 1)
        if scored.logprobs.ndim != 2 or scored.logprobs.shape[0] != rows:
            raise ModelOutputError(f"text {row}: logprobs of shape {scored.logprobs.shape} for "
                                   f"{len(scored.token_ids)} tokens (expected ({rows}, vocab))")
        if not np.isfinite(scored.logprobs).all():
            raise ModelOutputError(f"text {row}: the next-token log-probabilities hold NaN or "
                                   "infinite values")
    return scored_texts


A = TypeVar("A")


def _one_each(answer: object, kind: type[A], call: str, expected: int, inputs: str) -> list[A]:
    """``answer`` as a list of ``expected`` ``kind`` objects, else ModelOutputError naming
    ``call`` and what it answered."""
    if not isinstance(answer, list) or not all(isinstance(item, kind) for item in answer):
        raise ModelOutputError(f"{call} returned {type(answer).__name__}, not a list of "
                               f"{kind.__name__}")
    if len(answer) != expected:
        raise ModelOutputError(f"{call} answered {len(answer)} results for {expected} {inputs}")
    return answer
