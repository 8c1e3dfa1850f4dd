"""Entity spans and scores of :mod:`modeltests.data.tags` against seqeval's own (the reference
implementation of the definitions), on random tag sequences that break IOB2 in every way."""

from __future__ import annotations

import random

import pytest

from modeltests.data.tags import bio_problems, entities, entity_report, sentence_counts
from modeltests.stats.entities import entity_intervals, paired_f1_drop

seqeval_metrics = pytest.importorskip("seqeval.metrics")
seqeval_sequence = pytest.importorskip("seqeval.metrics.sequence_labeling")

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
TYPES = ["LOC", "ORG", "PER"]


def random_rows(seed: int, count: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(TAGS) for _ in range(rng.randint(0, 12))] for _ in range(count)]


@pytest.mark.parametrize("seed", range(5))
def test_spans_are_seqeval_default_chunks(seed: int) -> None:
    for row in random_rows(seed, 200):
        assert sorted(entities(row)) == sorted(seqeval_sequence.get_entities(row))


@pytest.mark.parametrize("seed", range(5))
def test_micro_and_per_type_scores_equal_seqeval(seed: int) -> None:
    truth, predicted = random_rows(seed, 150), random_rows(seed + 100, 150)
    predicted = [p[:len(t)] + ["O"] * (len(t) - len(p)) for t, p in zip(truth, predicted)]
    report = entity_report(sentence_counts(truth, predicted, TYPES), TYPES)
    assert report["precision"] == pytest.approx(seqeval_metrics.precision_score(truth, predicted))
    assert report["recall"] == pytest.approx(seqeval_metrics.recall_score(truth, predicted))
    assert report["f1"] == pytest.approx(seqeval_metrics.f1_score(truth, predicted))
    theirs = seqeval_metrics.classification_report(truth, predicted, output_dict=True,
                                                   zero_division=0)
    for kind in TYPES:
        for figure, key in (("precision", "precision"), ("recall", "recall"),
                            ("f1", "f1-score"), ("support", "support")):
            assert report["per_type"][kind][figure] == pytest.approx(theirs[kind][key])


def test_no_entities_at_all_scores_zero_like_seqeval() -> None:
    truth = [["O", "O"], ["O"]]
    report = entity_report(sentence_counts(truth, truth, TYPES), TYPES)
    assert report["f1"] == seqeval_metrics.f1_score(truth, truth, zero_division=0) == 0.0


def test_gold_tags_must_be_strict_iob2() -> None:
    assert bio_problems(["B-PER", "I-PER", "O", "B-LOC"]) == []
    assert bio_problems(["O", "I-PER"]) == [
        "tag 'I-PER' at word 1 follows 'O' (an I- tag must continue B-PER or I-PER)"]
    assert bio_problems(["B-LOC", "I-PER"]) == [
        "tag 'I-PER' at word 1 follows 'B-LOC' (an I- tag must continue B-PER or I-PER)"]
    assert bio_problems(["PER", "S-LOC"]) == [
        "tag 'PER' at word 0 is not O, B-TYPE or I-TYPE",
        "tag 'S-LOC' at word 1 is not O, B-TYPE or I-TYPE"]


def test_bootstrap_intervals_contain_the_estimate_and_a_same_model_drop_is_zero() -> None:
    truth, predicted = random_rows(7, 120), random_rows(8, 120)
    predicted = [p[:len(t)] + ["O"] * (len(t) - len(p)) for t, p in zip(truth, predicted)]
    counts = sentence_counts(truth, predicted, TYPES)
    report = entity_report(counts, TYPES)
    intervals = entity_intervals(counts, TYPES, seed=0)
    for name, value in (("entity_f1", report["f1"]), ("entity_recall", report["recall"]),
                        ("entity_f1.PER", report["per_type"]["PER"]["f1"])):
        low, high = intervals[name]
        assert low <= value <= high
        assert high - low > 0
    assert paired_f1_drop(counts, counts, TYPES, seed=0)["entity_f1_drop"] == (0.0, 0.0)
