"""``modeltests.run()``: the same checks, outcomes, metrics and messages as a pytest run's JSON.

Both go through one path (suite loader -> runner -> entries); these tests hold them together on
every outcome pytest knows: passed, failed, error (bad entry, model that does not load, bad
YAML), skipped and xfailed. Also: declared thresholds gate even when a check forgets to evaluate
them (the documented hook example), and the CLI sees conftest-registered kinds.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap

import pytest

import modeltests
from modeltests.extend import hookspecs

from .helpers import CALLABLE_HEAD, DATA_CSV, checks_by_nodeid, make_project, read_report, write_suite

CONFTEST = """
from modeltests import CheckParams, CheckResult, threshold


class SkipperParams(CheckParams):
    kind: str = "skipper"


class ForgetfulParams(CheckParams):
    kind: str = "forgetful"
    dataset: str
    max_share_short: float | None = threshold("Largest share of one-word texts.", ge=0, le=1)
    min_never_measured: float | None = threshold("A metric this check never returns.", ge=0)


def pytest_modeltests_register_checks(registry):
    @registry.check("skipper", params=SkipperParams, needs_model=False)
    def skip(context, params):
        return CheckResult(skip_reason="nothing to measure on this machine")

    @registry.check("forgetful", params=ForgetfulParams, needs_model=False)
    def forget(context, params):
        # Computes its metric but never calls context.evaluate: the runner must gate anyway.
        texts = context.dataset(params.dataset).texts
        share = sum(len(t.split()) < 2 for t in texts) / len(texts)
        return CheckResult(metrics={"share_short": share}, sample_size=len(texts))
"""

MIXED_SUITE = CALLABLE_HEAD + """  - kind: accuracy
    dataset: dev
    min_accuracy: 0.5
  - kind: accuracy
    name: strict
    dataset: dev
    min_accuracy: 0.95
    slices:
      - {name: food, column: topic, equals: food, min_accuracy: 0.9}
  - kind: accuracy
    name: goal
    dataset: dev
    min_accuracy: 0.99
    xfail: "the fake model misses negation"
  - kind: acuracy
    dataset: dev
  - kind: skipper
  - kind: forgetful
    dataset: dev
    max_share_short: 0.5
    min_never_measured: 0
"""

BROKEN_MODEL_SUITE = """model:
  adapter: callable
  target: fakemodel:no_such_function
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 0.5
"""

# Every entry field that does not depend on the clock.
COMPARED = ("nodeid", "suite", "kind", "name", "line", "outcome", "when", "metrics", "thresholds",
            "sample_size", "message", "examples", "details", "warnings", "intervals",
            "description", "headline", "waived")


def _project(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    make_project(pytester, MIXED_SUITE, name="mixed")
    write_suite(pytester, "suites/broken_model.yaml", BROKEN_MODEL_SUITE)
    write_suite(pytester, "suites/bad_yaml.yaml", "model: [unclosed\nchecks: {\n")


def test_run_gives_the_same_entries_as_the_pytest_json(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider")
    from_pytest = checks_by_nodeid(read_report(pytester))

    run = modeltests.run(pytester.path / "suites", rootdir=pytester.path)
    from_run = {check.entry["nodeid"]: check.entry for check in run.checks}

    assert sorted(from_run) == sorted(from_pytest)
    for nodeid, entry in from_pytest.items():
        # A JSON round trip makes tuples lists and NaN null, as the report file has them.
        ours = json.loads(json.dumps(from_run[nodeid], default=str))
        assert {k: ours.get(k) for k in COMPARED} == {k: entry.get(k) for k in COMPARED}, nodeid
    assert len(from_pytest) == 8


def test_every_outcome_is_represented(pytester: pytest.Pytester) -> None:
    _project(pytester)
    run = modeltests.run(pytester.path / "suites", rootdir=pytester.path)
    by_node = {check.entry["nodeid"]: check for check in run.checks}
    assert {k: c.outcome for k, c in by_node.items()} == {
        "suites/bad_yaml.yaml::suite": "error",
        "suites/broken_model.yaml::accuracy[dev]": "error",
        "suites/mixed.yaml::accuracy[dev]": "passed",
        "suites/mixed.yaml::accuracy[strict]": "failed",
        "suites/mixed.yaml::accuracy[goal]": "xfailed",
        "suites/mixed.yaml::acuracy[dev]": "error",
        "suites/mixed.yaml::skipper[4]": "skipped",
        "suites/mixed.yaml::forgetful[dev]": "failed",
    }
    assert not run.ok
    assert by_node["suites/mixed.yaml::accuracy[dev]"].metrics["accuracy"] == 0.875
    assert by_node["suites/mixed.yaml::acuracy[dev]"].message == (
        "suites/mixed.yaml:23: checks[3].kind: unknown check kind 'acuracy'; did you mean "
        "'accuracy'? (allowed: accuracy, adversarial, availability, behavior, calibration, "
        "choice, "
        "completion, corruption, coverage, degeneration, directional, entities, entity_invariance, "
        "footprint, forgetful, format, generation_robustness, invariance, latency, load, "
        "perplexity, property_search, pruning, quantization, regression, robustness, skipper)")
    assert by_node["suites/broken_model.yaml::accuracy[dev]"].message == (
        "suites/broken_model.yaml:1: model.target: module 'fakemodel' has no attribute "
        "'no_such_function'")


def test_select_and_lookup_by_name(pytester: pytest.Pytester) -> None:
    _project(pytester)
    run = modeltests.run("suites/mixed.yaml", select=["accuracy[st*]", "skipper"],
                         rootdir=pytester.path)
    assert [c.name for c in run] == ["accuracy[strict]", "skipper[4]"]
    assert run["accuracy[strict]"].outcome == "failed"
    assert run["accuracy[strict]"].result is not None
    with pytest.raises(KeyError, match="no check 'accuracy\\[dev\\]' in this run"):
        run["accuracy[dev]"]


def test_a_forgotten_threshold_still_gates_and_a_missing_metric_fails(
        pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest("suites/mixed.yaml", "-k", "forgetful", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, deselected=5)
    result.stdout.fnmatch_lines([
        "forgetful[[]dev] failed (suites/mixed.yaml:26, n=8)",
        "  never_measured n/a < 0.000 (not measured: the check returned no 'never_measured' "
        "metric)  [[]min_never_measured]",
    ])
    entry = checks_by_nodeid(read_report(pytester))["suites/mixed.yaml::forgetful[dev]"]
    assert [(t["key"], t["held"]) for t in entry["thresholds"]] == [
        ("max_share_short", True), ("min_never_measured", False)]


def _documented_example() -> str:
    """The conftest.py example in the register_checks hook's docstring, as a user copies it."""
    doc = inspect.getdoc(hookspecs.pytest_modeltests_register_checks) or ""
    return textwrap.dedent(doc.split("Example (``conftest.py``)::", 1)[1])


