"""``quantization`` / ``pruning`` on a text generator as a user sees it: the token-level
figures (per-token KL, next-token agreement, perplexity ratio) and the exact-match drop of
greedy answers against another model of the suite (``compare_to``), and the located errors for
thresholds that do not apply to a generator.

The generators are a user's own :class:`TextGenerator` registered from ``conftest.py``: a
word-level "next word in a fixed cycle" model whose distributions a ``noise`` parameter bends.
These tests are about the plugin; real quantization of a real language model lives in
``tests/real/test_generator_compression.py``.
"""

from __future__ import annotations

import math
import os

import pytest

from .helpers import CYCLE_GENERATOR as CONFTEST
from .helpers import checks_by_nodeid, read_report, run_suite_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")


DOCUMENTS = "text,label\n" + "".join(
    f"{' '.join(words)},doc\n" for words in (
        "the cat sat on a mat".split(), "a mat and then it ran".split(),
        "it ran far away the cat".split(), "the cat ran far".split(),
        "on a mat and then".split(), "sat on the mat".split()))
PROMPTS = "text,label\nthe cat,sat\non a,mat\nthen it,ran\nfar away,the\nsat on,a\n"

HEADER = """model:
  adapter: cycle
models:
  same:
    adapter: cycle
  bent:
    adapter: cycle
    noise: 3.0
datasets:
  docs:
    path: docs.csv
  qa:
    path: qa.csv
checks:
"""  # checks[0] starts on line 15


def run_suite(pytester: pytest.Pytester, checks: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "docs.csv").write_text(DOCUMENTS)
    (pytester.path / "suites" / "qa.csv").write_text(PROMPTS)
    return run_suite_text(pytester, "suites/q.yaml", HEADER + checks, "-v")


def test_identical_generator_holds_and_a_bent_one_fails(pytester: pytest.Pytester) -> None:
    check = ("  - kind: quantization\n    name: {name}\n    dataset: docs\n    prompts: qa\n"
             "    max_new_tokens: 1\n    compare_to: {name}\n    max_mean_kl: 0.05\n"
             "    min_agreement: 0.9\n    max_perplexity_ratio: 1.1\n"
             "    max_accuracy_drop: 0.5\n    speed_examples: 0\n")
    result = run_suite(pytester, check.format(name="same") + check.format(name="bent"))
    result.stdout.fnmatch_lines(["*quantization?same? PASSED*", "*quantization?bent? FAILED*"])
    checks = checks_by_nodeid(read_report(pytester))
    same = checks["suites/q.yaml::quantization[same]"]
    bent = checks["suites/q.yaml::quantization[bent]"]
    assert same["metrics"]["mean_kl"] == pytest.approx(0.0, abs=1e-6)
    assert same["metrics"]["agreement"] == 1.0
    assert same["metrics"]["perplexity_ratio"] == pytest.approx(1.0)
    assert same["metrics"]["accuracy_reference"] == 1.0
    assert same["metrics"]["accuracy_drop"] == 0.0
    assert same["details"]["documents"] == 6
    assert same["details"]["tokens"] == sum(len(r.split(",")[0].split()) - 1
                                            for r in DOCUMENTS.splitlines()[1:])
    failed = {t["metric"] for t in bent["thresholds"] if not t["held"]}
    assert {"mean_kl", "agreement", "perplexity_ratio"} <= failed
    assert bent["metrics"]["perplexity_ratio"] > 1.1
    low, high = bent["intervals"]["perplexity_ratio"]
    assert low <= bent["metrics"]["perplexity_ratio"] <= high
    assert math.isfinite(bent["metrics"]["mean_kl"])
    # the worst documents by KL per token, and the prompts whose answer changed, are examples
    assert any("mean_kl" in e for e in bent["examples"])
    assert any(e.get("change") == "broke" for e in bent["examples"])


def test_label_thresholds_are_refused_for_a_generator(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: docs\n"
                                 "    compare_to: bent\n    min_batch_agreement: 0.9\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:18: checks[[]0].min_batch_agreement: does not apply to a text generator "
        "(it measures labels per text); use max_mean_kl, min_agreement, max_perplexity_ratio, "
        "max_accuracy_drop (with prompts), min_speedup or max_size_ratio",
    ])
    result.assert_outcomes(failed=0, passed=0, errors=1)


def test_accuracy_drop_needs_prompts(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: docs\n"
                                 "    compare_to: bent\n    max_accuracy_drop: 0.1\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:18: checks[[]0].max_accuracy_drop: needs 'prompts' (a dataset of prompts "
        "with expected answers) for a text generator: the accuracy is the exact match of "
        "greedy answers",
    ])
    result.assert_outcomes(errors=1)


def test_float_head_needs_an_int8_scheme(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "  - kind: quantization\n    dataset: docs\n"
                                 "    scheme: bf16\n    float_head: true\n")
    result.stdout.fnmatch_lines([
        "suites/q.yaml:15: checks[[]0]: 'float_head' applies to the int8 schemes (int8_dynamic, "
        "int8_dynamic_per_channel, torchao_*), not to bf16",
    ])
    result.assert_outcomes(errors=1)
