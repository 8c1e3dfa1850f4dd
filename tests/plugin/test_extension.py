"""Extension points: user check kinds and adapters registered from a conftest, and the
``modeltests`` fixture that hands a plain test the suite's loaded model."""

from __future__ import annotations

import os

import pytest

from .helpers import (CALLABLE_HEAD, PASSING_SUITE, checks_by_nodeid, make_project, read_report,
                      write_suite)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

USER_CHECK = """
from modeltests import CheckParams, CheckResult, threshold


class EmptyTextsParams(CheckParams):
    kind: str = "empty_texts"
    dataset: str
    max_share_empty: float | None = threshold("Largest share of empty texts.", ge=0, le=1)


def pytest_modeltests_register_checks(registry):
    @registry.check("empty_texts", params=EmptyTextsParams, needs_model=False)
    def run(context, params):
        texts = context.dataset(params.dataset).texts
        share = sum(len(t.split()) < 2 for t in texts) / max(len(texts), 1)
        result = CheckResult(metrics={"share_empty": share}, sample_size=len(texts))
        result.thresholds = context.evaluate(result.metrics)
        return result
"""


def test_user_check_kind_runs_with_thresholds(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_CHECK)
    make_project(pytester, PASSING_SUITE + """  - kind: empty_texts
    dataset: dev
    max_share_empty: 0.2
  - kind: empty_texts
    name: strict
    dataset: dev
    max_share_empty: 0.05
""")
    result = pytester.runpytest("suites/", "-m", "empty_texts")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    result.stdout.fnmatch_lines([
        "empty_texts[[]strict] failed (suites/sentiment.yaml:19, n=8)",
        "  share_empty 0.125 > 0.050  [[]max_share_empty]",
    ])
    entry = checks_by_nodeid(read_report(pytester))["suites/sentiment.yaml::empty_texts[dev]"]
    assert entry["kind"] == "empty_texts" and entry["metrics"] == {"share_empty": 0.125}


def test_user_check_kind_parameters_are_validated(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_CHECK)
    make_project(pytester, PASSING_SUITE + "  - kind: empty_texts\n    dataset: dev\n"
                 "    max_share_empty: lots\n")
    result = pytester.runpytest("suites/")
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml:18: checks[[]2].max_share_empty: must be a number in [[]0, 1] "
        "(got 'lots')",
    ])
    result.assert_outcomes(passed=2, errors=1)


USER_ADAPTER = """
from typing import Literal
from modeltests import AdapterKind, AdapterParams, ModelAdapter, Predictions


class ConstantParams(AdapterParams):
    adapter: Literal["constant"] = "constant"
    answer: str = "positive"


class ConstantModel(ModelAdapter):
    def __init__(self, params):
        self.labels, self.answer = ["negative", "positive"], params.answer

    def predict(self, texts):
        return Predictions.from_labels([self.answer] * len(texts), self.labels)


def pytest_modeltests_register_adapters(registry):
    registry.add_adapter(AdapterKind("constant", ConstantParams,
                                     lambda params, ctx: ConstantModel(params)))
"""

CONSTANT_SUITE = """model:
  adapter: constant
  answer: negative
datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 0.3
  - kind: availability
    generated_examples: 0
"""


def test_user_adapter(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_ADAPTER)
    make_project(pytester, CONSTANT_SUITE)
    result = pytester.runpytest("suites/", "-v")
    result.assert_outcomes(passed=2)
    entry = checks_by_nodeid(read_report(pytester))["suites/sentiment.yaml::accuracy[dev]"]
    assert entry["metrics"]["accuracy"] == pytest.approx(5 / 8)


def test_user_adapter_parameters_are_validated(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(USER_ADAPTER)
    make_project(pytester, CONSTANT_SUITE.replace("  answer: negative", "  anwser: negative")
                 .replace("adapter: constant", "adapter: constnt"))
    result = pytester.runpytest("suites/")
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml:2: model.adapter: unknown model adapter 'constnt'; did you mean "
        "'constant'? (allowed: callable, constant, http, openai, timm, torch, transformers)",
    ])


SHARED_SUITE = PASSING_SUITE.replace("target: fakemodel:predict",
                                     "target: fakemodel:counted_factory\n  factory: true")

