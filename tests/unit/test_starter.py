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
            "intervals": {"accuracy": [0.93, 0.965], "worst_class_recall": [0.9, 0.95],
                          "f1_macro": [0.925, 0.97]},
            "interval_methods": {"accuracy": "wilson", "worst_class_recall": "wilson-bonferroni",
                                 "f1_macro": "bootstrap-percentile"},
            "details": {"slices": [{"name": "short", "n": 120, "accuracy": 0.9,
                                    "interval": [0.83, 0.94]}]}},
        "robustness[deepwordbug]": {
            "outcome": "passed", "sample_size": 20,
            "metrics": {"attack_success_rate": 0.9, "examples_attacked": 19.0},
            "intervals": {"attack_success_rate": [0.7, 0.995]}},
        "latency[cpu]": {
            "outcome": "passed", "sample_size": 40,
            "metrics": {"p50_ms": 10.2, "throughput": 26.9},
            "intervals": {"p50_ms": [9.8, 11.3], "throughput": [25.1, 28.0]}},
        "footprint[size]": {"outcome": "passed", "metrics": {"parameters": 4386.0,
                                                            "gflops": 0.0123}},
        "calibration[eval]": {"outcome": "skipped", "message": "labels only", "metrics": {}},
    }
    text = suite_text("m", "../m", ("../d.csv", Columns("text", "label")), measured, LABELS)
    suite = yaml.safe_load(text)
    # Issue 26: what decides is written (the interval's far end), not "estimate".
    assert suite["defaults"]["gate"] == "bound"
    checks = {f"{c['kind']}[{c.get('name', c.get('dataset'))}]": c for c in suite["checks"]}
    accuracy = checks["accuracy[eval]"]
    # Each limit is the bound less the stated margin of 0.01: decided at the measured value.
    assert (accuracy["min_accuracy"], accuracy["min_worst_class_recall"],
            accuracy["min_f1_macro"]) == (0.92, 0.89, 0.91)
    assert accuracy["slices"] == [{"name": "short", "max_words": 5, "min_samples": 20,
                                   "min_accuracy": 0.82}]
    # The power at this n, from the exact binomial of the Wilson gate.
    assert "    # measured 0.950 (95% lower bound 0.930, n=600); limit 0.01 below the bound; " \
           "passes 80% of\n    # runs only at a true value >= 0.950 (n=600); a true 0.940 " \
           "would need about n=1,330\n    min_accuracy: 0.92\n" in text
    # A maximum of 1 cannot fail: not proposed, and the comment says so.
    robustness = checks["robustness[deepwordbug]"]
    assert "max_attack_success_rate" not in robustness
    assert robustness["min_examples_attacked"] == 14
    assert "    # max_attack_success_rate: not proposed: measured 0.900 (95% upper bound 0.995, " \
           "n=20), and a\n    # maximum of 1 cannot fail; set one as the model improves\n" in text
    # Timing on one thread, 10x beyond the measured bound (11.3 ms, 25.1 examples/s).
    latency = checks["latency[cpu]"]
    assert (latency["threads"], latency["max_p50_ms"], latency["min_throughput"]) == (1, 113, 2.5)
    footprint = checks["footprint[size]"]
    assert (footprint["max_parameters"], footprint["max_gflops"]) == (4386, 0.014)
    assert "    # not measured here: labels only\n" in text
    assert "F1 has no interval" not in text
    kinds = [c["kind"] for c in suite["checks"]]
    assert kinds == ["availability", "accuracy", "calibration", "coverage", "robustness",
                     "invariance", "property_search", "quantization", "pruning", "footprint",
                     "latency"]  # directional, behavior: commented
