"""How texts become the token windows a language model scores, by lm-evaluation-harness's
rules (shared by the in-process ``transformers`` generator and the ``openai`` adapter's
scoring over ``/completions``).

A window is a list of token ids and how many at its end are predicted (the rest is context).
``size`` is how many tokens a window predicts at most, each from at most ``size`` tokens before
it: an in-process model of ``n`` positions scores windows of ``size = n`` (the window's last token
is predicted, never fed); a server, which is sent the whole window as its prompt and must leave
room for the one token an echo request generates, scores ``size = n - 2``.
"""

from __future__ import annotations

from typing import Callable

from modeltests.errors import ModelPredictError

Window = tuple[list[int], int]
"""Tokens to score and how many at their end are predicted (the rest is context)."""


def encode_pair(tokens: Callable[[str], list[int]], start_id: int, context: str,
                continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's ``_encode_pair``: an empty context is the start token; otherwise the context's
    trailing whitespace moves onto the continuation, and the continuation's tokens are those of
    ``context + continuation`` past the context's."""
    if not context:
        return [start_id], tokens(continuation)
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokens(context + continuation)
    context_ids = tokens(context)
    return context_ids, whole[len(context_ids):]


def pair_window(context_ids: list[int], continuation_ids: list[int], size: int,
                continuation: str) -> Window:
    """The window scoring ``continuation_ids`` after ``context_ids``: a pair longer than the
    window keeps its last tokens (lm-eval's left truncation)."""
    if not continuation_ids:
        raise ModelPredictError(f"the continuation {continuation!r} adds no tokens to its "
                                "context: nothing to score")
    return (context_ids + continuation_ids)[-(size + 1):], min(len(continuation_ids), size)


def rolling_windows(ids: list[int], start_id: int, size: int, stride: int | None = None
                    ) -> list[Window]:
    """A document's windows from the start token, each predicting ``stride`` new tokens
    (default and at most ``size``: disjoint windows, lm-eval's ``loglikelihood_rolling``), with
    as much context before them as the window holds."""
    step = min(stride or size, size)
    sequence = [start_id, *ids]
    windows = []
    for first in range(1, len(sequence), step):
        end = min(first + step, len(sequence))
        windows.append((sequence[max(0, end - 1 - size):end], end - first))
    return windows
