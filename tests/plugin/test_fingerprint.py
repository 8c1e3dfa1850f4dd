"""``run.fingerprint``: digests of the suite files, models and dataset files read, with one
``sha256`` over them; an unchanged rerun keeps it, one changed byte anywhere moves it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from .helpers import PASSING_SUITE, make_project, read_report

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(pytester: pytest.Pytester) -> dict[str, Any]:
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    document: dict[str, Any] = read_report(pytester)
    return document


def test_the_fingerprint_names_every_input_and_moves_with_each(pytester: pytest.Pytester
                                                               ) -> None:
    root = make_project(pytester, PASSING_SUITE)
    first = run(pytester)["run"]
    fingerprint = first["fingerprint"]
    suite, data, model = root / "suites/sentiment.yaml", root / "suites/data.csv", \
        root / "fakemodel.py"
    assert fingerprint["suites"] == {"suites/sentiment.yaml": sha256(suite)}
    assert fingerprint["datasets"] == [sha256(data)]
    [loaded] = first["models"]
    assert loaded["fingerprint"]["files"] == {str(model.resolve()): sha256(model)}
    assert loaded["fingerprint"]["files_known"] is True
    assert fingerprint["models"] == [loaded["fingerprint"]["sha256"]]
    assert run(pytester)["run"]["fingerprint"]["sha256"] == fingerprint["sha256"]

    model.write_text(model.read_text() + "\n# one more line\n")
    moved = run(pytester)["run"]
    assert moved["fingerprint"]["models"] != fingerprint["models"]
    assert moved["fingerprint"]["sha256"] != fingerprint["sha256"]

    data.write_text(data.read_text().replace("boring,negative", "boring,positive"))
    pytester.runpytest("suites/", "-p", "no:cacheprovider")
    relabelled = read_report(pytester)["run"]["fingerprint"]
    assert relabelled["datasets"] != moved["fingerprint"]["datasets"]
    assert relabelled["sha256"] != moved["fingerprint"]["sha256"]


def test_each_check_records_its_torch_threads_and_the_html_shows_the_fingerprint(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, PASSING_SUITE)
    document = run(pytester)
    for entry in document["checks"]:
        assert "torch_threads" in entry
    html = (pytester.path / "reports/modeltests.html").read_text()
    assert f"{document['run']['fingerprint']['sha256'][:16]}…" in html
    assert "<th>rule</th><th>state</th>" in html


RULES_MODEL = """from rules import score


def predict(texts):
    return [[1 - score(t), score(t)] for t in texts]
"""

RULES = """from helpers.words import POSITIVE


def score(text):
    return 0.9 if any(word in text for word in POSITIVE) else 0.1
"""


def test_a_module_the_callable_imports_moves_the_fingerprint(pytester: pytest.Pytester) -> None:
    # Issue 26: an edit to a module the callable imports changed accuracy with an identical
    # fingerprint. The project modules it imports, transitively, are fingerprinted.
    root = make_project(pytester, PASSING_SUITE)
    pytester.makepyfile(fakemodel=RULES_MODEL, rules=RULES)
    (root / "helpers").mkdir()
    (root / "helpers/__init__.py").write_text("")
    words = root / "helpers/words.py"
    words.write_text('POSITIVE = ("good", "great")\n')
    first = run(pytester)["run"]
    [loaded] = first["models"]
    assert sorted(loaded["fingerprint"]["files"]) == sorted(
        str((root / name).resolve()) for name in ("fakemodel.py", "rules.py", "helpers/words.py"))
    words.write_text('POSITIVE = ("good", "great", "fine")\n')
    moved = run(pytester)["run"]["fingerprint"]
    assert moved["models"] != first["fingerprint"]["models"]
    assert moved["sha256"] != first["fingerprint"]["sha256"]


def test_the_same_data_in_another_folder_has_the_same_fingerprint(pytester: pytest.Pytester
                                                                  ) -> None:
    root = make_project(pytester, PASSING_SUITE)
    first = run(pytester)["run"]["fingerprint"]
    (root / "suites/copy").mkdir()
    (root / "suites/copy/data.csv").write_bytes((root / "suites/data.csv").read_bytes())
    suite = root / "suites/sentiment.yaml"
    suite.write_text(suite.read_text().replace("path: data.csv", "path: copy/data.csv"))
    moved = run(pytester)["run"]["fingerprint"]
    assert moved["datasets"] == first["datasets"]
    assert moved["suites"] != first["suites"]  # the suite file itself changed
