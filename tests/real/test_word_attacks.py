"""Word-level attacks offline on the demo model: WordNet prepared in one step from Debian's
``/usr/share/wordnet`` (sense keys, offsets, sense numbers and counts as NLTK reads them), the
``robustness`` check's PWWS and a composed attack with the ``wordnet`` swap giving the same
perturbed texts and metrics as TextAttack's own ``Attacker`` on the same seeded examples, and the
``homoglyph`` swap using the project's table. Skipped with the one command where WordNet is
absent (``.ci/run`` installs ``wordnet-base`` when it runs as root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import modeltests

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
EVAL_CSV = ROOT / "suites" / "data" / "sentiment_eval.csv"
DEBIAN = Path("/usr/share/wordnet")
EXAMPLES = 5
MAX_LENGTH = 128
CHECKS = {
    "pwws": "    recipe: pwws\n",
    "composed": "    transformation: [wordnet, qwerty]\n",
    "homoglyph": "    transformation: [homoglyph]\n",
}


def need_wordnet() -> None:
    from modeltests.perturb.textattack import wordnet_available

    if not wordnet_available():
        pytest.skip("no WordNet on this machine: apt-get install wordnet-base")


ONE_STEP = """
import json, os, time
started = time.perf_counter()
from modeltests.perturb.textattack import require_wordnet
setup = require_wordnet("test")
prepared_s = time.perf_counter() - started
import nltk
from nltk.corpus import wordnet as wn
with open(os.path.join(setup.nltk_folder, "index.sense"), encoding="utf-8") as index:
    lines = [line.split() for line in index]
checked = 0
for key, offset, number, count in lines[::50]:  # the file's keys, read back through NLTK
    lemma = wn.lemma_from_key(key)
    synset = lemma.synset()
    pos = "a" if synset.pos() == "s" else synset.pos()
    assert (lemma.key(), synset.offset(), lemma.count()) == (key, int(offset), int(count)), key
    assert wn.synset(f"{lemma.name().lower()}.{pos}.{int(number):02d}") == synset, key
    checked += 1
keys = {line[0] for line in lines}
own = [l.key() for w in ("dog", "good", "able", "well", "run") for l in wn.lemmas(w)]
print(json.dumps({"path": nltk.data.path, "folder": setup.nltk_folder,
                  "source": str(setup.source), "lines": len(lines), "checked": checked,
                  "missing": [k for k in own if k not in keys], "prepared_s": prepared_s,
                  "able": str(wn.lemma_from_key("able%5:00:00:capable:00").synset())}))
