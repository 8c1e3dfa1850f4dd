"""Failing examples in terminal messages: texts clipped around the change, each probability
printed next to the label it belongs to."""

from __future__ import annotations

from modeltests.reporting.terminal import describe_example
from modeltests.support.text import clip_change

LONG = ("The staff were friendly and the room was clean, the view over the harbour was lovely "
        "and breakfast was served until eleven every day of the week.")


def test_a_change_at_the_end_of_a_long_text_is_shown() -> None:
    before, after = clip_change(LONG, LONG + " Overall it was awful.", 70)
    assert before.startswith("…") and before.endswith("every day of the week.")
    assert after.startswith("…") and after.endswith("the week. Overall it was awful.")
    assert len(after) <= 72


def test_a_change_in_the_middle_keeps_context_on_both_sides() -> None:
    changed = LONG.replace("harbour", "harbor")
    before, after = clip_change(LONG, changed, 40)
    assert "harbour" in before and "harbor " in after
    assert before.startswith("…") and before.endswith("…")
    assert before.replace("harbour", "harbor") == after


def test_short_texts_are_whole() -> None:
    assert clip_change("a good movie", "a god movie") == ("a good movie", "a god movie")


def test_a_long_changed_span_is_shown_whole() -> None:
    added = " and then " + "x" * 120
    before, after = clip_change(LONG, LONG + added, 70)
    assert after.endswith(added)


def test_directional_example_names_the_watched_label_and_the_predicted_one() -> None:
    line = describe_example({
        "original": LONG, "perturbed": LONG + " Overall it was awful.",
        "expected": "p(positive) not increase (tolerance 0.05)", "watched_label": "positive",
        "p_before": 0.12, "p_after": 0.35, "change": 0.23, "predicted": "neutral",
        "confidence": 0.5})
    assert "the week.' -> '…" in line and "of the week. Overall it was awful.'" in line
    assert line.endswith("expected p(positive) not increase (tolerance 0.05) predicted neutral "
                         "(p=0.50); p(positive) 0.12 -> 0.35 (+0.23)")


def test_compression_example_shows_both_labels() -> None:
    line = describe_example({"text": "fine", "expected": "positive", "change": "broke",
                             "reference": "positive", "reference_confidence": 0.91,
                             "predicted": "negative", "confidence": 0.55})
    assert line == ("'fine' expected positive: reference positive (p=0.91) -> compressed "
                    "negative (p=0.55) (broke)")


def test_property_search_example_counts_edits_in_one_unit() -> None:
    line = describe_example({"original": "a good movie", "perturbed": "a good really movie",
                             "expected": "positive", "predicted": "negative", "edits": 1,
                             "changed_chars": 7})
    assert line.endswith("predicted negative; 1 edit (7 characters changed)")
