"""The ``robustness`` check with a real transformers model (``from_pretrained`` from a local
directory) and real TextAttack, offline: metrics agree with TextAttack's own metric classes,
the same seed gives the same attack, missing resources give one message, TextAttack stays out
of collection and its side effects stay out of the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real


def suite_text(model_dir: Path, eval_csv: Path, checks: str) -> str:
    return (f"model:\n  adapter: transformers\n  path: {model_dir}\n  max_length: 64\n"
            f"datasets:\n  eval:\n    path: {eval_csv}\ndefaults:\n  seed: 0\nchecks:\n{checks}")


ATTACK = "  - kind: robustness\n    name: dwb\n    dataset: eval\n    num_examples: 8\n"


@pytest.fixture(scope="module")
def adapter(tiny_model_dir: Path) -> object:
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.transformers import TransformersParams, load_transformers

    params = TransformersParams(path=str(tiny_model_dir), max_length=64)
    return load_transformers(params, LoadContext(base_dir=tiny_model_dir,
                                                 rootdir=tiny_model_dir))


def test_metrics_agree_with_textattack_metric_classes(adapter: object, eval_csv: Path) -> None:
    import pandas as pd

    from modeltests.checks._sources import sample_indices
    from modeltests.perturb.textattack import adapter_model_wrapper, attack_metrics, \
        build_recipe, import_textattack, read_result, seed_everything

    import_textattack()  # a bare `import textattack` fails offline without NLTK stopwords
    from textattack.metrics import AttackQueries, AttackSuccessRate, WordsPerturbed

    frame = pd.read_csv(eval_csv)
    wrapper = adapter_model_wrapper(lambda texts: adapter.predict(texts).probabilities)
    attack = build_recipe("deepwordbug", wrapper)
    seed_everything(0)
    rows = sample_indices(len(frame), 12, 0)
    results = [attack.attack(frame.text[i], adapter.labels.index(frame.label[i])) for i in rows]
    ours = attack_metrics([read_result(r) for r in results], seconds=1.0)
    rate = AttackSuccessRate().calculate(results)
    assert ours["succeeded"] == rate["successful_attacks"] > 0
    assert ours["failed"] == rate["failed_attacks"]
    assert ours["skipped"] == rate["skipped_attacks"]
    assert 100 * ours["attack_success_rate"] == pytest.approx(rate["attack_success_rate"], abs=0.01)
    assert 100 * ours["accuracy_before"] == pytest.approx(rate["original_accuracy"], abs=0.01)
    assert 100 * ours["accuracy_under_attack"] == pytest.approx(rate["attack_accuracy_perc"],
                                                                abs=0.01)
    words = WordsPerturbed().calculate(results)
    assert ours["avg_perturbed_word_pct"] == pytest.approx(words["avg_word_perturbed_perc"],
                                                           abs=0.01)
    queries = AttackQueries().calculate(results)
    assert ours["avg_queries"] == pytest.approx(queries["avg_num_queries"], abs=0.01)


def run_attack(pytester: pytest.Pytester, text: str) -> dict:
    (pytester.path / "suite.yaml").write_text(text)
    pytester.runpytest("suite.yaml", "-p", "no:cacheprovider")
    report = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    return {entry["name"]: entry for entry in report["checks"]}


def test_same_seed_same_attack_and_marked_examples(pytester: pytest.Pytester,
                                                   tiny_model_dir: Path, eval_csv: Path) -> None:
    text = suite_text(tiny_model_dir, eval_csv, ATTACK + "    max_attack_success_rate: 1.0\n")
    first = run_attack(pytester, text)["robustness[dwb]"]
    second = run_attack(pytester, text)["robustness[dwb]"]
    assert first["outcome"] == "passed"
    timing = {"seconds_per_example"}
    assert {k: v for k, v in first["metrics"].items() if k not in timing} == \
        {k: v for k, v in second["metrics"].items() if k not in timing}
    assert first["examples"] == second["examples"]
    assert first["metrics"]["examples"] == 8
    assert first["metrics"]["examples_attacked"] == 8 - first["metrics"]["skipped"]
    example = first["examples"][0]
    assert "[[" in example["original"] and "[[" in example["perturbed"]
    assert example["before"] != example["predicted"]


def test_missing_resources_fail_only_their_check(pytester: pytest.Pytester,
                                                 tiny_model_dir: Path, eval_csv: Path) -> None:
    from modeltests.perturb.textattack import wordnet_available

    checks = ("  - kind: robustness\n    name: tf\n    dataset: eval\n    recipe: textfooler\n"
              "  - kind: robustness\n    name: composed\n    dataset: eval\n    num_examples: 4\n"
              "    transformation: [qwerty, neighboring_char_swap]\n    query_budget: 30\n")
    if not wordnet_available():
        checks += "  - kind: robustness\n    name: pwws\n    dataset: eval\n    recipe: pwws\n"
    (pytester.path / "suite.yaml").write_text(suite_text(tiny_model_dir, eval_csv, checks))
    result = pytester.runpytest("suite.yaml", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "suite.yaml:14: recipe 'textfooler' cannot run here: it needs TextAttack's counter-fitted "
        "word embeddings (word_embeddings/paragramcf) (download https://textattack.s3.amazonaws"
        ".com/word_embeddings/paragramcf.zip *); the Universal Sentence Encoder (tensorflow_hub) *",
    ])
    if not wordnet_available():
        result.stdout.fnmatch_lines(["suite.yaml:*: recipe 'pwws': WordNet 3.0 not found (*): "
                                     "apt-get install wordnet-base *"])
    assert "Traceback" not in result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 1 and outcomes["failed"] == 2 - wordnet_available()


FRESH_IMPORT = """
import logging, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
mine = logging.getLogger("user.logger")
before = dict(os.environ)
from modeltests.perturb.textattack import import_textattack
import_textattack()
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
import nltk
print({"changed": changed, "disabled": mine.disabled, "nltk_path": nltk.data.path[-1],
       "imported": "textattack" in sys.modules})
"""


def test_fresh_import_works_offline_and_leaks_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, MODELTESTS_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1",
               NLTK_DATA=str(tmp_path / "empty"))
    env.pop("TOKENIZERS_PARALLELISM", None)
    answer = subprocess.run([sys.executable, "-c", FRESH_IMPORT], env=env, capture_output=True,
                            text=True, timeout=300)
    assert answer.returncode == 0, answer.stderr[-2000:]
    facts = eval(answer.stdout.strip().splitlines()[-1])
    assert facts == {"changed": [], "disabled": False, "imported": True,
                     "nltk_path": str(tmp_path / "cache" / "nltk_data")}
    assert (tmp_path / "cache" / "nltk_data" / "corpora" / "stopwords" / "english").is_file()


def test_collection_does_not_import_textattack(tiny_model_dir: Path, eval_csv: Path,
                                               tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(suite_text(tiny_model_dir, eval_csv, ATTACK))
    script = ("import sys, pytest; pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider',"
              f" {str(tmp_path / 'suite.yaml')!r}]); "
              "print(sorted(m for m in ('textattack', 'torch', 'transformers', 'nltk') "
              "if m in sys.modules))")
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert "robustness[dwb]" in answer.stdout
    assert answer.stdout.strip().splitlines()[-1] == "[]"
