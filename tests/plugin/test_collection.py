"""Collection: one item per check, readable ids, markers, -k, reportinfo, which YAML is a suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import DATA_CSV, PASSING_SUITE, lit, make_project, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]


def test_one_item_per_check_with_readable_ids(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("--collect-only", "-q", "suites/")
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml::accuracy[dev]",
        "suites/sentiment.yaml::availability[smoke]",
        "2 tests collected in *",
    ])
    assert result.ret == 0


def test_unnamed_checks_are_labelled_by_dataset_then_index_and_duplicates_stay_unique(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, PASSING_SUITE + """  - kind: availability
    generated_examples: 0
  - kind: accuracy
    dataset: dev
""")
    result = pytester.runpytest("--collect-only", "-q", "suites/")
    result.stdout.fnmatch_lines([
        "suites/sentiment.yaml::accuracy[dev]",
        "suites/sentiment.yaml::availability[smoke]",
        "suites/sentiment.yaml::availability[2]",
        "suites/sentiment.yaml::accuracy[dev-2]",
        "4 tests collected in *",
    ])


def test_marker_per_kind_selects_checks(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("suites/", "-m", "accuracy", "-v")
    result.stdout.fnmatch_lines([lit("suites/sentiment.yaml::accuracy[dev] PASSED") + "*"])
    result.assert_outcomes(passed=1, deselected=1)
    result = pytester.runpytest("suites/", "-m", "availability", "-v")
    result.stdout.fnmatch_lines([lit("suites/sentiment.yaml::availability[smoke] PASSED") + "*"])
    result.assert_outcomes(passed=1, deselected=1)


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([
        "@pytest.mark.modeltests: every check collected from a suite file",
        "@pytest.mark.accuracy: accuracy checks (*)",
        "@pytest.mark.availability: availability checks (*)",
    ])
    result = pytester.runpytest("--strict-markers", "suites/", "-m", "accuracy")
    result.assert_outcomes(passed=1, deselected=1)


def test_k_selection(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("suites/", "-k", "smoke", "-v")
    result.stdout.fnmatch_lines([lit("suites/sentiment.yaml::availability[smoke] PASSED") + "*"])
    result.assert_outcomes(passed=1, deselected=1)
    result = pytester.runpytest("suites/", "-k", "sentiment and dev")
    result.assert_outcomes(passed=1, deselected=1)


def test_reportinfo_points_at_the_checks_yaml_line(pytester: pytest.Pytester) -> None:
    root = make_project(pytester)
    items, _ = pytester.inline_genitems("suites/")
    assert [item.nodeid for item in items] == ["suites/sentiment.yaml::accuracy[dev]",
                                               "suites/sentiment.yaml::availability[smoke]"]
    suite = root / "suites" / "sentiment.yaml"
    # reportinfo's line is 0-based, as pytest's own: "- kind: accuracy" is line 10 of the file.
    assert items[0].reportinfo() == (suite, 9, "accuracy[dev] (accuracy check)")
    assert items[1].reportinfo() == (suite, 12, "availability[smoke] (availability check)")
    assert items[0].location == ("suites/sentiment.yaml", 9, "accuracy[dev] (accuracy check)")
    lines = suite.read_text().splitlines()
    assert lines[9] == "  - kind: accuracy" and lines[12] == "  - kind: availability"
    assert {m.name for m in items[0].iter_markers()} >= {"accuracy", "modeltests"}


def test_failure_header_names_the_check_and_message_its_line(pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.95"))
    result = pytester.runpytest("suites/", "-m", "accuracy")
    result.stdout.fnmatch_lines([
        "_*_ " + lit("accuracy[dev] (accuracy check)") + " _*_",
        "accuracy[dev] failed (suites/sentiment.yaml:10, n=8)",
    ])


def test_yaml_passed_directly_is_collected_anywhere(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    (pytester.path / "elsewhere").mkdir()
    (pytester.path / "elsewhere" / "data.csv").write_text(DATA_CSV)
    write_suite(pytester, "elsewhere/gate.yml", PASSING_SUITE)
    result = pytester.runpytest("elsewhere/gate.yml", "-v")
    result.stdout.fnmatch_lines([
        lit("elsewhere/gate.yml::accuracy[dev] PASSED") + "*",
        lit("elsewhere/gate.yml::availability[smoke] PASSED") + "*",
    ])
    result.assert_outcomes(passed=2)


def test_yaml_outside_suites_is_not_collected_from_a_directory(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    (pytester.path / "elsewhere").mkdir()
    (pytester.path / "elsewhere" / "data.csv").write_text(DATA_CSV)
    write_suite(pytester, "elsewhere/gate.yaml", PASSING_SUITE)
    result = pytester.runpytest("--collect-only", "-q", ".")
    result.stdout.fnmatch_lines(["suites/sentiment.yaml::accuracy[dev]",
                                 "suites/sentiment.yaml::availability[smoke]",
                                 "2 tests collected in *"])
    assert "elsewhere/gate.yaml::" not in result.stdout.str()  # not collected, only named:
    result.stdout.fnmatch_lines(["modeltests: elsewhere/gate.yaml look(s) like suites but were "
                                 "not collected: *"])


def test_suite_dirs_ini_option(pytester: pytest.Pytester) -> None:
    make_project(pytester, suite=None)
    (pytester.path / "gates").mkdir()
    (pytester.path / "gates" / "data.csv").write_text(DATA_CSV)
    write_suite(pytester, "gates/model.yaml", PASSING_SUITE)
    pytester.makeini("[pytest]\nmodeltests_suite_dirs = gates\n")
    result = pytester.runpytest("--collect-only", "-q", ".")
    result.stdout.fnmatch_lines(["gates/model.yaml::accuracy[dev]", "2 tests collected in *"])


def test_non_suite_yaml_under_suites_is_ignored(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    write_suite(pytester, "suites/config.yaml", "retries: 3\nowner: ml-platform\n")
    write_suite(pytester, "suites/list.yml", "- one\n- two\n")
    write_suite(pytester, "suites/empty.yaml", "")
    write_suite(pytester, "suites/.github/workflow.yaml", "on: push\njobs: {}\n")
    result = pytester.runpytest("suites/")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert "config.yaml" not in result.stdout.str()
    assert "list.yml" not in result.stdout.str()


def test_non_suite_yaml_passed_directly_is_an_error_not_a_crash(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    write_suite(pytester, "config.yaml", "retries: 3\n")
    result = pytester.runpytest("config.yaml", "suites/")
    result.stdout.fnmatch_lines([
        "config.yaml:1: not a modeltests suite: a suite is a mapping with the keys "
        "'model' and 'checks'",
    ])
    result.assert_outcomes(passed=2, errors=1)


HEAVY = ("torch", "transformers", "textattack")

_PROBE = """
import sys, pytest
code = pytest.main({args!r})
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print("EXIT", int(code))
print("HEAVY", heavy)
"""


def _heavy_modules_after(args: list[str], cwd: Path) -> tuple[str, list[str]]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-c", _PROBE.format(args=args, heavy=set(HEAVY))],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    heavy = next(line for line in lines if line.startswith("HEAVY"))
    return done.stdout, json.loads(heavy[len("HEAVY "):].replace("'", '"'))


def test_collect_only_and_help_import_no_heavy_library(pytester: pytest.Pytester) -> None:
    """The repository's own demo suite and a transformers suite, collected in a fresh process."""
    make_project(pytester, suite=None)
    shutil.copy(REPO / "suites" / "sentiment.yaml", pytester.path / "suites" / "demo.yaml")
    shutil.copy(REPO / "conftest.py", pytester.path / "conftest.py")  # registers label_balance
    (pytester.path / "suites" / "data").mkdir()
    (pytester.path / "suites" / "data" / "sentiment_eval.csv").write_text(DATA_CSV)
    (pytester.path / "model").mkdir()
    write_suite(pytester, "suites/local.yaml", """model:
  adapter: transformers
  path: ../model
datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
  - kind: availability
""")
    output, heavy = _heavy_modules_after(["--collect-only", "-q", "-p", "no:cacheprovider",
                                          "suites/"], pytester.path)
    assert "suites/demo.yaml::accuracy[eval]" in output
    assert "suites/demo.yaml::label_balance[" in output
    assert "suites/local.yaml::availability[1]" in output
    assert "EXIT 0" in output, output
    assert heavy == []
    output, heavy = _heavy_modules_after(["--help"], pytester.path)
    assert "--modeltests-json=PATH" in output
    assert heavy == []