def test_the_documented_hook_example_gates(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_documented_example())
    make_project(pytester, CALLABLE_HEAD + """  - kind: empty_texts
    dataset: dev
    max_share_empty: 0.0
""")
    (pytester.path / "suites" / "data.csv").write_text(DATA_CSV + '" ",negative,film\n')
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["empty_texts[[]dev] failed (suites/sentiment.yaml:9, n=9)",
                                "  share_empty 0.111 > 0.000  [[]max_share_empty]"])


def test_cli_kinds_and_schema_include_conftest_kinds(pytester: pytest.Pytester) -> None:
    _project(pytester)
    kinds = subprocess.run([sys.executable, "-m", "modeltests", "kinds"], cwd=pytester.path,
                           capture_output=True, text=True, check=True).stdout
    assert "  skipper " in kinds and "  forgetful " in kinds and "  accuracy " in kinds
    schema = subprocess.run([sys.executable, "-m", "modeltests", "schema"], cwd=pytester.path,
                            capture_output=True, text=True, check=True).stdout
    assert "check_forgetful" in json.loads(schema)["$defs"]


def test_cli_run_prints_each_check_and_exits_like_pytest(pytester: pytest.Pytester) -> None:
    _project(pytester)
    done = subprocess.run([sys.executable, "-m", "modeltests", "run", "suites/mixed.yaml",
                           "-k", "accuracy", "--json", "out.json"], cwd=pytester.path,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "suites/mixed.yaml::accuracy[dev] PASSED  accuracy 0.875 >= 0.500 (95% CI 0.529 to 0.978)",
        "suites/mixed.yaml::accuracy[strict] FAILED  accuracy 0.875 < 0.950 (95% CI 0.529 to "
        "0.978); food accuracy 0.667 < 0.900 (95% CI 0.208 to 0.939)",
        "suites/mixed.yaml::accuracy[goal] XFAILED  accuracy 0.875 < 0.990 (95% CI 0.529 to "
        "0.978)",
        "modeltests: wrote out.json",
    ]
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["summary"] == {"passed": 1, "failed": 1, "xfailed": 1, "undecided": 1}


BUGGY = """
from modeltests import CheckParams, CheckResult


class BuggyParams(CheckParams):
    kind: str = "buggy"


def helper(texts):
    return texts["first"]  # a TypeError: lists take integer indices


def pytest_modeltests_register_checks(registry):
    @registry.check("buggy", params=BuggyParams, needs_model=False)
    def run(context, params):
        return helper(["a"])
"""


def test_an_unexpected_exception_is_one_short_message_saying_whose_code(
        pytester: pytest.Pytester) -> None:
    pytester.makeconftest(BUGGY)
    make_project(pytester, CALLABLE_HEAD + "  - kind: buggy\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    conftest = pytester.path / "conftest.py"
    result.stdout.fnmatch_lines([
        "buggy[[]0]: internal error: TypeError: list indices must be integers or slices, "
        "not str",
        f"  raised by code outside modeltests ({conftest}:9)",
        f"  at {conftest}:15 in run: return helper([[]\"a\"])",
        f"  at {conftest}:9 in helper: return texts[[]\"first\"]  # a TypeError: *",
    ])
    output = result.stdout.str()
    assert "pluggy/" not in output and "_pytest/" not in output and "Traceback" not in output
    entry = read_report(pytester)["checks"][0]
    assert entry["message"].count("\n") == 3
    assert modeltests.run("suites/sentiment.yaml", rootdir=pytester.path).checks[0].message \
        == entry["message"]
