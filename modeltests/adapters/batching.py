"""Which texts share a forward call: batches planned from token counts (pure, no torch).

A batch padded to its longest text costs ``rows x longest`` token positions, so texts of similar
token count belong together. Characters are a poor proxy for tokens on real text (a URL or an
emoji is many tokens per character, a long English word few), so the transformers adapter
tokenizes everything once and plans batches from the true counts with :func:`plan_batches`.
"""

from __future__ import annotations

from typing import Sequence


def plan_batches(token_counts: Sequence[int], batch_size: int,
                 max_tokens_per_batch: int | None = None, sort: bool = True) -> list[list[int]]:
    """Row indices grouped into batches.

    With ``sort`` the rows are taken longest first (a batch too big for memory fails at once,
    and memory peaks early), ties in input order; without it, in the order given. A batch holds
    at most ``batch_size`` rows and, when ``max_tokens_per_batch`` is set, at most that many
    padded token positions (rows x its longest row); a single row longer than the budget still
    gets a batch of its own. Every index appears exactly once.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
    if max_tokens_per_batch is not None and max_tokens_per_batch < 1:
        raise ValueError(f"max_tokens_per_batch must be at least 1 (got {max_tokens_per_batch})")
    order = list(range(len(token_counts)))
    if sort:
        order.sort(key=lambda i: -token_counts[i])  # stable: ties keep their input order
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        count = max(1, int(token_counts[index]))
        wider = max(longest, count)
        over_budget = (max_tokens_per_batch is not None
                       and (len(current) + 1) * wider > max_tokens_per_batch)
        if current and (len(current) >= batch_size or over_budget):
            batches.append(current)
            current, wider = [], count
        current.append(index)
        longest = wider
    if current:
        batches.append(current)
    return batches


def padded_tokens(token_counts: Sequence[int], batches: Sequence[Sequence[int]]) -> int:
    """Token positions the batches cost once each is padded to its longest row."""
    return sum(len(batch) * max(token_counts[i] for i in batch) for batch in batches if batch)
