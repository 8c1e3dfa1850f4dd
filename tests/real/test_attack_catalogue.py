"""The table of recipes and transformations in docs/how-to/robustness.md, one test per row:
a row that runs offline attacks two examples of the tiny model; a WordNet row runs once WordNet
is prepared (one step) and otherwise fails with the one install command; a download row fails at
once, naming the file it needs, without downloading. Every recipe and transformation the schema
allows has a row."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

import modeltests
from modeltests.checks.robustness import Recipe, Transformation

pytestmark = pytest.mark.real

# row -> (offline | wordnet | download, what the failure message names when it cannot run)
ROWS: dict[str, tuple[str, list[str]]] = {
    "recipe deepwordbug": ("offline", []),
    "recipe pruthi": ("offline", []),
    "recipe pwws": ("wordnet", ["apt-get install wordnet-base"]),
    "recipe textfooler": ("download", ["word_embeddings/paragramcf", "tensorflow_hub"]),
    "recipe textbugger": ("download", ["intentional_homoglyphs.txt", "word_embeddings/paragramcf",
                                       "tensorflow_hub"]),
    "recipe bae": ("download", ["bert-base-uncased", "tensorflow_hub"]),
    "recipe checklist": ("download", ["flair/ner-english"]),
    "transformation neighboring_char_swap": ("offline", []),
    "transformation random_char_deletion": ("offline", []),
    "transformation random_char_insertion": ("offline", []),
    "transformation random_char_substitution": ("offline", []),
    "transformation qwerty": ("offline", []),
    "transformation homoglyph": ("offline", []),
    "transformation wordnet": ("wordnet", ["apt-get install wordnet-base"]),
}


def downloadable_here(row: str) -> bool:
    from modeltests.perturb.textattack import missing_resources

    kind, name = row.split()
    return kind == "recipe" and ROWS[row][0] == "download" and not missing_resources(name)


def test_every_recipe_and_transformation_has_a_row() -> None:
    assert set(ROWS) == {f"recipe {r}" for r in typing.get_args(Recipe)} | \
        {f"transformation {t}" for t in typing.get_args(Transformation)}


@pytest.fixture(scope="module")
def catalogue(tiny_model_dir: Path, eval_csv: Path,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One suite, one check per row (a download row only where its files are missing), run once:
    the JSON entry by row."""
    folder = tmp_path_factory.mktemp("catalogue")
    text = (f"model:\n  adapter: transformers\n  path: {tiny_model_dir}\n  max_length: 64\n"
            f"datasets:\n  eval:\n    path: {eval_csv}\ndefaults:\n  seed: 0\nchecks:\n")
    names = {}
    for number, row in enumerate(r for r in ROWS if not downloadable_here(r)):
        kind, name = row.split()
        attack = f"recipe: {name}" if kind == "recipe" else f"transformation: [{name}]"
        names[f"robustness[row{number}]"] = row
        text += (f"  - kind: robustness\n    name: row{number}\n    dataset: eval\n"
                 f"    num_examples: 2\n    query_budget: 300\n    {attack}\n")
    (folder / "suite.yaml").write_text(text)
    run = modeltests.run(folder / "suite.yaml", rootdir=folder)
    return {names[check.entry["name"]]: check.entry for check in run.checks}


@pytest.mark.parametrize("row", list(ROWS))
def test_row(row: str, catalogue: dict[str, dict[str, Any]]) -> None:
    from modeltests.perturb.textattack import wordnet_available

    needs, named = ROWS[row]
    if downloadable_here(row):
        pytest.skip(f"{row}: its downloads are on this machine")
    entry = catalogue[row]
    if needs == "offline" or (needs == "wordnet" and wordnet_available()):
        assert entry["outcome"] == "passed", entry["message"]
        assert entry["metrics"]["examples_attacked"] == 2
        return
    assert entry["outcome"] == "failed"
    assert all(part in entry["message"] for part in named), entry["message"]
    assert "Traceback" not in entry["message"]
