"""modeltests.stats.tokens: per-token KL, next-token agreement and the perplexity ratio of a
compressed language model, pooled over documents, against the same figures computed by hand
(scipy's entropy for the KL), and the bootstrap over whole documents."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import log_softmax
from scipy.stats import entropy

from modeltests.stats.tokens import compare_tokens, document_totals


def _documents(seed: int, count: int, vocab: int = 7
               ) -> list[tuple[list[int], np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        length = int(rng.integers(2, 12))
        ids = [int(i) for i in rng.integers(0, vocab, size=length)]
        ref = log_softmax(rng.normal(size=(length - 1, vocab)), axis=1)
        new = log_softmax(np.exp(ref) * 3 + rng.normal(scale=0.5, size=ref.shape), axis=1)
        out.append((ids, ref.astype(np.float32), new.astype(np.float32)))
    return out


def test_pooled_figures_equal_a_hand_computation() -> None:
    documents = _documents(0, 9)
    compared = compare_tokens([document_totals(*d) for d in documents], seed=1)
    ref = np.concatenate([d[1] for d in documents]).astype(np.float64)
    new = np.concatenate([d[2] for d in documents]).astype(np.float64)
    following = np.concatenate([d[0][1:] for d in documents])
    rows = np.arange(len(following))
    kl = entropy(np.exp(ref), np.exp(new), axis=1)
    nll_ref = -ref[rows, following].mean()
    nll_new = -new[rows, following].mean()
    assert compared.tokens == len(following) and compared.documents == 9
    assert compared.metrics["mean_kl"] == pytest.approx(kl.mean(), rel=1e-4)
    assert compared.metrics["agreement"] == pytest.approx(
        np.mean(ref.argmax(axis=1) == new.argmax(axis=1)))
    assert compared.metrics["perplexity_reference"] == pytest.approx(math.exp(nll_ref), rel=1e-5)
    assert compared.metrics["perplexity_compressed"] == pytest.approx(math.exp(nll_new),
                                                                      rel=1e-5)
    assert compared.metrics["perplexity_ratio"] == pytest.approx(
        math.exp(nll_new - nll_ref), rel=1e-5)
    for name, value in compared.metrics.items():
        low, high = compared.intervals[name]
        assert low <= value <= high, name


def test_the_bootstrap_draws_whole_documents() -> None:
    """A document's tokens move together: the interval over documents is wider than one that
    treated the same tokens as independent (one long document dominating the KL)."""
    documents = _documents(3, 6)
    ids, ref, _ = documents[0]
    long_ids = ids * 20
    long_ref = np.concatenate([ref] * 20 + [ref[:1]] * (len(long_ids) - 1 - 20 * len(ref)))
    documents[0] = (long_ids, long_ref, log_softmax(-3 * np.exp(long_ref), axis=1)
                    .astype(np.float32))
    totals = [document_totals(*d) for d in documents]
    low, high = compare_tokens(totals, seed=0).intervals["mean_kl"]
    per_token = np.concatenate([entropy(np.exp(d[1].astype(np.float64)),
                                        np.exp(d[2].astype(np.float64)), axis=1)
                                for d in documents])
    draws = np.random.default_rng(0).integers(0, len(per_token), (1000, len(per_token)))
    naive = np.percentile(per_token[draws].mean(axis=1), [2.5, 97.5])
    assert high - low > 2 * (naive[1] - naive[0])


def test_same_model_and_edge_cases() -> None:
    ids, ref, _ = _documents(5, 1)[0]
    same = compare_tokens([document_totals(ids, ref, ref)] * 3, seed=0)
    assert same.metrics["mean_kl"] == pytest.approx(0.0, abs=1e-9)
    assert same.metrics["agreement"] == 1.0
    assert same.metrics["perplexity_ratio"] == pytest.approx(1.0)
    alone = compare_tokens([document_totals(ids, ref, ref)], seed=0)
    assert alone.intervals == {}
    empty = np.zeros((0, 7), dtype=np.float32)
    with pytest.raises(ValueError, match="no document has two or more tokens"):
        compare_tokens([document_totals([4], empty, empty)], seed=0)
    with pytest.raises(ValueError, match="not the same tokenizer"):
        document_totals(ids, ref, ref[:, :3])
