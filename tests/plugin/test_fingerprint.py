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
    assert fingerprint["datasets"] == [f"{data.resolve()}:{sha256(data)}"]
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