PLAIN_TEST = """
import fakemodel


def test_not_good_is_negative(modeltests):
    model = modeltests.model("suites/sentiment.yaml")
    assert model.predict(["good"]).labels == ["positive"]
    assert modeltests.predict("suites/sentiment.yaml", ["awful"]).labels == ["negative"]
    modeltests.record(handpicked_accuracy=1.0, n=2)


def test_same_model_object_as_the_checks(modeltests, request):
    from modeltests.plugin.state import runtime_of

    runtime = runtime_of(request.config)
    suite = modeltests.suite("suites/sentiment.yaml")
    assert modeltests.model("suites/sentiment.yaml") is runtime.models.model(suite)
    assert fakemodel.LOADS == [1]


def test_a_failing_assertion(modeltests):
    model = modeltests.model("suites/sentiment.yaml")
    assert model.predict(["not good at all"]).labels == ["negative"]
"""


def test_fixture_shares_the_loaded_model_and_reports(pytester: pytest.Pytester) -> None:
    make_project(pytester, SHARED_SUITE)
    pytester.makepyfile(test_sentiment_python=PLAIN_TEST)
    result = pytester.runpytest("suites/", "test_sentiment_python.py")
    result.assert_outcomes(passed=4, failed=1)
    assert (pytester.path / "loads.txt").read_text() == "load\n"  # once for checks and tests
    checks = checks_by_nodeid(read_report(pytester))
    entry = checks["test_sentiment_python.py::test_not_good_is_negative"]
    assert entry["kind"] == "python" and entry["outcome"] == "passed"
    assert entry["metrics"] == {"handpicked_accuracy": 1.0, "n": 2}
    assert entry["suite"] == "suites/sentiment.yaml"
    failed = checks["test_sentiment_python.py::test_a_failing_assertion"]
    assert failed["outcome"] == "failed" and "AssertionError" in failed["message"]
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml  accuracy[[]dev]  * PASS *",
        "suites/sentiment.yaml  test_not_good_is_negative  * PASS     handpicked_accuracy=1.000, n=2",
    ])


def test_fixture_with_a_bad_suite_path_is_a_clear_error(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makepyfile(test_x="""
def test_x(modeltests):
    modeltests.model("suites/nope.yaml")
""")
    result = pytester.runpytest("test_x.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SuiteError: suite file not found: *suites/nope.yaml*"])


COUNTING_MODEL = '''
SEEN = []


def predict(texts):
    SEEN.extend(texts)
    return [[0.2, 0.8] if ("good" in t or "great" in t) else [0.9, 0.1] for t in texts]
'''

REUSE_CONFTEST = '''
from modeltests import CheckParams, CheckResult


class Params(CheckParams):
    kind: str = "reuse"
    dataset: str


def pytest_modeltests_register_checks(registry):
    @registry.check("reuse", params=Params)
    def run(context, params):
        import counting

        before = len(counting.SEEN)
        texts = context.dataset(params.dataset).texts[:3] + ["a text of no dataset"]
        labels = context.predict(texts).labels
        ran_on = counting.SEEN[before:]
        return CheckResult(metrics={"model_calls_on_texts": len(ran_on)},
                           details={"ran_on": ran_on, "labels": labels})
'''


def test_context_predict_reuses_dataset_predictions(pytester: pytest.Pytester) -> None:
    """A check asking for texts the model already answered as part of a dataset does not run the
    model on them again; only the new text reaches the model."""
    make_project(pytester, suite=None)
    pytester.makepyfile(counting=COUNTING_MODEL)
    pytester.makeconftest(REUSE_CONFTEST)
    write_suite(pytester, "suites/reuse.yaml",
                CALLABLE_HEAD.replace("fakemodel:predict", "counting:predict")
                + "  - kind: accuracy\n    dataset: dev\n  - kind: reuse\n    dataset: dev\n")
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    reuse = checks_by_nodeid(read_report(pytester))["suites/reuse.yaml::reuse[dev]"]
    assert reuse["details"]["ran_on"] == ["a text of no dataset"]
    assert reuse["details"]["labels"] == ["positive", "positive", "positive", "negative"]
