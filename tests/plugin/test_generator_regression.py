"""``regression`` on a text generator as a user sees it: both models answer greedily and the
check gates the share of identical answers (and, with expected answers, the paired accuracy
drop and the flips); keys about labels are a located error."""

from __future__ import annotations

import pytest

from .generators import GEN_HEAD
from .helpers import checks_by_nodeid, read_report
from .test_generation_answers import run_generator_suite

WITH_PRODUCTION = GEN_HEAD.replace(
    "checks:\n", "models:\n  production:\n    adapter: fakegen\n    wrong: []\nchecks:\n")


def test_a_generator_is_compared_by_its_answers(pytester: pytest.Pytester) -> None:
    # The candidate answers Chile and Egypt wrong; production answers all six right.
    result = run_generator_suite(pytester, """  - kind: regression
    name: strict
    dataset: capitals
    baseline: production
    stop: [" ."]
    min_agreement: 0.9
  - kind: regression
    name: loose
    dataset: capitals
    baseline: production
    stop: [" ."]
    min_agreement: 0.1
""", head=WITH_PRODUCTION)
    result.stdout.fnmatch_lines([
        "regression[[]strict] failed (suites/lm.yaml:14, n=6)",
        "  agreement 0.667 < 0.900 (95% CI 0.300 to 0.903)  [[]min_agreement]",
        "  failing examples (2):",
        "    - 'The capital of Chile is' expected Santiago baseline Santiago predicted London",
        "    - 'The capital of Egypt is' expected Cairo baseline Cairo predicted London",
    ])
    result.stdout.fnmatch_lines([
        "suites/lm.yaml  regression[[]loose]   PASS     agreement 0.667 >= 0.100 (95% CI 0.300 "
        "to 0.903)"])
    result.assert_outcomes(passed=1, failed=1)
    found = checks_by_nodeid(read_report(pytester))["suites/lm.yaml::regression[strict]"]
    assert found["metrics"]["agreement"] == pytest.approx(4 / 6)
    assert found["metrics"]["accuracy_baseline"] == 1.0
    assert found["metrics"]["accuracy_candidate"] == pytest.approx(4 / 6)
    assert found["metrics"]["accuracy_drop"] == pytest.approx(2 / 6)
    assert found["metrics"]["negative_flip_rate"] == pytest.approx(2 / 6)
    assert [e["baseline"] for e in found["examples"]] == ["Santiago", "Cairo"]
    assert [e["predicted"] for e in found["examples"]] == ["London", "London"]


def test_a_key_about_labels_is_refused_for_a_generator(pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, """  - kind: regression
    dataset: capitals
    baseline: production
    max_probability_diff: 0.001
""", head=WITH_PRODUCTION)
    result.stdout.fnmatch_lines([
        "suites/lm.yaml:17: checks[[]0].max_probability_diff: does not apply to a text "
        "generator: a generator's answers are texts, not class probabilities; compare answers "
        "with 'baseline' (a model under 'models:') and min_agreement / max_accuracy_drop / "
        "max_negative_flip_rate"])
    result.assert_outcomes(errors=1)
