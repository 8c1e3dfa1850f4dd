"""Robustness and behavioural check kinds in suites: located messages for bad parameters, and
INV / DIR / MFT / property-search verdicts on the fake keyword model (``good``/``great`` ->
positive). TextAttack itself is exercised in ``tests/real/test_robustness.py``."""

from __future__ import annotations

import os

import pytest

from .helpers import (CALLABLE_HEAD, assert_no_traceback, checks_by_nodeid, lit, make_project,
                      read_report, run_suite_text)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

def run_suite(pytester: pytest.Pytester, checks: str) -> pytest.RunResult:
    return run_suite_text(pytester, "suites/robust.yaml", CALLABLE_HEAD + checks)


def test_unknown_recipe_gets_a_close_match(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: robustness\n    dataset: dev\n"
                                 "    recipe: deepwordbugg\n")
    result.stdout.fnmatch_lines([
        "suites/robust.yaml:11: checks[[]0].recipe: must be one of 'deepwordbug', 'pruthi', "
        "'pwws', 'textfooler', 'textbugger', 'bae' or 'checklist' (got 'deepwordbugg'); "
        "did you mean 'deepwordbug'?",
    ])
    result.assert_outcomes(errors=1)


def test_budgets_out_of_range_are_all_reported(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: robustness\n    dataset: dev\n    query_budget: 0\n"
                                 "    time_budget_s: -1\n    num_examples: 0\n")
    result.stdout.fnmatch_lines([
        "suites/robust.yaml:11: checks[[]0].query_budget: must be an integer in [[]1, 10000000] "
        "(got 0)",
        "suites/robust.yaml:12: checks[[]0].time_budget_s: must be a number in (0, 86400] "
        "(got -1)",
        "suites/robust.yaml:13: checks[[]0].num_examples: must be an integer in [[]1, 100000] "
        "(got 0)",
    ])


def test_recipe_and_transformation_are_exclusive(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: robustness\n    dataset: dev\n    recipe: pruthi\n"
                                 "    transformation: [qwerty]\n")
    result.stdout.fnmatch_lines([
        "suites/robust.yaml:9: checks[[]0]: set either 'recipe' or 'transformation' "
        "(a composed attack), not both",
    ])


def test_unknown_perturbation_and_placeholder(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: invariance\n    dataset: dev\n"
                                 "    perturbations: [typo]\n"
                                 "  - kind: behavior\n    template: '{nme} liked the {thing}.'\n"
                                 "    expected: positive\n")
    result.stdout.fnmatch_lines([
        "suites/robust.yaml:11: checks[[]0].perturbations[[]0]: must be one of 'typos', *"
        "(got 'typo'); did you mean 'typos'?",
        "suites/robust.yaml:12: checks[[]1]: placeholder {nme} has no lexicon (lexicons: city, "
        "country, name, neg_adj, neutral_adj, pos_adj, thing); did you mean {name}?",
    ])
    result.assert_outcomes(errors=2)


def test_missing_dataset_column_and_unknown_label(pytester: pytest.Pytester) -> None:
    suite = CALLABLE_HEAD.replace("    path: data.csv\n", "    path: data.csv\n  typo:\n"
                         "    path: data.csv\n    text_column: txt\n")
    make_project(pytester, suite + "  - kind: robustness\n    dataset: typo\n"
                 "  - kind: invariance\n    dataset: dev\n    only_label: postive\n"
                 "    perturbations: [case]\n", name="robust")
    result = pytester.runpytest("suites/robust.yaml", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/robust.yaml:10: datasets.typo.text_column: column 'txt' not found in data.csv; "
        "did you mean 'text'? (columns: text, label, topic)",
        "suites/robust.yaml:16: checks[[]1].only_label: unknown label 'postive' "
        "(labels: negative, positive); did you mean 'positive'?",
    ])
    result.assert_outcomes(errors=1, failed=1)


