"""The ``modeltests`` command: ``validate`` (every problem located, no model, no torch),
``report`` (re-render), ``compare`` (what changed between runs) and ``init --no-measure``
(a starter suite from a model's config and a data file). ``init`` with its measured run is in
``tests/real/test_cli_init.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import CALLABLE_HEAD, PASSING_SUITE, make_project, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPOSITORY = Path(__file__).resolve().parents[2]

BAD = CALLABLE_HEAD + """  - kind: acuracy
    dataset: dev
  - kind: accuracy
    dataset: dev
    slices:
      - {name: mobile, column: source, equals: app}
  - kind: invariance
    dataset: dev
    perturbations: [typos]
    min_pass_rate: 1.5
"""

VALIDATE = """
import sys
from modeltests.cli import main
code = main(["validate", *sys.argv[1:]])
heavy = sorted(m for m in ("torch", "transformers", "textattack") if m in sys.modules)
print("heavy modules imported:", heavy)
raise SystemExit(code)
"""


def _modeltests(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPOSITORY), str(cwd)]))
    return subprocess.run([sys.executable, "-m", "modeltests", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_validate_reports_every_problem_without_importing_torch(
        pytester: pytest.Pytester) -> None:
    make_project(pytester)
    write_suite(pytester, "suites/bad.yaml", BAD)
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    done = subprocess.run([sys.executable, "-c", VALIDATE, "suites/"], cwd=pytester.path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "suites/bad.yaml:9: checks[0].kind: unknown check kind 'acuracy'; did you mean "
        "'accuracy'? (allowed: accuracy, adversarial, availability, behavior, calibration, "
        "choice, "
        "completion, corruption, coverage, degeneration, directional, entities, entity_invariance, "
        "footprint, format, generation_robustness, invariance, latency, load, perplexity, "
        "property_search, pruning, quantization, regression, robustness)",
        "suites/bad.yaml:18: checks[2].min_pass_rate: must be a number in [0, 1] (got 1.5)",
        "suites/bad.yaml:14: slice 'mobile': column 'source' not in dataset 'dev' (columns: "
        "text, label, topic)",
        "power: suites/sentiment.yaml:10: accuracy[dev]: accuracy: passes 80% of runs only at "
        "a true value >= 0.896 (n=8); a true 0.520 would need about n=4,896",
        "modeltests: 2 suite(s), 5 check(s): 3 problem(s)",
        "heavy modules imported: []",
    ]


def test_validate_passes_a_good_suite(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    done = _modeltests(pytester.path, "validate", "suites/sentiment.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    # Power before any run (issue 26): 7 of 8 is the fewest right answers whose Wilson lower
    # bound reaches 0.5, and a binomial of 8 reaches 7 with probability 0.8 at a rate of 0.896.
    assert done.stdout.splitlines() == [
        "power: suites/sentiment.yaml:10: accuracy[dev]: accuracy: passes 80% of runs only at a "
        "true value >= 0.896 (n=8); a true 0.520 would need about n=4,896",
        "modeltests: 1 suite(s), 2 check(s): no problems"]


def test_report_rerenders_the_html_of_a_results_file(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    done = _modeltests(pytester.path, "report", "reports/modeltests.json", "-o", "again.html")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "modeltests: wrote again.html\n"
    html = (pytester.path / "again.html").read_text()
    assert "accuracy[dev]" in html and "Confusion matrix" in html
    missing = _modeltests(pytester.path, "report", "nothing.json")
    assert missing.returncode == 2
    assert missing.stderr.startswith("modeltests: error: cannot read nothing.json:")


def test_compare_says_what_changed_between_two_runs(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "a.json")
    (pytester.path / "suites" / "sentiment.yaml").write_text(
        PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.9"))
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "b.json")
    done = _modeltests(pytester.path, "compare", "a.json", "b.json")
    assert done.returncode == 1, done.stderr  # a check that passed fails now
    lines = done.stdout.splitlines()
    suite_digests = [_suite_digest(pytester.path / name) for name in ("a.json", "b.json")]
    assert lines[:12] == [
        "modeltests: A = a.json, B = b.json",
        "gate weakened: no change",
        "gate tightened or added:",
        "  suites/sentiment.yaml::accuracy[dev]: min_accuracy tightened 0.500 -> 0.900",
        "fingerprints:",
        f"  suite suites/sentiment.yaml: sha256 {suite_digests[0]} -> {suite_digests[1]}",
        f"  run fingerprint: sha256 {_run_digest(pytester.path / 'a.json')} -> "
        f"{_run_digest(pytester.path / 'b.json')}",
        "setup: no change",
        "verdicts:",
        "  suites/sentiment.yaml::accuracy[dev]: passed -> failed",
        "  suites/sentiment.yaml::accuracy[dev]: min_accuracy no longer holds (0.875 -> 0.875, "
        "limit 0.900)",
        "metrics beyond noise (95% intervals): no change",
    ]


def test_compare_exits_3_when_a_threshold_was_deleted(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    (pytester.path / "suites" / "sentiment.yaml").write_text(
        PASSING_SUITE.replace("min_accuracy: 0.5", "min_accuracy: 0.9"))
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "a.json")
    (pytester.path / "suites" / "sentiment.yaml").write_text(
        PASSING_SUITE.replace("    min_accuracy: 0.5\n", ""))
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "b.json",
                       "--modeltests-html", "b.html", "--modeltests-previous", "a.json")
    done = _modeltests(pytester.path, "compare", "a.json", "b.json")
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "modeltests: A = a.json, B = b.json",
        "GATE WEAKENED (1): B lets through what A did not check or stopped",
        "  suites/sentiment.yaml::accuracy[dev]: min_accuracy removed (was 0.900)",
        "gate tightened or added: no change",
    ]
    assert "  suites/sentiment.yaml::accuracy[dev]: failed -> passed" in lines
    assert lines[-1] == ("modeltests: the gate was weakened (1 change(s)): exit 3; if this is "
                         "intended, run again with --allow-weakened")
    accepted = _modeltests(pytester.path, "compare", "a.json", "b.json", "--allow-weakened")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.splitlines()[-1] == (
        "modeltests: the gate was weakened (1 change(s)), accepted by --allow-weakened")
    html = (pytester.path / "b.html").read_text()
    assert ("<strong>Gate weakened since a.json: 1 change(s)</strong>\n    <ul><li>"
            "suites/sentiment.yaml::accuracy[dev]: min_accuracy removed (was 0.900)</li></ul>"
            in html)
    assert json.loads((pytester.path / "b.json").read_text())["run"]["undecided_policy"] == "fail"
    rendered = _modeltests(pytester.path, "report", "b.json", "--previous", "a.json")
    assert rendered.returncode == 0, rendered.stderr
    assert "Gate weakened since a.json: 1 change(s)" in (pytester.path / "b.html").read_text()
    missing = pytester.runpytest("suites/", "-p", "no:cacheprovider",
                                 "--modeltests-previous", "nothing.json")
    missing.stderr.fnmatch_lines(["ERROR: --modeltests-previous: cannot read nothing.json: *"])


def _suite_digest(path: Path) -> str:
    document = json.loads(path.read_text())
    return str(document["run"]["fingerprint"]["suites"]["suites/sentiment.yaml"])[:12]


def _run_digest(path: Path) -> str:
    return str(json.loads(path.read_text())["run"]["fingerprint"]["sha256"])[:12]


def test_init_writes_a_starter_suite_from_config_and_data(pytester: pytest.Pytester) -> None:
    model = pytester.mkdir("my-model")
    (model / "config.json").write_text(json.dumps({"id2label": {"0": "NEG", "1": "POS"}}))
    (pytester.path / "reviews.csv").write_text(
        "id,review,stars\n" + "".join(f"{i},a {'good' if i % 2 else 'bad'} film number {i},"
                                      f"{i % 2}\n" for i in range(40)))
    done = _modeltests(pytester.path, "init", "my-model", "reviews.csv", "--no-measure")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "modeltests: labels of my-model: NEG, POS",
        "modeltests: reviews.csv: text column 'review', label column 'stars', label_map "
        "{0: 'NEG', 1: 'POS'}",
        "modeltests: wrote suites/my-model.yaml; run it with: pytest suites/my-model.yaml",
    ]
    text = (pytester.path / "suites" / "my-model.yaml").read_text()
    assert "  path: ../my-model\n" in text and "    path: ../reviews.csv\n" in text
    assert "    text_column: review\n    label_column: stars\n" in text
    assert "    label_map: {0: NEG, 1: POS}\n" in text
    kinds = {"availability", "accuracy", "robustness", "invariance", "property_search",
             "quantization", "pruning", "directional", "behavior", "latency"}
    assert all(f"- kind: {kind}\n" in text for kind in kinds)
    assert "  # - kind: directional\n" in text  # needs the meaning of the labels: commented
    validated = _modeltests(pytester.path, "validate", "suites/my-model.yaml")
    assert validated.returncode == 0, validated.stdout
    again = _modeltests(pytester.path, "init", "my-model", "reviews.csv", "--no-measure")
    assert again.returncode == 2
    assert "suites/my-model.yaml exists: choose another path with -o" in again.stderr


def test_compare_validates_its_input_and_keeps_exit_codes_apart(
        pytester: pytest.Pytester) -> None:
    """Issue 25, case 3: 0 no regression, 1 regression, 2 bad usage or input (valid JSON of
    the wrong shape, another format version, runs of different suites), 3 nothing to compare."""
    make_project(pytester)
    pytester.runpytest("suites/", "-p", "no:cacheprovider", "--modeltests-json", "a.json")
    document = json.loads((pytester.path / "a.json").read_text())
    files = {
        "shape.json": {"format_version": 1, "checks": {"not": "a list"}},
        "list.json": [1, 2],
        "future.json": {**document, "format_version": 99},
        "other.json": {**document, "checks": [{**c, "suite": "suites/other.yaml",
                                               "nodeid": c["nodeid"].replace("sentiment", "other")}
                                              for c in document["checks"]]},
        "empty.json": {**document, "checks": []},
    }
    for name, content in files.items():
        (pytester.path / name).write_text(json.dumps(content))
    same = _modeltests(pytester.path, "compare", "a.json", "a.json")
    assert same.returncode == 0, same.stderr
    expected = {
        "shape.json": "modeltests: error: shape.json: 'checks' must be a list (got dict)",
        "list.json": "modeltests: error: list.json is not a modeltests JSON results file (a "
                     "list, not an object)",
        "future.json": "modeltests: error: future.json has format_version 99; this modeltests "
                       "reads 1 (compare files written by the same modeltests version)",
        "other.json": "modeltests: error: A and B ran different suites (A: "
                      "suites/sentiment.yaml; B: suites/other.yaml): compare two runs of the "
                      "same suites",
    }
    for name, message in expected.items():
        done = _modeltests(pytester.path, "compare", "a.json", name)
        assert (done.returncode, done.stderr.strip()) == (2, message)
        assert "Traceback" not in done.stderr
    empty = _modeltests(pytester.path, "compare", "a.json", "empty.json")
    assert empty.returncode == 4
    assert empty.stdout.splitlines()[-1] == ("modeltests: nothing to compare: no check ran in "
                                             "both A and B")