"""


def test_one_step_prepares_debians_wordnet_with_nltks_sense_keys(tmp_path: Path) -> None:
    """A fresh cache, the user's NLTK folder without WordNet: one call prepares Debian's files;
    every 50th line of the generated ``index.sense`` reads back through NLTK to the same key,
    offset, tag count and sense number, and NLTK's own keys for a few words are all in it."""
    if not (DEBIAN / "data.noun").is_file():
        pytest.skip("no /usr/share/wordnet: apt-get install wordnet-base")
    env = dict(os.environ, MODELTESTS_CACHE=str(tmp_path / "cache"),
               NLTK_DATA=str(tmp_path / "user"), PYTHONPATH=str(ROOT))
    env.pop("WNSEARCHDIR", None)
    answer = subprocess.run([sys.executable, "-c", ONE_STEP], env=env, capture_output=True,
                            text=True, timeout=600, cwd=ROOT)
    assert answer.returncode == 0, answer.stderr[-3000:]
    facts = json.loads(answer.stdout.strip().splitlines()[-1])
    root = tmp_path / "cache" / "nltk_data"
    assert facts["path"][0] == str(tmp_path / "user") and facts["path"][-1] == str(root)
    assert facts["folder"] == str(root / "corpora" / "wordnet") and facts["source"] == str(DEBIAN)
    assert facts["lines"] == 206_949 and facts["checked"] == 4_139 and facts["missing"] == []
    assert facts["able"] == "Synset('able.s.02')"


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def checks(demo_model_dir: Path, one_thread: None,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The three attacks on the demo model through ``modeltests.run``: entry by check name."""
    need_wordnet()
    folder = tmp_path_factory.mktemp("word_attacks")
    text = (f"model:\n  adapter: transformers\n  path: {demo_model_dir}\n"
            f"  max_length: {MAX_LENGTH}\n"
            f"datasets:\n  eval:\n    path: {EVAL_CSV}\ndefaults:\n  seed: 0\nchecks:\n")
    for name, attack in CHECKS.items():
        text += (f"  - kind: robustness\n    name: {name}\n    dataset: eval\n"
                 f"    num_examples: {EXAMPLES}\n{attack}")
    (folder / "suite.yaml").write_text(text)
    run = modeltests.run(folder / "suite.yaml", rootdir=folder)
    return {check.entry["name"].split("[")[1][:-1]: check.entry for check in run.checks}


def textattack_attacker(demo_model_dir: Path, entry: dict[str, Any], attack_of: Any) -> list:
    """TextAttack alone: its ``HuggingFaceModelWrapper`` on the demo model, ``attack_of(wrapper)``,
    and its ``Attacker`` on the examples the check sampled, in order, each with the seed the
    check gives it (``example_seed(seed, position)``: every example seeded on its own, so that
    Ray workers attack it the same)."""
    import pandas as pd
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeltests.perturb.textattack import example_seed, import_textattack, isolated

    textattack = import_textattack()
    model = AutoModelForSequenceClassification.from_pretrained(demo_model_dir).eval()
    # The wrapper pads every batch to model_max_length (512 here): the suite's max_length
    # truncates the same and costs a quarter.
    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir, model_max_length=MAX_LENGTH)
    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(model, tokenizer)
    frame = pd.read_csv(EVAL_CSV)
    label_ids = model.config.label2id
    results = []
    for position, i in enumerate(entry["details"]["indices"]):
        dataset = textattack.datasets.Dataset([(frame.text[i], label_ids[frame.label[i]])])
        with isolated():
            attack = attack_of(textattack, wrapper)
            arguments = textattack.AttackArgs(
                num_examples=1, random_seed=example_seed(entry["details"]["seed"], position),
                silent=True, disable_stdout=True)
            results += textattack.Attacker(attack, dataset, arguments).attack_dataset()
    return results


def assert_same_as_textattack(entry: dict[str, Any], results: list) -> None:
    from textattack.metrics import AttackQueries, AttackSuccessRate, WordsPerturbed

    names = [type(r).__name__.replace("AttackResult", "").lower() for r in results]
    assert [o["result"] for o in entry["details"]["outcomes"]] == names
    assert [o.get("perturbed") for o in entry["details"]["outcomes"]] == \
        [r.perturbed_result.attacked_text.text if n == "successful" else None
         for r, n in zip(results, names)]
    metrics = entry["metrics"]
    rate = AttackSuccessRate().calculate(results)
    assert 100 * metrics["attack_success_rate"] == pytest.approx(rate["attack_success_rate"],
                                                                 abs=0.01)
    assert 100 * metrics["accuracy_under_attack"] == pytest.approx(rate["attack_accuracy_perc"],
                                                                   abs=0.01)
    words = WordsPerturbed().calculate(results)
    assert metrics["avg_perturbed_word_pct"] == pytest.approx(words["avg_word_perturbed_perc"],
                                                              abs=0.01)
    queries = AttackQueries().calculate(results)
    assert metrics["avg_queries"] == pytest.approx(queries["avg_num_queries"], abs=0.01)


def test_pwws_matches_textattacks_attacker(checks: dict[str, dict[str, Any]],
                                           demo_model_dir: Path) -> None:
    entry = checks["pwws"]
    assert entry["outcome"] == "passed" and entry["metrics"]["examples_attacked"] == EXAMPLES
    assert entry["metrics"]["succeeded"] >= 1
    assert entry["details"]["wordnet"]["nltk_folder"].endswith("corpora/wordnet")
    results = textattack_attacker(demo_model_dir, entry, lambda textattack, wrapper:
                                  textattack.attack_recipes.PWWSRen2019.build(wrapper))
    assert_same_as_textattack(entry, results)


def test_composed_wordnet_attack_matches_textattacks_attacker(checks: dict[str, dict[str, Any]],
                                                              demo_model_dir: Path) -> None:
    entry = checks["composed"]
    assert entry["outcome"] == "passed" and entry["metrics"]["succeeded"] >= 1

    def composed(textattack: Any, wrapper: Any) -> Any:
        from textattack.constraints.pre_transformation import (
            RepeatModification,
            StopwordModification,
        )
        from textattack.transformations import (
            CompositeTransformation,
            WordSwapQWERTY,
            WordSwapWordNet,
        )

        return textattack.Attack(textattack.goal_functions.UntargetedClassification(wrapper),
                                 [RepeatModification(), StopwordModification()],
                                 CompositeTransformation([WordSwapWordNet(), WordSwapQWERTY()]),
                                 textattack.search_methods.GreedyWordSwapWIR())

    assert_same_as_textattack(entry, textattack_attacker(demo_model_dir, entry, composed))


def test_homoglyph_swaps_use_the_projects_table(checks: dict[str, dict[str, Any]]) -> None:
    """Every successful attack changed characters only into their homoglyphs from the table."""
    import pandas as pd

    from modeltests.perturb.homoglyphs import homoglyphs

    entry = checks["homoglyph"]
    assert entry["outcome"] == "passed" and entry["metrics"]["succeeded"] >= 1
    table = homoglyphs()
    frame = pd.read_csv(EVAL_CSV)
    swapped = 0
    for index, outcome in zip(entry["details"]["indices"], entry["details"]["outcomes"]):
        if "perturbed" not in outcome:
            continue
        original, perturbed = frame.text[index], outcome["perturbed"]
        assert len(original) == len(perturbed)
        changes = [(a, b) for a, b in zip(original, perturbed) if a != b]
        assert changes and all(table[a] == b for a, b in changes), changes
        swapped += len(changes)
    assert swapped >= entry["metrics"]["succeeded"]
