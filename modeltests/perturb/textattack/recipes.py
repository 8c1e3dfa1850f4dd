"""TextAttack's attack recipes and composed attacks, built offline: which need resources that
are missing here (and how to get them), budgets, and the homoglyph table the 0.3.11 wheel lacks."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from modeltests.perturb.textattack.offline import import_textattack, isolated, require_wordnet
from modeltests.perturb.textattack.types import Attack, ModelWrapper
from modeltests.errors import MissingResourceError


@dataclass(frozen=True)
class Resource:
    """Something a recipe needs that TextAttack would download: how to tell and how to provide."""

    name: str
    present: Callable[[], bool]
    how: str


def _textattack_cache() -> Path:
    return Path(os.environ.get("TA_CACHE_DIR", os.path.expanduser("~/.cache/textattack")))


def _in_textattack_cache(name: str) -> Callable[[], bool]:
    return lambda: (_textattack_cache() / name).exists()


def _importable(module: str) -> Callable[[], bool]:
    return lambda: importlib.util.find_spec(module) is not None


def _hub_cached(repo: str, filename: str) -> Callable[[], bool]:
    def probe() -> bool:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo, filename), str)

    return probe


def _homoglyphs_present() -> bool:
    spec = importlib.util.find_spec("textattack")
    return spec is not None and spec.origin is not None and \
        (Path(spec.origin).parent / "shared" / "intentional_homoglyphs.txt").is_file()


_EMBEDDINGS = Resource(
    "TextAttack's counter-fitted word embeddings (word_embeddings/paragramcf)",
    _in_textattack_cache("word_embeddings/paragramcf"),
    "download https://textattack.s3.amazonaws.com/word_embeddings/paragramcf.zip on a machine "
    "with internet and unzip it into ~/.cache/textattack/word_embeddings/ (or $TA_CACHE_DIR)",
)
_USE = Resource(
    "the Universal Sentence Encoder (tensorflow_hub)", _importable("tensorflow_hub"),
    "pip install tensorflow tensorflow_hub and pre-fill TFHUB_CACHE_DIR with "
    "universal-sentence-encoder/4",
)
NEEDS_WORDNET = {"pwws"}
"""Recipes that read NLTK's WordNet (prepared by :func:`require_wordnet`, not downloaded)."""
RECIPE_RESOURCES: dict[str, list[Resource]] = {
    "deepwordbug": [],
    "pruthi": [],
    "pwws": [],
    "textfooler": [_EMBEDDINGS, _USE],
    "textbugger": [
        Resource("textattack/shared/intentional_homoglyphs.txt (missing from the 0.3.11 wheel)",
                 _homoglyphs_present,
                 "copy textattack/shared/intentional_homoglyphs.txt from the TextAttack git "
                 "repository (tag v0.3.11) into the installed package"),
        _EMBEDDINGS, _USE,
    ],
    "bae": [Resource("the bert-base-uncased masked language model (Hugging Face hub)",
                     _hub_cached("bert-base-uncased", "config.json"),
                     "run `huggingface-cli download bert-base-uncased` on a machine with "
                     "internet and copy the hub cache (~/.cache/huggingface/hub) here"),
            _USE],
    "checklist": [Resource("flair's NER model flair/ner-english (Hugging Face hub)",
                           _hub_cached("flair/ner-english", "pytorch_model.bin"),
                           "run `huggingface-cli download flair/ner-english` on a machine with "
                           "internet and copy the hub cache (~/.cache/huggingface/hub) here")],
}
RECIPE_CLASSES = {
    "deepwordbug": "DeepWordBugGao2018", "pruthi": "Pruthi2019", "pwws": "PWWSRen2019",
    "textfooler": "TextFoolerJin2019", "textbugger": "TextBuggerLi2018", "bae": "BAEGarg2019",
    "checklist": "CheckList2020",
}


def missing_resources(recipe: str) -> list[Resource]:
    """The downloadable resources ``recipe`` needs that are not on this machine (WordNet is
    prepared, not downloaded: see :func:`require_wordnet`)."""
    return [r for r in RECIPE_RESOURCES.get(recipe, []) if not r.present()]


