"""The prediction cache as a user meets it: hits and misses in ``run.predictions``,
``--modeltests-no-cache``, ``--cache-clear``, and a damaged or unwritable cache (a warning naming
the path, predictions computed, never a crash, never a stale result).

The model is a user adapter that declares ``cache_predictions`` and names its weights file in
``source_files()``, the contract the ``transformers`` adapter keeps; it counts its ``predict``
calls in ``calls.txt``. Invalidation on a real transformers model is in
``tests/real/test_prediction_cache_real.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .helpers import DATA_CSV, PASSING_SUITE, make_project, read_report

CACHEABLE_ADAPTER = """
import json
from pathlib import Path
from typing import Literal
from modeltests import AdapterKind, AdapterParams, ModelAdapter, Predictions


class WordsParams(AdapterParams):
    adapter: Literal["words"] = "words"
    weights: str


class WordsModel(ModelAdapter):
    cache_predictions = True

    def __init__(self, params, context):
        self.path = context.resolve(params.weights)
        self.positive = json.loads(self.path.read_text())
        self.labels = ["negative", "positive"]

    def predict(self, texts):
        with open(Path(__file__).with_name("calls.txt"), "a") as handle:
            handle.write("predict\\n")
        rows = [[0.2, 0.8] if any(w in t for w in self.positive) else [0.9, 0.1] for t in texts]
        return Predictions.from_probabilities(rows, self.labels)

    def source_files(self):
        return [self.path]


def pytest_modeltests_register_adapters(registry):
    registry.add_adapter(AdapterKind("words", WordsParams, WordsModel))
"""

SUITE = """model:
  adapter: words
  weights: weights.json
datasets:
  dev:
    path: data.csv
checks:
  - kind: accuracy
    dataset: dev
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CACHEABLE_ADAPTER)
    suites = pytester.mkdir("suites")
    (suites / "data.csv").write_text(DATA_CSV)
    (suites / "weights.json").write_text('["good", "great"]')
    (suites / "sentiment.yaml").write_text(SUITE)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest("suites/", "-W", "always", *args)
    result.assert_outcomes(passed=1)
    document = read_report(pytester)
    return result, document


def calls(pytester: pytest.Pytester) -> int:
    path = pytester.path / "calls.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def source(document: dict[str, Any]) -> dict[str, Any]:
    (only,) = document["run"]["predictions"]
    return dict(only)


def accuracy(document: dict[str, Any]) -> float:
    return float(document["checks"][0]["metrics"]["accuracy"])


def test_second_run_reads_the_cache(project: pytest.Pytester) -> None:
    _, first = run(project)
    assert source(first)["cache"] == "miss" and source(first)["from_cache"] is False
    assert calls(project) == 1
    path = Path(source(first)["path"])
    assert path.parent == project.path / ".pytest_cache" / "d" / "modeltests-predictions"
    assert path.is_file()
    _, second = run(project)
    assert source(second) == {"suite": "suites/sentiment.yaml", "dataset": "dev", "model": None,
                              "rows": 8, "from_cache": True, "cache": "hit", "path": str(path)}
    assert calls(project) == 1
    assert accuracy(second) == accuracy(first) == 7 / 8
    html = (project.path / "reports" / "modeltests.html").read_text()
    assert "<h3>Predictions</h3>" in html
    assert "<td>the cache (hit)</td>" in html


def test_changed_weights_file_recomputes(project: pytest.Pytester) -> None:
    _, first = run(project)
    (project.path / "suites" / "weights.json").write_text('["good", "great", "bad"]')
    _, second = run(project)
    assert source(second)["cache"] == "miss" and calls(project) == 2
    assert accuracy(second) == 6 / 8 != accuracy(first)
    assert source(second)["path"] != source(first)["path"]


def test_no_cache_option_bypasses_it(project: pytest.Pytester) -> None:
    run(project)
    _, second = run(project, "--modeltests-no-cache")
    assert source(second) == {"suite": "suites/sentiment.yaml", "dataset": "dev", "model": None,
                              "rows": 8, "from_cache": False, "cache": "off",
                              "reason": "--modeltests-no-cache"}
    assert calls(project) == 2


def test_cache_clear_empties_it(project: pytest.Pytester) -> None:
    run(project)
    _, second = run(project, "--cache-clear")
    assert source(second)["cache"] == "miss" and calls(project) == 2


