"""``plan_batches``: every row once, longest first, within both bounds (a pure function)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeltests.adapters.batching import padded_tokens, plan_batches

COUNTS = st.lists(st.integers(min_value=1, max_value=600), max_size=200)


@given(COUNTS, st.integers(min_value=1, max_value=64),
       st.none() | st.integers(min_value=1, max_value=5000), st.booleans())
def test_every_row_once_within_both_bounds(counts: list[int], batch_size: int,
                                           budget: int | None, sort: bool) -> None:
    batches = plan_batches(counts, batch_size, budget, sort)
    assert sorted(i for batch in batches for i in batch) == list(range(len(counts)))
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        if budget is not None and len(batch) > 1:
            assert len(batch) * max(counts[i] for i in batch) <= budget


@given(COUNTS, st.integers(min_value=1, max_value=64))
def test_sorted_longest_first_and_unsorted_in_given_order(counts: list[int],
                                                          batch_size: int) -> None:
    flat = [i for batch in plan_batches(counts, batch_size) for i in batch]
    assert [counts[i] for i in flat] == sorted(counts, reverse=True)
    given_order = [i for batch in plan_batches(counts, batch_size, sort=False) for i in batch]
    assert given_order == list(range(len(counts)))


def test_count_bound_alone_cuts_every_batch_size_rows() -> None:
    assert plan_batches([5, 1, 9, 3, 7], 2) == [[2, 4], [0, 3], [1]]
    assert plan_batches([5, 1, 9, 3, 7], 2, sort=False) == [[0, 1], [2, 3], [4]]


def test_token_budget_splits_long_rows_apart() -> None:
    # 100 x 2 rows = 200 > 150: the long rows go alone; the short ones share a batch.
    batches = plan_batches([100, 10, 100, 10, 10], 4, max_tokens_per_batch=150)
    assert batches == [[0], [2], [1, 3, 4]]
    assert padded_tokens([100, 10, 100, 10, 10], batches) == 230


def test_a_row_longer_than_the_budget_still_runs_alone() -> None:
    assert plan_batches([500, 3], 8, max_tokens_per_batch=100) == [[0], [1]]


def test_sorting_pads_less_than_the_given_order() -> None:
    counts = [4, 200, 5, 190, 6, 180]
    assert padded_tokens(counts, plan_batches(counts, 2)) == 2 * 200 + 2 * 180 + 2 * 5
    assert padded_tokens(counts, plan_batches(counts, 2, sort=False)) == 2 * 200 * 1 + 2 * 190 \
        + 2 * 180


@pytest.mark.parametrize("size, budget", [(0, None), (4, 0)])
def test_bounds_below_one_are_refused(size: int, budget: int | None) -> None:
    with pytest.raises(ValueError, match="must be at least 1"):
        plan_batches([1, 2], size, budget)


def test_no_rows_no_batches() -> None:
    assert plan_batches([], 8, 100) == []
