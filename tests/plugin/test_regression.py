"""``regression`` as a user sees it: the suite's model (the candidate) against ``baseline:``, with
exact flip counts from two ``callable`` fakes, Holm's correction over gated slices, and every bad
input as one located message.

The candidate is the fake of :mod:`tests.plugin.helpers` (misses only "not good at all"). The
baseline below reads the negation but calls "great acting" negative and "boring" positive, so on
the 8 rows: baseline 6/8, candidate 7/8; one negative flip (row 7, "not good at all"), two
positive flips (rows 2 and 8). On the ``food`` topic (rows 3, 5, 7) the candidate loses one of
three; on ``film`` (rows 1, 2, 4, 6, 8) it gains two of five.
"""

from __future__ import annotations

import os

import pytest

from .helpers import (
    assert_no_traceback,
    checks_by_nodeid,
    lit,
    read_report,
    run_suite_text,
    write_suite,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BASELINE = '''
def predict(texts):
    return [[0.9, 0.1] if "not" in t else
            [0.3, 0.7] if ("good" in t or "bor" in t) else [0.8, 0.2] for t in texts]


def other_labels(texts):
    return [[0.5, 0.5] for t in texts]
'''

HEADER = """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
models:
  production:
    adapter: callable
    target: baseline:predict
    labels: [negative, positive]
  sentiment-v2:
    adapter: callable
    target: baseline:other_labels
    labels: [bad, good]
datasets:
  dev:
    path: data.csv
checks:
"""  # checks[0] starts on line 18

NODE = "suites/r.yaml::regression[production]"


def run_suite(pytester: pytest.Pytester, checks: str) -> pytest.RunResult:
    pytester.makepyfile(baseline=BASELINE)
    return run_suite_text(pytester, "suites/r.yaml", HEADER + checks)


def test_flip_counts_accuracies_and_mcnemar_are_exact(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n"
                                 "    baseline: production\n    max_accuracy_drop: 0.5\n")
    result.assert_outcomes(passed=1)
    entry = checks_by_nodeid(read_report(pytester))[NODE]
    metrics = entry["metrics"]
    assert metrics["accuracy_baseline"] == 6 / 8
    assert metrics["accuracy_candidate"] == 7 / 8
    assert metrics["accuracy_drop"] == pytest.approx(-1 / 8)
    assert metrics["negative_flip_rate"] == 1 / 8
    assert metrics["positive_flip_rate"] == 2 / 8
    assert metrics["mcnemar_p_value"] == 1.0  # 1 vs 2 discordant pairs: binomial p = 1
    assert metrics["agreement"] == 5 / 8
    low, high = entry["intervals"]["accuracy_drop"]
    assert low < -1 / 8 < high
    per_class = entry["details"]["per_class"]
    assert per_class["positive"]["negative_flips"] == 0
    assert per_class["positive"]["positive_flips"] == 1
    assert per_class["negative"]["negative_flips"] == 1
    assert per_class["negative"]["positive_flips"] == 1
    assert metrics["class.negative.negative_flip_rate"] == 1 / 5
    assert entry["details"]["negative_flips"] == 1


def test_negative_flips_fail_the_gate_with_both_predictions(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n"
                                 "    baseline: production\n    max_negative_flip_rate: 0.1\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*negative_flip_rate 0.125 > 0.100 (95% CI 0.022 to 0.471)*",
        "*'not good at all' expected negative baseline negative (p=0.90) "
        "predicted positive (p=0.80)",
    ])
    example = checks_by_nodeid(read_report(pytester))[NODE]["examples"][0]
    assert example["baseline_probabilities"] == {"negative": 0.9, "positive": 0.1}
    assert example["probabilities"] == {"negative": 0.2, "positive": 0.8}