def test_callable_models_are_never_cached(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.runpytest("suites/")
    result = pytester.runpytest("suites/")
    result.assert_outcomes(passed=2)
    assert source(read_report(pytester))["cache"] == "not cacheable"
    assert "CallableModel does not declare deterministic predictions" in \
        source(read_report(pytester))["reason"]
    assert "callable" in PASSING_SUITE


def test_truncated_entry_warns_and_recomputes(project: pytest.Pytester) -> None:
    _, first = run(project)
    path = Path(source(first)["path"])
    path.write_bytes(path.read_bytes()[:40])
    result, second = run(project)
    result.stdout.fnmatch_lines([
        f"*PredictionCacheWarning: modeltests: ignoring the cached predictions {path}: *; "
        "they are computed again"])
    assert source(second)["cache"] == "miss" and calls(project) == 2
    assert accuracy(second) == accuracy(first)
    _, third = run(project)  # the damaged entry was replaced by a good one
    assert source(third)["cache"] == "hit" and calls(project) == 2


def test_wrong_format_version_is_never_read(project: pytest.Pytester) -> None:
    _, first = run(project)
    path = Path(source(first)["path"])
    with np.load(path) as entry:
        planted = {name: entry[name] for name in entry.files}
    planted["format"] = np.int64(0)
    planted["labels"] = np.array(["negative"] * 8)  # a stale answer that must not be used
    with open(path, "wb") as handle:
        np.savez(handle, **planted)
    result, second = run(project)
    result.stdout.fnmatch_lines([
        f"*PredictionCacheWarning: modeltests: ignoring the cached predictions {path}: format "
        "version 0, expected 1; they are computed again"])
    assert source(second)["cache"] == "miss" and accuracy(second) == 7 / 8


def test_cache_folder_that_is_a_file_warns(project: pytest.Pytester) -> None:
    folder = project.path / ".pytest_cache" / "d" / "modeltests-predictions"
    folder.parent.mkdir(parents=True)
    folder.write_text("not a folder")
    result, document = run(project)
    result.stdout.fnmatch_lines([
        f"*PredictionCacheWarning: modeltests: prediction cache unavailable (*{folder}*); "
        "predictions are computed"])
    assert source(document)["cache"] == "miss" and "path" not in source(document)
    assert accuracy(document) == 7 / 8


def test_unwritable_entry_warns_and_still_answers(project: pytest.Pytester) -> None:
    _, first = run(project)
    path = Path(source(first)["path"])
    path.unlink()
    path.mkdir()  # neither readable as an entry nor replaceable by one
    result, second = run(project)
    result.stdout.fnmatch_lines([
        f"*PredictionCacheWarning: modeltests: ignoring the cached predictions {path}: *",
        f"*PredictionCacheWarning: modeltests: cannot write the prediction cache {path.parent} "
        "(*); predictions are computed on every run"])
    assert source(second)["cache"] == "miss" and accuracy(second) == 7 / 8


def test_read_only_cache_folder_warns(project: pytest.Pytester) -> None:
    folder = project.path / ".pytest_cache" / "d" / "modeltests-predictions"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("")
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("this user (root) writes into read-only folders")
        result, document = run(project)
        result.stdout.fnmatch_lines([
            f"*PredictionCacheWarning: modeltests: cannot write the prediction cache {folder} "
            "(*); predictions are computed on every run"])
        assert source(document)["cache"] == "miss" and accuracy(document) == 7 / 8
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
    assert not os.path.exists(folder)


def test_api_keeps_predictions_in_the_modeltests_cache(project: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import modeltests

    monkeypatch.setenv("MODELTESTS_CACHE", str(project.path / "mtcache"))
    seen = []
    for cache in (True, True, False):
        with modeltests.Session(project.path, progress=False, cache=cache) as session:
            assert session.run("suites/sentiment.yaml").ok
            seen.append([p["cache"] for p in session.runtime.predictor.prediction_sources()])
    assert seen == [["miss"], ["hit"], ["off"]]
    assert calls(project) == 2
    assert len(list((project.path / "mtcache" / "predictions").glob("*.npz"))) == 1


def test_a_killed_writers_temporary_file_is_removed_by_the_next_run(
        project: pytest.Pytester) -> None:
    """A writer killed between creating its temporary file and renaming it (SIGKILL: no
    cleanup runs) leaves ``.<key>.npz.XXXXXXXX.npz`` behind; the next session removes it once
    it is an hour old (a younger one may be another session's write in progress)."""
    _, first = run(project)
    entry = Path(source(first)["path"])
    stale = entry.with_name(f".{entry.name}.k1ll3d_x.npz")
    young = entry.with_name(f".{entry.name}.wr1t1ng_.npz")
    for path in (stale, young):
        path.write_bytes(entry.read_bytes()[:40])
    hours_ago = stale.stat().st_mtime - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    _, second = run(project)
    assert source(second)["cache"] == "hit"
    assert not stale.exists() and young.exists() and entry.is_file()
