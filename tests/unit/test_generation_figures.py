"""The figures of the generative answer kinds: pass@k against enumeration, loops, distinct-n,
normalisation and prompt perturbations."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeltests.checks.completion import normalise
from modeltests.checks.degeneration import distinct, loop_period
from modeltests.perturb.homoglyphs import homoglyphs
from modeltests.perturb.prompts import perturb_prompt
from modeltests.stats.proportions import pass_at_k


@given(st.integers(1, 8).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_the_share_of_k_subsets_with_a_pass(case: tuple[int, int, int]) -> None:
    n, correct, k = case
    samples = [True] * correct + [False] * (n - correct)
    subsets = list(itertools.combinations(samples, k))
    assert pass_at_k(n, correct, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


def test_pass_at_k_refuses_k_beyond_n() -> None:
    with pytest.raises(ValueError, match="need 1 <= k <= n"):
        pass_at_k(3, 1, 4)


@pytest.mark.parametrize(("text", "period"), [
    ("la la la", 1), ("one two one two one two", 2), ("a b c a b c a b", None),
    ("it was fine . it was fine . it was fine .", 4), ("no loop here at all", None),
    ("", None)])
def test_loop_period(text: str, period: int | None) -> None:
    assert loop_period(text.split(), max_period=8, min_repeats=3) == period


def test_distinct_n() -> None:
    assert distinct("a b a b".split(), 2) == pytest.approx(2 / 3)
    assert distinct("a".split(), 2) is None


def test_normalisation_runs_in_the_declared_order() -> None:
    assert normalise("  Paris .", ["lower", "strip_punctuation", "strip"]) == "paris"
    assert normalise("  Paris .", ["strip", "lower", "strip_punctuation"]) == "paris "
    assert normalise("New \t\n York", ["collapse_whitespace"]) == "New York"
    assert normalise("«Rome»!", ["strip_punctuation"]) == "Rome"


def test_prompt_perturbations_are_seeded_and_change_the_text() -> None:
    prompt = "The capital of France is"
    for name in ("typos", "case", "whitespace", "homoglyphs"):
        once = perturb_prompt(prompt, name, 7)  # type: ignore[arg-type]
        assert once is not None and once != prompt
        assert perturb_prompt(prompt, name, 7) == once  # type: ignore[arg-type]
    swapped = perturb_prompt(prompt, "homoglyphs", 7)
    assert swapped is not None
    changed = [(a, b) for a, b in zip(prompt, swapped) if a != b]
    assert changed and all(homoglyphs()[a] == b for a, b in changed)


def test_homoglyphs_do_not_apply_to_text_without_ascii_letters() -> None:
    assert perturb_prompt("北京 123", "homoglyphs", 1) is None
