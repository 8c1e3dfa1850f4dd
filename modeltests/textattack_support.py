"""TextAttack, imported on demand and offline, without leaking its side effects.

``import textattack`` (0.3.11) has process-wide effects that a test run must not inherit:

- it needs NLTK's English stopwords at import time (``StopwordModification()`` is built while
  ``textattack.augmentation`` imports) and fails offline without them. :func:`import_textattack`
  writes the project's own list (``modeltests/data/stopwords_english.txt``) into
  ``<modeltests cache>/nltk_data`` and *appends* that folder to ``nltk.data.path``, so a user's
  own NLTK data keeps priority and is never written to. WordNet (PWWS, the ``wordnet``
  transformation) is prepared in the same folder by :mod:`modeltests.wordnet`;
- on first use it calls ``nltk.download`` six times; modeltests never downloads, so
  ``nltk.download`` is replaced by a no-op while TextAttack imports or builds an attack;
- it sets ``TOKENIZERS_PARALLELISM`` (and with ``TA_CACHE_DIR`` overwrites ``HF_HOME``,
  ``XDG_CACHE_HOME`` ...): the environment is restored to its snapshot after the import;
- it calls ``logging.config.dictConfig``, which disables every logger created before: their
  ``disabled`` flags are restored.

:func:`adapter_model_wrapper` feeds TextAttack through a suite's model adapter (batches padded
to their longest text) instead of ``HuggingFaceModelWrapper``, which pads to 512 tokens.
:func:`attack_examples` runs an attack on labelled texts within a time budget and reads each of
TextAttack's result objects once into an :class:`AttackOutcome`; :func:`attack_metrics` gives
TextAttack's own metric definitions over those outcomes. Nothing outside this module touches a
TextAttack object beyond the structural types declared here (:class:`Attack`,
:class:`AttackResult` ...).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import (TYPE_CHECKING, Callable, Iterable, Iterator, Literal, Protocol, Sequence,
                    SupportsFloat)

from modeltests import wordnet
from modeltests.errors import MissingResourceError
from modeltests.inputs import ModelInput, Side, TextPair, as_input

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Probabilities = npt.NDArray[np.float64]
    """An ``(n, k)`` matrix of class probabilities, rows in input order."""

STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords_english.txt"


def nltk_data_dir() -> Path:
    """``<modeltests cache>/nltk_data`` (a temporary folder when the cache is read-only): the
    only NLTK folder modeltests writes."""
    return wordnet.nltk_root().path


def nltk_data_warning() -> str | None:
    """Why NLTK data went to a temporary folder in this process, if it did."""
    return wordnet.nltk_root().warning


def ensure_stopwords() -> Path:
    """Write the shipped English stopword list where NLTK looks for it; return the folder.

    The folder is appended to ``nltk.data.path``: a user's own stopwords, if any, still win.
    """
    root = nltk_data_dir()
    target = root / "corpora" / "stopwords" / "english"
    wanted = STOPWORDS_FILE.read_text(encoding="utf-8")
    if not target.is_file() or target.read_text(encoding="utf-8") != wanted:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(wanted, encoding="utf-8")
        os.chmod(partial, wordnet.PRIVATE_FILE)  # NLTK reads no file others may write
        os.replace(partial, target)
    wordnet.use_root(root)
    return root


@contextmanager
def isolated(block_downloads: bool = True) -> Iterator[None]:
    """Undo TextAttack's process-wide changes (environment, logger flags) on exit.

    With ``block_downloads`` ``nltk.download`` returns False at once inside the block.
    """
    # before importing nltk: it imports scikit-learn, which sets KMP_* variables
    environment = dict(os.environ)
    import nltk

    loggers = {name: logger.disabled for name, logger in logging.root.manager.loggerDict.items()
               if isinstance(logger, logging.Logger)}
    download = nltk.download
    if block_downloads:
        nltk.download = _no_download
    try:
        yield
    finally:
        nltk.download = download
        _restore_environment(environment)
        for name, disabled in loggers.items():
            logging.getLogger(name).disabled = disabled


def _no_download(*args: object, **kwargs: object) -> bool:
    return False


def _restore_environment(snapshot: dict[str, str]) -> None:
    for key in [k for k in os.environ if k not in snapshot]:
        del os.environ[key]
    for key, value in snapshot.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def import_textattack() -> ModuleType:
    """``textattack``, imported offline with its side effects undone (fast after the first call).

    Raises :class:`MissingResourceError` when TextAttack is not installed or cannot import.
    """
    if "textattack" in sys.modules:
        ensure_stopwords()
        return sys.modules["textattack"]
    if importlib.util.find_spec("textattack") is None:
        raise MissingResourceError("TextAttack is not installed: pip install 'textattack==0.3.11'")
    with isolated():
        ensure_stopwords()
        try:
            import textattack  # noqa: F401
        except LookupError as exc:  # an NLTK resource that is still missing
            raise MissingResourceError(f"TextAttack could not import: NLTK data missing: "
                                       f"{str(exc).strip().splitlines()[0]}") from None
    return sys.modules["textattack"]


def require_wordnet(what: str, folder: Path | None = None) -> wordnet.WordNetSetup:
    """NLTK's WordNet for ``what`` (a recipe or transformation), prepared in one step from
    WordNet 3.0's dict files when NLTK has none (:func:`modeltests.wordnet.ensure_wordnet`)."""
    try:
        with isolated():  # importing NLTK (scikit-learn) sets environment variables
            return wordnet.ensure_wordnet(folder)
    except MissingResourceError as exc:
        raise MissingResourceError(f"{what}: {exc}") from None