def test_invariance_reports_failing_perturbations(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: invariance\n    name: inv\n"
                                 "    texts: [great, so great, 'great!']\n"
                                 "    perturbations: [punctuation, append_url, typos]\n"
                                 "    min_pass_rate: 0.9\n")
    result.assert_outcomes(failed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/robust.yaml::invariance[inv]"]
    assert entry["metrics"]["pass_rate.punctuation"] == 1.0
    assert entry["metrics"]["pass_rate.append_url"] == 1.0
    assert entry["metrics"]["pass_rate.typos"] == 0.0  # every typo lands in "great"
    assert entry["metrics"]["pass_rate"] == pytest.approx(6 / 9)
    failing = entry["examples"][0]
    assert failing["input"] == "typos" and failing["expected"] == "positive"
    assert failing["original"] == "great" and failing["perturbed"] != "great"
    result.stdout.fnmatch_lines([lit("invariance[inv] failed (*robust.yaml:9, n=9)"),
                                 "  pass_rate * < 0.900 (95% CI *)  [[]min_pass_rate]",
                                 "    - [[]typos] * -> * expected positive predicted negative*"])


def test_directional_and_template_checks(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: directional\n    name: dir\n    dataset: dev\n"
                                 "    only_label: negative\n    append: 'Not good.'\n"
                                 "    expect: {label: positive, direction: not_increase, "
                                 "tolerance: 0.1}\n    min_pass_rate: 0.5\n"
                                 "  - kind: behavior\n    name: mft\n"
                                 "    template: 'a {pos_adj} {thing}'\n"
                                 "    lexicons: {thing: [movie, meal]}\n    expected: positive\n"
                                 "    min_pass_rate: 0.02\n")
    result.assert_outcomes(failed=1, passed=1)
    checks = checks_by_nodeid(read_report(pytester))
    directional = checks["suites/robust.yaml::directional[dir]"]
    # of the 5 negative rows only "not good at all" (already 0.8 positive) does not move
    assert directional["metrics"]["pass_rate"] == 0.2
    assert directional["examples"][0]["perturbed"].endswith(" Not good.")
    behavior = checks["suites/robust.yaml::behavior[mft]"]
    assert behavior["metrics"]["cases"] == 20  # 10 built-in pos_adj x 2 things
    assert behavior["metrics"]["pass_rate"] == pytest.approx(2 / 20)  # only "great" is known


def test_property_search_shrinks_to_one_edit(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: property_search\n    name: search\n"
                                 "    texts: ['a good movie', 'bad movie']\n"
                                 "    edits: [typos]\n    budget: 200\n    max_flip_rate: 0.2\n")
    result.assert_outcomes(failed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/robust.yaml::property_search[search]"]
    assert entry["metrics"]["flipped"] == 1.0
    example = entry["examples"][0]
    assert example["original"] == "a good movie" and example["predicted"] == "negative"
    assert example["edits"] <= 2  # shrunk: one swap / deletion / substitution inside "good"


def test_a_wrong_wordnet_folder_is_located_and_can_skip(pytester: pytest.Pytester) -> None:
    """``wordnet_dir`` is checked before the model loads; ``missing_resource: skip`` turns the
    failure into a skip with the same reason."""
    result = run_suite(pytester, "  - kind: robustness\n    name: fails\n    dataset: dev\n"
                                 "    recipe: pwws\n    wordnet_dir: wn\n"
                                 "  - kind: robustness\n    name: skips\n    dataset: dev\n"
                                 "    transformation: [wordnet, homoglyph]\n"
                                 "    wordnet_dir: wn\n    missing_resource: skip\n")
    folder = pytester.path / "suites" / "wn"
    message = (f"recipe 'pwws': {folder}: no such WordNet folder (expected WordNet 3.0's dict "
               f"files there: apt-get install wordnet-base (Debian/Ubuntu: modeltests prepares "
               f"it for NLTK), or copy NLTK's own download *")
    result.stdout.fnmatch_lines([lit(f"suites/robust.yaml:13: ") + lit(message)])
    result.assert_outcomes(failed=1, skipped=1)
    skipped = checks_by_nodeid(read_report(pytester))["suites/robust.yaml::robustness[skips]"]
    assert skipped["outcome"] == "skipped"
    assert skipped["message"].startswith(f"suites/robust.yaml:18: transformation 'wordnet': "
                                         f"{folder}: no such WordNet folder")
