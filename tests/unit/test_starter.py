"""``modeltests init``: columns detected, label maps found, thresholds proposed from measured
entries with the comment that says where each comes from."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from modeltests.errors import ModelTestsError
from modeltests.cli.init import Columns, detect_columns, suite_text

LABELS = ["negative", "positive"]


def test_columns_by_name_and_labels_by_index() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "Sentence": ["a b c d", "e f", "g"],
                          "target": [0, 1, 0]})
    columns = detect_columns(frame, LABELS)
    assert (columns.text, columns.label) == ("Sentence", "target")
    assert columns.label_map == {0: "negative", 1: "positive"}


def test_columns_by_shape_and_labels_by_case_or_prefix() -> None:
    frame = pd.DataFrame({"words": ["a long sentence here", "another long one", "x y z w"],
                          "code": ["a", "b", "c"], "mood": ["POS", "NEG", "POS"]})
    columns = detect_columns(frame, LABELS)
    assert (columns.text, columns.label) == ("words", "mood")
    assert columns.label_map == {"NEG": "negative", "POS": "positive"}
    assert columns.notes == ["label_map was matched on the first letters: check it"]
    same = detect_columns(pd.DataFrame({"text": ["a", "b"], "label": ["Positive", "negative"]}),
                          LABELS)
    assert same.label_map == {"Positive": "positive"} | {"negative": "negative"}


def test_labels_that_cannot_be_matched_are_said() -> None:
    columns = detect_columns(pd.DataFrame({"text": ["a", "b"], "label": ["spam", "ham"]}),
                             LABELS)
    assert columns.label_map is None
    assert columns.notes == ["the data's labels ['ham', 'spam'] are not the model's "
                             "['negative', 'positive']: set label_map"]
    with pytest.raises(ModelTestsError, match="no text column"):
        detect_columns(pd.DataFrame({"a": [1, 2], "b": [0, 1]}), LABELS)


def test_thresholds_come_from_the_measured_intervals() -> None:
    measured = {
        "accuracy[eval]": {
            "outcome": "passed", "sample_size": 600,
            "metrics": {"accuracy": 0.95, "worst_class_recall": 0.93, "f1_macro": 0.95},
            "intervals": {"accuracy": [0.93, 0.965], "worst_class_recall": [0.9, 0.95]},
            "details": {"slices": [{"name": "short", "n": 120, "accuracy": 0.9,
                                    "interval": [0.83, 0.94]}]}},
        "robustness[deepwordbug]": {
            "outcome": "passed", "sample_size": 20,
            "metrics": {"attack_success_rate": 0.9, "examples_attacked": 19.0},
            "intervals": {"attack_success_rate": [0.7, 0.995]}},
        "latency[cpu]": {"outcome": "skipped", "message": "no time", "metrics": {}},
    }
    text = suite_text("m", "../m", ("../d.csv", Columns("text", "label")), measured, LABELS)
    suite = yaml.safe_load(text)
    accuracy = suite["checks"][1]
    assert (accuracy["min_accuracy"], accuracy["min_worst_class_recall"]) == (0.92, 0.89)
    assert accuracy["min_f1_macro"] == 0.92  # 0.95 - (0.95 - 0.93) - 0.01
    assert accuracy["slices"] == [{"name": "short", "max_words": 5, "min_samples": 20,
                                   "min_accuracy": 0.82}]
    assert "    # measured 0.950 (95% lower bound 0.930, n=600); n=600 decides this limit only " \
           "for values at\n    # least ±0.022 away\n    min_accuracy: 0.92\n" in text
    robustness = suite["checks"][2]
    assert (robustness["max_attack_success_rate"], robustness["min_examples_attacked"]) == (1, 14)
    assert "a limit of 1 catches nothing yet" in text
    assert "    # not measured here: no time\n" in text
    kinds = [c["kind"] for c in suite["checks"]]
    assert kinds == ["availability", "accuracy", "robustness", "invariance", "property_search",
                     "quantization", "pruning", "latency"]  # directional, behavior: commented