def wordnet_available(folder: Path | None = None) -> bool:
    """Whether NLTK has WordNet, or it can be prepared (then it is, in one step)."""
    try:
        require_wordnet("WordNet", folder)
    except MissingResourceError:
        return False
    return True


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
    its homoglyph) reading modeltests' table (:mod:`modeltests.homoglyphs`) instead of the
    ``intentional_homoglyphs.txt`` that the 0.3.11 wheel lacks."""
    from textattack.transformations import WordSwapHomoglyphSwap
    from textattack.transformations.word_swaps import WordSwap

    from modeltests.homoglyphs import homoglyphs

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


def adapter_model_wrapper(predict: Callable[[list[ModelInput]], Probabilities],
                          model: object = None) -> ModelWrapper:
    """A ``textattack.models.wrappers.ModelWrapper`` answering with ``predict(texts)``.

    ``predict`` returns an ``(n, k)`` probability array; the suite's adapter pads each batch to
    its longest text, so short inputs cost short forward passes. TextAttack hands a text of
    two columns over as a tuple: it reaches ``predict`` as a :class:`TextPair`.
    """
    import_textattack()
    from textattack.models.wrappers import (
        ModelWrapper as TextAttackModelWrapper,
    )

    class AdapterModelWrapper(TextAttackModelWrapper):  # type: ignore[misc]  # untyped base
        """Queries the suite's model adapter (class defined once TextAttack is imported)."""

        def __init__(self) -> None:
            self.model = model if model is not None else predict
            self.queries = 0

        def __call__(self, text_input_list: list[str | tuple[str, ...]],
                     **kwargs: object) -> Probabilities:
            self.queries += len(text_input_list)
            return predict([as_input(t) for t in text_input_list])

    return AdapterModelWrapper()


# -- the TextAttack objects modeltests reads (structural types: TextAttack ships no stubs) -------

class ModelWrapper(Protocol):
    """``textattack.models.wrappers.ModelWrapper``: texts in, class scores out."""

    def __call__(self, text_input_list: list[str]) -> Probabilities: ...


class AttackedText(Protocol):
    """``textattack.shared.AttackedText``: a text (or several columns) and its words."""

    text: str
    words: list[str]

    @property
    def tokenizer_input(self) -> str | tuple[str, ...]: ...

    def all_words_diff(self, other_attacked_text: AttackedText) -> set[int]: ...