def test_slices_are_gated_with_holm_over_the_gated_ones(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, """  - kind: regression
    dataset: dev
    baseline: production
    slices:
      - {name: food, column: topic, equals: food, max_accuracy_drop: 0.2}
      - {name: film, column: topic, equals: film, max_accuracy_drop: 0.0}
      - {name: all-short, max_words: 10}
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*food accuracy_drop 0.333 > 0.200 (95% CI *) (McNemar p=1, Holm-adjusted 1 over 2 "
        "gated slices)*",
    ])
    entry = checks_by_nodeid(read_report(pytester))[NODE]
    slices = {s["name"]: s for s in entry["details"]["slices"]}
    assert slices["food"]["negative_flips"] == 1 and slices["food"]["n"] == 3
    assert slices["film"]["positive_flips"] == 2 and slices["film"]["n"] == 5
    assert slices["film"]["mcnemar_p_value"] == 0.5
    assert slices["film"]["holm_p_value"] == 1.0  # 2 x 0.5
    assert "holm_p_value" not in slices["all-short"]  # not gated: not in the family
    assert entry["details"]["multiple_comparisons"] == {
        "method": "holm", "on": "McNemar exact p-values of the gated slices", "alpha": 0.05,
        "family_size": 2, "significant_drops": []}
    assert any("slice food: over its limit, but the change is not significant" in w
               for w in entry["warnings"])
    html = (pytester.path / "reports" / "modeltests.html").read_text()
    assert "Holm over 2 gated slices" in html and "Holm-adjusted p" in html


def test_unknown_baseline_is_located_with_a_suggestion(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n"
                                 "    baseline: prodution\n")
    result.stdout.fnmatch_lines([
        "suites/r.yaml:20: checks[[]0].baseline: unknown model 'prodution'; "
        "did you mean 'production'?*",
    ])
    result.assert_outcomes(errors=1)


def test_baseline_with_other_labels_names_both_sets(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n"
                                 "    baseline: sentiment-v2\n")
    result.stdout.fnmatch_lines([
        lit("suites/r.yaml:20: checks[0].baseline: model 'sentiment-v2' predicts the labels "
            "['bad', 'good'] and the suite's model ['negative', 'positive']; the two must "
            "predict the same labels (set models.sentiment-v2.labels to the suite model's names, "
            "in any order)"),
    ])
    result.assert_outcomes(errors=1)


@pytest.mark.parametrize("value", ["-0.1", "1.5"])
def test_flip_rate_limit_outside_zero_one(pytester: pytest.Pytester, value: str) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n"
                                 f"    baseline: production\n    max_negative_flip_rate: {value}\n"
                                 "    slices:\n      - {name: food, column: topic, "
                                 f"equals: food, max_negative_flip_rate: {value}}}\n")
    result.stdout.fnmatch_lines([
        f"suites/r.yaml:21: checks[[]0].max_negative_flip_rate: must be a number in [[]0, 1] "
        f"(got {value})",
        f"suites/r.yaml:23: checks[[]0].slices[[]0].max_negative_flip_rate: must be a number in "
        f"[[]0, 1] (got {value})",
    ])
    result.assert_outcomes(errors=1)


def test_every_gated_metric_names_its_interval_method_under_bound(pytester: pytest.Pytester
                                                                  ) -> None:
    """``gate: bound`` applies to every regression limit (none is a configuration error), and
    each threshold in the JSON records how its interval was computed."""
    result = run_suite(pytester, """  - kind: regression
    dataset: dev
    baseline: production
    gate: bound
    max_accuracy_drop: 0.5
    max_negative_flip_rate: 0.6
    min_agreement: 0.1
""")
    result.assert_outcomes(passed=1)
    entry = checks_by_nodeid(read_report(pytester))[NODE]
    methods = {t["metric"]: t["interval_method"] for t in entry["thresholds"]}
    assert methods == {"accuracy_drop": "newcombe", "negative_flip_rate": "wilson",
                       "agreement": "wilson"}
    assert all(t["decided_by"] == "bound" for t in entry["thresholds"])
    # Probabilities from both models: mean KL with a bootstrap interval around it.
    low, high = entry["intervals"]["mean_kl"]
    assert low <= entry["metrics"]["mean_kl"] <= high
    low, high = entry["intervals"]["relative_accuracy"]
    assert entry["metrics"]["relative_accuracy"] == pytest.approx(7 / 6)
    assert low <= 7 / 6 <= high


SAVED_HEADER = """model:
  adapter: callable
  target: {target}
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
"""


def save_baseline(pytester: pytest.Pytester) -> None:
    """Run the baseline model's accuracy check with --modeltests-save-predictions."""
    pytester.makepyfile(baseline=BASELINE)
    result = run_suite_text(
        pytester, "suites/old.yaml", SAVED_HEADER.format(target="baseline:predict")
        + "  - kind: accuracy\n    dataset: dev\n    min_accuracy: 0.3\n",
        "--modeltests-save-predictions", "saved")
    result.assert_outcomes(passed=1)


def test_saved_predictions_are_a_baseline_with_the_same_figures(pytester: pytest.Pytester
                                                                ) -> None:
    save_baseline(pytester)
    [saved] = sorted((pytester.path / "saved").glob("*.parquet"))
    assert saved.name.startswith("dev-") and saved.name.endswith("-old.model.parquet")
    candidate = SAVED_HEADER.format(target="fakemodel:predict") + (
        "  - kind: regression\n    dataset: dev\n"
        f"    baseline_predictions: ../saved/{saved.name}\n    max_negative_flip_rate: 0.5\n")
    write_suite(pytester, "suites/new.yaml", candidate)
    result = pytester.runpytest("suites/new.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    [entry] = read_report(pytester)["checks"]
    assert entry["metrics"]["accuracy_baseline"] == 6 / 8
    assert entry["metrics"]["negative_flip_rate"] == 1 / 8
    assert entry["details"]["baseline"] == f"saved predictions ../saved/{saved.name}"
    assert entry["examples"][0]["baseline_probabilities"] == {"negative": 0.9, "positive": 0.1}


def test_saved_predictions_on_changed_data_are_refused_naming_the_change(
        pytester: pytest.Pytester) -> None:
    save_baseline(pytester)
    [saved] = sorted((pytester.path / "saved").glob("*.parquet"))
    data = pytester.path / "suites/data.csv"
    data.write_text(data.read_text().replace("boring,negative", "boring,positive"))
    write_suite(pytester, "suites/new.yaml", SAVED_HEADER.format(target="fakemodel:predict")
                + "  - kind: regression\n    dataset: dev\n"
                f"    baseline_predictions: ../saved/{saved.name}\n")
    result = pytester.runpytest("suites/new.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        lit(f"suites/new.yaml:11: checks[0].baseline_predictions: {saved.name} holds predictions "
            f"on {data.resolve()} (sha256 ") + "*), but dataset 'dev' is *(sha256 *): the "
        "data changed since they were saved; save the baseline's predictions again on this data"])


@pytest.mark.parametrize(("keys", "problem"), [
    ("", "give exactly one of 'baseline'"),
    ("    baseline: production\n    baseline_predictions: x.parquet\n",
     "give exactly one of 'baseline'"),
])
def test_exactly_one_baseline(pytester: pytest.Pytester, keys: str, problem: str) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n" + keys)
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"*suites/r.yaml:18*{lit(problem)}*"])


def test_a_missing_saved_file_is_a_located_error(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: regression\n    dataset: dev\n"
                                 "    baseline_predictions: nowhere.parquet\n")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([lit("suites/r.yaml:20: checks[0].baseline_predictions: no saved "
                                     "predictions at ") + "*/suites/nowhere.parquet (write them "
                                 "with --modeltests-save-predictions DIR on the run to compare "
                                 "with)"])