def build_recipe(recipe: str, model_wrapper: ModelWrapper,
                 wordnet_dir: Path | None = None) -> Attack:
    """``textattack.attack_recipes.<Recipe>.build(model_wrapper)``, or a clear error.

    Resources are checked before TextAttack is asked to build anything, so a missing one never
    starts a download (nor leaves a stale download lock behind); WordNet is prepared from
    ``wordnet_dir`` (or WordNet's usual folders) when the recipe needs it and NLTK has none.
    """
    if recipe in NEEDS_WORDNET:
        require_wordnet(f"recipe {recipe!r}", wordnet_dir)
    missing = missing_resources(recipe)
    if missing:
        lines = "; ".join(f"{r.name}: {r.how}" for r in missing)
        raise MissingResourceError(f"recipe {recipe!r} needs {lines}")
    textattack = import_textattack()
    with isolated():
        try:
            attack: Attack = getattr(textattack.attack_recipes,
                                     RECIPE_CLASSES[recipe]).build(model_wrapper)
        except (OSError, LookupError, RuntimeError) as exc:
            raise MissingResourceError(f"recipe {recipe!r} could not be built offline: "
                                       f"{type(exc).__name__}: {exc}") from None
    return attack


TRANSFORMATIONS = {
    "neighboring_char_swap": "WordSwapNeighboringCharacterSwap",
    "random_char_deletion": "WordSwapRandomCharacterDeletion",
    "random_char_insertion": "WordSwapRandomCharacterInsertion",
    "random_char_substitution": "WordSwapRandomCharacterSubstitution",
    "qwerty": "WordSwapQWERTY",
    "wordnet": "WordSwapWordNet",
    "homoglyph": "WordSwapHomoglyphSwap",  # with modeltests' table: see homoglyph_swap()
}
CONSTRAINTS = {"repeat": "RepeatModification", "stopword": "StopwordModification"}


def build_composed(transformations: Sequence[str], constraints: Sequence[str],
                   model_wrapper: ModelWrapper, max_edit_distance: int | None = None,
                   wordnet_dir: Path | None = None) -> Attack:
    """An ``Attack``: the transformations (composite when several) + constraints, untargeted
    classification, searched by ``GreedyWordSwapWIR``."""
    if "wordnet" in transformations:
        require_wordnet("transformation 'wordnet'", wordnet_dir)
    textattack = import_textattack()
    from textattack.constraints import pre_transformation
    from textattack.transformations import (
        CompositeTransformation,
    )

    with isolated():
        swaps = [homoglyph_swap() if t == "homoglyph" else
                 getattr(textattack.transformations, TRANSFORMATIONS[t])() for t in transformations]
        transformation = swaps[0] if len(swaps) == 1 else CompositeTransformation(swaps)
        built = [getattr(pre_transformation, CONSTRAINTS[c])() for c in constraints]
        if max_edit_distance is not None:
            from textattack.constraints.overlap import (
                LevenshteinEditDistance,
            )

            built.append(LevenshteinEditDistance(max_edit_distance))
        goal = textattack.goal_functions.UntargetedClassification(model_wrapper)
        search = textattack.search_methods.GreedyWordSwapWIR()
        attack: Attack = textattack.Attack(goal, built, transformation, search)
    return attack


def homoglyph_swap() -> object:
    """TextAttack's ``WordSwapHomoglyphSwap`` (each candidate replaces one character of a word by
    its homoglyph) reading modeltests' table (:mod:`modeltests.perturb.homoglyphs`) instead of the
    ``intentional_homoglyphs.txt`` that the 0.3.11 wheel lacks."""
    from textattack.transformations import WordSwapHomoglyphSwap
    from textattack.transformations.word_swaps import WordSwap

    from modeltests.perturb.homoglyphs import homoglyphs

    class ProjectHomoglyphSwap(WordSwapHomoglyphSwap):  # type: ignore[misc]  # untyped base
        """``WordSwapHomoglyphSwap`` with the project's table (defined once TextAttack is
        imported)."""

        def __init__(self) -> None:
            WordSwap.__init__(self)  # not the parent's: it opens the file the wheel lacks
            table = homoglyphs()
            self.homos = dict(table)  # what greedy search swaps (_get_replacement_words)
            self.homos_intentional = {char: [glyph] for char, glyph in table.items()}
            self.random_one = False

    return ProjectHomoglyphSwap()


def apply_budgets(attack: Attack, batch_size: int, query_budget: int | None) -> None:
    """Texts per model call, and (when set) the most model queries per example."""
    attack.goal_function.batch_size = batch_size
    if query_budget is not None:
        attack.goal_function.query_budget = query_budget