class Scores(Protocol):
    """A goal function's raw output: a tensor of class probabilities."""

    def max(self) -> SupportsFloat: ...

    def __getitem__(self, index: int) -> SupportsFloat: ...


class GoalFunctionResult(Protocol):
    """``textattack.goal_function_results.GoalFunctionResult``: the model's answer on one text."""

    attacked_text: AttackedText
    ground_truth_output: int
    output: int
    raw_output: Scores


class AttackResult(Protocol):
    """``textattack.attack_results.AttackResult``: successful, failed, skipped or maximized."""

    original_result: GoalFunctionResult
    perturbed_result: GoalFunctionResult
    num_queries: int

    def diff_color(self, color_method: str | None = None) -> tuple[str, str]: ...


class GoalFunction(Protocol):
    """The budgets of ``textattack.goal_functions.GoalFunction``."""

    batch_size: int
    query_budget: float


class Attack(Protocol):
    """``textattack.Attack``: attacks one labelled text."""

    goal_function: GoalFunction

    pre_transformation_constraints: list[object]

    def attack(self, example: object, ground_truth_output: int) -> AttackResult: ...


# -- running an attack and reading its results --------------------------------------------------

@dataclass(frozen=True)
class AttackExample:
    """A successful attack as a report shows it: changed words marked ``[[ ]]`` in ``original``
    and ``perturbed``; labels as indices into the model's labels."""

    original: str
    perturbed: str
    perturbed_text: str
    """The perturbed text itself, unmarked."""
    expected: int
    before: int
    predicted: int
    confidence: float
    """The model's probability of ``predicted`` on the perturbed text."""
    queries: int
    expected_before: float | None = None
    expected_after: float | None = None
    """The probability of the true label (``expected``) on the original and perturbed text."""
    original_input: ModelInput = ""
    perturbed_input: ModelInput = ""
    """The original and perturbed input themselves: a text, or a pair of texts."""


@dataclass(frozen=True)
class AttackOutcome:
    """One attacked example, read once from TextAttack's result object.

    ``result`` names the result class ("successful", "failed", "skipped", "maximized");
    ``status`` is how ``textattack.metrics`` counts it: every result neither skipped (the model
    was wrong already) nor failed counts as succeeded.
    """

    result: str
    status: Literal["succeeded", "failed", "skipped"]
    queries: int
    perturbed_word_pct: float | None = None
    """Percentage of the original words changed, for succeeded attacks."""
    example: AttackExample | None = None
    """For successful results (``SuccessfulAttackResult``) only."""


@dataclass(frozen=True)
class AttackRun:
    """The outcomes of attacking labelled texts in order, and how long the attacks took."""

    outcomes: list[AttackOutcome]
    seconds: float
    stopped_by_time_budget: bool