def test_a_run_says_first_which_builtin_models_it_builds_and_about_how_long(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: a first run on an empty cache spends minutes building models; it says so
    before the first check, a line per model not built yet (a built one is not listed)."""
    cache = pytester.path / "cache"
    monkeypatch.setenv("MODELTESTS_CACHE", str(cache))
    built = cache / "models" / "ner-tiny-v3"
    built.mkdir(parents=True)
    (built / "BUILD_OK.json").write_text('{"recipe": "ner-tiny-v3"}')
    pytester.mkdir("suites")
    for name in ("sentiment-minilm", "nli-tiny", "ner-tiny", "gpt-tiny"):
        (pytester.path / "suites" / f"{name}.yaml").write_text(
            f"model:\n  adapter: transformers\n  path: builtin:{name}\nchecks:\n"
            "  - kind: availability\n")
    result = pytester.runpytest("suites/", "--collect-only", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "collected 4 items",
        f"modeltests: this run first builds 3 built-in model(s) into {cache}/models (once; "
        "later runs reuse them; times are for two quiet cores; on a busy machine a build can "
        "take 5x longer):",
        "  builtin:gpt-tiny          about 1 min (trains a GPT-2 on one thread)",
        "  builtin:nli-tiny          under a minute",
        "  builtin:sentiment-minilm  about 2-3 min (fine-tunes MiniLM-L6)",
    ])
    assert "builtin:ner-tiny " not in result.stdout.str()
