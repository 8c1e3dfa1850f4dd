"""Text pairs (``text_column: [first, second]``) through the plugin, on a fake pair model behind
the ``callable`` adapter: the function receives pairs, every check kind reads them, and bad pair
datasets get located errors."""

from __future__ import annotations

import os

import pytest

from .helpers import (
    assert_no_traceback,
    checks_by_nodeid,
    lit,
    make_project,
    read_report,
    write_suite,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# "match" when the two sides share a word of four letters or more. It refuses anything but
# pairs, so a passing run shows that the adapter handed pairs over; a first side holding a URL
# makes it answer "other" (the invariance test edits one side with append_url).
PAIR_MODEL = '''
def _words(text):
    return {w for w in text.lower().split() if len(w) >= 4}


def predict(items):
    rows = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"expected a pair, got {item!r}")
        first, second = item
        match = bool(_words(first) & _words(second)) and "http" not in first
        rows.append([0.1, 0.9] if match else [0.8, 0.2])
    return rows
'''

# 10 rows; the fake is right on 8: it misses "what is for dinner" / "pasta and salad tonight"
# (no shared word) and "is the pool open" / "the pool opens soon" (shares "pool"; gold: other).
PAIRS_CSV = """question,answer,label,topic
where is the hotel,the hotel is near the station,match,travel
is there parking,the hotel has parking,match,travel
when does breakfast start,breakfast starts at seven,match,food
is the pool open,the pool opens soon,other,travel
what is for dinner,pasta and salad tonight,match,food
where is the hotel,the weather is sunny,other,travel
when does breakfast start,the museum closes early,other,food
is the pool open,dinner is served late,other,food
what is for dinner,what about dinner then,match,food
is there parking,bring warm clothes,other,travel
"""

HEAD = """name: qa
model:
  adapter: callable
  target: pairmodel:predict
  labels: [other, match]
datasets:
  qa:
    path: pairs.csv
    text_column: [question, answer]
    label_column: label
checks:
"""


def run_pairs(pytester: pytest.Pytester, checks: str, csv: str = PAIRS_CSV,
              head: str = HEAD) -> pytest.RunResult:
    make_project(pytester, suite=None)
    pytester.makepyfile(pairmodel=PAIR_MODEL)
    (pytester.path / "suites" / "pairs.csv").write_text(csv)
    write_suite(pytester, "suites/qa.yaml", head + checks)
    result = pytester.runpytest("suites/qa.yaml", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def test_accuracy_and_slices_on_pairs(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, """  - kind: accuracy
    dataset: qa
    min_accuracy: 0.4
    slices:
      - name: food
        column: topic
        equals: food
      - name: hotel-questions
        side: first
        regex: hotel
      - name: answers-with-the
        side: second
        regex: "^the "
""")
    result.assert_outcomes(passed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/qa.yaml::accuracy[qa]"]
    assert entry["metrics"]["accuracy"] == pytest.approx(8 / 10)
    slices = {s["name"]: s for s in entry["details"]["slices"]}
    assert slices["food"]["n"] == 5
    assert slices["hotel-questions"]["n"] == 2   # "where is the hotel" twice, first side only
    assert slices["answers-with-the"]["n"] == 5  # answers starting "the "
    # Of those five, only "the pool opens soon" is missed.
    assert slices["answers-with-the"]["accuracy"] == pytest.approx(4 / 5)


def test_availability_tries_edge_inputs_on_each_side(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, """  - kind: availability
    pairs: true
    generated_examples: 5
""")
    result.assert_outcomes(passed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/qa.yaml::availability[0]"]
    edges = entry["details"]["edge_inputs"]
    assert {"emoji (first)", "emoji (second)", "emoji (both)", "empty string (second)"} <= \
        set(edges)
    assert len(edges) == 3 * 14
    assert entry["metrics"]["edge_pass_rate"] == 1.0


def test_invariance_edits_only_the_chosen_side(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, """  - kind: invariance
    name: questions
    dataset: qa
    side: first
    perturbations: [append_url]
    min_pass_rate: 0.7
  - kind: invariance
    name: answers
    dataset: qa
    side: second
    perturbations: [append_url]
    min_pass_rate: 0.7
""")
    result.stdout.fnmatch_lines([lit("suites/qa.yaml  invariance[questions]  FAIL *"),
                                 lit("suites/qa.yaml  invariance[answers]  * PASS *")])
    checks = checks_by_nodeid(read_report(pytester))
    failed = checks["suites/qa.yaml::invariance[questions]"]
    # A URL on the question turns every "match" into "other": 5 of the 10 rows.
    assert failed["metrics"]["pass_rate"] == pytest.approx(5 / 10)
    for example in failed["examples"]:
        first, second = example["original"].split(" ⟂ ")
        new_first, new_second = example["perturbed"].split(" ⟂ ")
        assert new_second == second and new_first != first and "http" in new_first
    assert checks["suites/qa.yaml::invariance[answers]"]["metrics"]["pass_rate"] == 1.0


def test_directional_appends_to_one_side(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, """  - kind: directional
    dataset: qa
    side: second
    append: "hotel breakfast pool dinner parking"
    expect: {label: match, direction: not_decrease}
    min_pass_rate: 1.0
""")
    result.assert_outcomes(passed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/qa.yaml::directional[qa]"]
    assert entry["metrics"]["mean_change"] > 0


@pytest.mark.parametrize(("csv_change", "expected"), [
    (("question,answer,label,topic", "question,reply,label,topic"),
     "suites/qa.yaml:9: datasets.qa.text_column: second side column 'answer' not found in "
     "pairs.csv (columns: question, reply, label, topic)"),
    (("is there parking,the hotel has parking,", "is there parking,,"),
     "suites/qa.yaml:9: datasets.qa.text_column: 1 row(s) of pairs.csv have an empty second "
     "side (column 'answer'; file lines 3); a text pair needs both texts"),
])
def test_bad_pair_datasets(pytester: pytest.Pytester, csv_change: tuple[str, str],
                           expected: str) -> None:
    result = run_pairs(pytester, "  - kind: accuracy\n    dataset: qa\n",
                       csv=PAIRS_CSV.replace(*csv_change))
    result.stdout.fnmatch_lines([lit(expected)])
    result.assert_outcomes(errors=1)


def test_three_text_columns_are_refused(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, "  - kind: accuracy\n    dataset: qa\n",
                       head=HEAD.replace("[question, answer]", "[question, answer, topic]"))
    result.stdout.fnmatch_lines([
        "suites/qa.yaml:9: datasets.qa.text_column: a list of text columns names exactly two "
        "(a pair: first, second), not 3 (got [[]'question', 'answer', 'topic'])"])
    result.assert_outcomes(errors=1)


def test_a_side_on_single_texts_is_a_located_error(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/single.yaml", """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
  - kind: invariance
    dataset: dev
    side: first
    perturbations: [typos]
  - kind: robustness
    dataset: dev
    attack_side: second
  - kind: availability
    edge_sides: [first]
    generated_examples: 0
  - kind: accuracy
    dataset: dev
    slices:
      - {name: long-answers, side: second, min_words: 5}
""")
    result = pytester.runpytest("suites/single.yaml", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/single.yaml:11: checks[[]0].side: side: first applies to a dataset of text "
        "pairs (text_column: [[]first, second]); these are single texts (remove side, or name "
        "two text columns)",
        "suites/single.yaml:15: checks[[]1].attack_side: attack_side: second applies to a "
        "dataset of text pairs (text_column: [[]first, second]); dataset 'dev' has single "
        "texts (remove attack_side)",
        "suites/single.yaml:17: checks[[]2].edge_sides: edge_sides applies to a text-pair model: "
        "set pairs: true, or remove edge_sides",
        "suites/single.yaml:22: slice 'long-answers': side: 'second' applies to a dataset of "
        "text pairs; 'dev' has one text column",
    ])
    result.assert_outcomes(errors=4)


def test_saved_predictions_of_pairs_are_a_regression_baseline(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, "  - kind: accuracy\n    dataset: qa\n    min_accuracy: 0.4\n")
    result.assert_outcomes(passed=1)
    saved_run = pytester.runpytest("suites/qa.yaml", "-p", "no:cacheprovider",
                                   "--modeltests-save-predictions", "saved")
    saved_run.assert_outcomes(passed=1)
    [saved] = sorted((pytester.path / "saved").glob("*.parquet"))
    import pyarrow.parquet as pq

    table = pq.read_table(saved)
    assert table.column("text").to_pylist()[0] == "where is the hotel"
    assert table.column("text_pair").to_pylist()[0] == "the hotel is near the station"
    write_suite(pytester, "suites/qa.yaml", HEAD + (
        "  - kind: regression\n    dataset: qa\n"
        f"    baseline_predictions: ../saved/{saved.name}\n    max_negative_flip_rate: 0.0\n"))
    result = pytester.runpytest("suites/qa.yaml", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.assert_outcomes(passed=1)
    [entry] = read_report(pytester)["checks"]
    assert entry["metrics"]["accuracy_baseline"] == pytest.approx(8 / 10)
    assert entry["metrics"]["agreement"] == 1.0


def test_ray_executor_refuses_pairs(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, "  - kind: accuracy\n    dataset: qa\n",
                       head=HEAD.replace("    label_column: label\n",
                                         "    label_column: label\n    executor: ray\n"))
    result.stdout.fnmatch_lines([
        "suites/qa.yaml:7: datasets.qa: executor: ray reads one text column; a dataset of text "
        "pairs (two text columns) runs with executor: local"])
    result.assert_outcomes(errors=1)


def test_checks_on_predictions_alone_read_pairs_unchanged(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, """  - kind: calibration
    dataset: qa
    bins: 5
  - kind: coverage
    dataset: qa
    confidence_threshold: 0.85
""")
    result.assert_outcomes(passed=2)
    checks = checks_by_nodeid(read_report(pytester))
    coverage = checks["suites/qa.yaml::coverage[qa]"]["metrics"]
    # The fake answers 0.9 for "match" (5 rows, 4 right: not the pool) and 0.8 for "other":
    # at 0.85 it answers the five "match" rows.
    assert coverage["coverage"] == pytest.approx(5 / 10)
    assert coverage["accuracy_at_coverage"] == pytest.approx(4 / 5)


def test_property_search_searches_one_side(pytester: pytest.Pytester) -> None:
    result = run_pairs(pytester, """  - kind: property_search
    name: answers
    dataset: qa
    side: second
    samples: 3
    budget: 20
  - kind: property_search
    name: both
    dataset: qa
    side: both
""")
    result.stdout.fnmatch_lines([
        lit("*ERROR at setup of property_search[both]*"),
        "suites/qa.yaml:21: checks[[]1].side: property_search edits one text: set side to first "
        "or second for a dataset of text pairs"])
    checks = checks_by_nodeid(read_report(pytester))
    found = checks["suites/qa.yaml::property_search[answers]"]
    assert found["outcome"] == "passed" and found["examples"]
    for example in found["examples"]:  # a flip edits the answer, never the question
        assert example["perturbed"].split(" ⟂ ")[0] == example["original"].split(" ⟂ ")[0]