def seed_everything(seed: int) -> None:
    """Seed what TextAttack draws from (python ``random``, numpy, torch), as ``Attacker`` does."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def restrict_to_side(attack: Attack, columns: Sequence[str], side: Side) -> None:
    """Let ``attack`` edit only ``side`` of a text pair whose columns are ``columns``: a
    TextAttack ``InputColumnModification`` freezes the other column's words. Constraints of
    that kind a recipe brings (textfooler's freezes a column named ``premise``) are replaced,
    so ``side`` alone decides."""
    from textattack.constraints.pre_transformation import InputColumnModification

    kept = [c for c in attack.pre_transformation_constraints
            if not isinstance(c, InputColumnModification)]
    frozen = {column for column, name in zip(columns, ("first", "second"))
              if side not in (name, "both")}
    if frozen:
        kept.append(InputColumnModification(list(columns), frozen))
    attack.pre_transformation_constraints = kept


def attack_input(example: ModelInput, columns: Sequence[str]) -> str | dict[str, str]:
    """What ``Attack.attack`` takes: a text, or an ``OrderedDict`` of a pair's two columns
    (TextAttack's multi-column input; the column names label each side in its output)."""
    from collections import OrderedDict

    if isinstance(example, TextPair):
        return OrderedDict(zip(columns, example))
    return example


def attack_examples(attack: Attack, examples: Iterable[tuple[ModelInput, int]], seed: int,
                    time_budget_s: float | None = None,
                    columns: Sequence[str] = ("first", "second")) -> AttackRun:
    """Attack ``(input, label index)`` pairs one by one, seeded, with TextAttack's side effects
    undone; no new example starts once ``time_budget_s`` has passed. A pair of texts is
    attacked as two columns named ``columns``."""
    seed_everything(seed)
    results: list[AttackResult] = []
    started = time.perf_counter()
    stopped = False
    with isolated():
        for text, label in examples:
            if time_budget_s is not None and time.perf_counter() - started >= time_budget_s:
                stopped = True
                break
            results.append(attack.attack(attack_input(text, columns), label))
    seconds = time.perf_counter() - started
    return AttackRun([read_result(r) for r in results], seconds, stopped)


def read_result(result: AttackResult) -> AttackOutcome:
    """What one of TextAttack's result objects says: status, queries, and what changed."""
    from textattack.attack_results import (
        FailedAttackResult,
        SkippedAttackResult,
        SuccessfulAttackResult,
    )

    name = type(result).__name__.replace("AttackResult", "").lower()
    queries = int(result.num_queries)
    if isinstance(result, SkippedAttackResult):
        return AttackOutcome(name, "skipped", queries)
    if isinstance(result, FailedAttackResult):
        return AttackOutcome(name, "failed", queries)
    example = _example(result) if isinstance(result, SuccessfulAttackResult) else None
    return AttackOutcome(name, "succeeded", queries, perturbed_word_pct(result), example)


def perturbed_word_pct(result: AttackResult) -> float:
    """Percentage of the original words a successful attack changed."""
    original = result.original_result.attacked_text
    words = len(original.words)
    changed = len(original.all_words_diff(result.perturbed_result.attacked_text))
    return changed * 100.0 / words if words else 0.0


def _example(result: AttackResult) -> AttackExample:
    original, perturbed = result.diff_color(color_method="file")
    before, after = result.original_result, result.perturbed_result
    expected = before.ground_truth_output
    return AttackExample(original=original, perturbed=perturbed,
                         perturbed_text=after.attacked_text.text,
                         expected=expected, before=before.output, predicted=after.output,
                         confidence=float(after.raw_output.max()),
                         queries=int(result.num_queries),
                         expected_before=float(before.raw_output[expected]),
                         expected_after=float(after.raw_output[expected]),
                         original_input=as_input(before.attacked_text.tokenizer_input),
                         perturbed_input=as_input(after.attacked_text.tokenizer_input))


def attack_metrics(outcomes: Sequence[AttackOutcome], seconds: float) -> dict[str, float]:
    """Metrics of attack outcomes, as fractions (TextAttack reports percentages).

    ``attack_success_rate`` = succeeded / (succeeded + failed), ``accuracy_under_attack`` =
    failed / attacked, ``avg_perturbed_word_pct`` over successful attacks, ``avg_queries``
    over examples not skipped: the same definitions as ``textattack.metrics``.
    ``examples_attacked`` counts the examples actually attacked (succeeded + failed: a skipped
    one was misclassified already and never attacked); ``examples`` counts all of them.
    """
    total = len(outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    succeeded = total - skipped - failed
    changed = [o.perturbed_word_pct for o in outcomes if o.perturbed_word_pct is not None]
    queries = [o.queries for o in outcomes if o.status != "skipped"]
    return {
        "attack_success_rate": succeeded / (succeeded + failed) if succeeded + failed else 0.0,
        "accuracy_before": (total - skipped) / total if total else 0.0,
        "accuracy_under_attack": failed / total if total else 0.0,
        "avg_perturbed_word_pct": sum(changed) / len(changed) if changed else 0.0,
        "avg_queries": sum(queries) / len(queries) if queries else 0.0,
        "succeeded": float(succeeded), "failed": float(failed), "skipped": float(skipped),
        "examples_attacked": float(succeeded + failed),
        "examples": float(total),
        "seconds_per_example": seconds / total if total else 0.0,
    }
