"""TextAttack, imported on demand and offline, without leaking its side effects.

``import textattack`` (0.3.11) has process-wide effects that a test run must not inherit:

- it needs NLTK's English stopwords at import time (``StopwordModification()`` is built while
  ``textattack.augmentation`` imports) and fails offline without them. :func:`import_textattack`
  writes the project's own list (``modeltests/data/stopwords_english.txt``) into
  ``<modeltests cache>/nltk_data`` and *appends* that folder to ``nltk.data.path``, so a user's
  own NLTK data keeps priority and is never written to;
- on first use it calls ``nltk.download`` six times; modeltests never downloads, so
  ``nltk.download`` is replaced by a no-op while TextAttack imports or builds an attack;
- it sets ``TOKENIZERS_PARALLELISM`` (and with ``TA_CACHE_DIR`` overwrites ``HF_HOME``,
  ``XDG_CACHE_HOME`` ...): the environment is restored to its snapshot after the import;
- it calls ``logging.config.dictConfig``, which disables every logger created before: their
  ``disabled`` flags are restored.

:func:`adapter_model_wrapper` feeds TextAttack through a suite's model adapter (batches padded
to their longest text) instead of ``HuggingFaceModelWrapper``, which pads to 512 tokens.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

from modeltests.errors import MissingResourceError

STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords_english.txt"
WORDNET_HELP = (
    "provide WordNet 3.0 for NLTK: either `python -m nltk.downloader -d DIR wordnet` on a "
    "machine with internet and copy DIR here with NLTK_DATA=DIR, or on Debian/Ubuntu "
    "`apt-get install wordnet-base` and link /usr/share/wordnet as DIR/corpora/wordnet, then "
    "write the 45 lexicographer file names (adj.all ... adj.ppl, numbered 0-44, as listed in "
    "the lexnames(5WN) man page) one per line to DIR/corpora/wordnet/lexnames, and set "
    "NLTK_DATA=DIR"
)


def nltk_data_dir() -> Path:
    """``<modeltests cache>/nltk_data``: the only NLTK folder modeltests writes."""
    from modeltests.environment import cache_dir

    return cache_dir() / "nltk_data"


def ensure_stopwords() -> Path:
    """Write the shipped English stopword list where NLTK looks for it; return the folder.

    The folder is appended to ``nltk.data.path``: a user's own stopwords, if any, still win.
    """
    import nltk

    root = nltk_data_dir()
    target = root / "corpora" / "stopwords" / "english"
    wanted = STOPWORDS_FILE.read_text(encoding="utf-8")
    if not target.is_file() or target.read_text(encoding="utf-8") != wanted:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(wanted, encoding="utf-8")
        os.replace(partial, target)
    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))
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


def _no_download(*args: Any, **kwargs: Any) -> bool:
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
            import textattack
        except LookupError as exc:  # an NLTK resource that is still missing
            raise MissingResourceError(f"TextAttack could not import: NLTK data missing: "
                                       f"{str(exc).strip().splitlines()[0]}") from None
    return textattack


def wordnet_available() -> bool:
    """Whether NLTK finds WordNet (``corpora/wordnet``) with its ``lexnames`` file."""
    import nltk

    for resource in ("corpora/wordnet/lexnames", "corpora/wordnet.zip/wordnet/lexnames"):
        try:
            nltk.data.find(resource)
            return True
        except LookupError:
            continue
    return False


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
RECIPE_RESOURCES: dict[str, list[Resource]] = {
    "deepwordbug": [],
    "pruthi": [],
    "pwws": [Resource("NLTK WordNet (corpora/wordnet with its lexnames file)", wordnet_available,
                      WORDNET_HELP)],
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
    """The resources ``recipe`` needs that are not on this machine."""
    if recipe == "pwws":
        ensure_stopwords()
    return [r for r in RECIPE_RESOURCES.get(recipe, []) if not r.present()]


def build_recipe(recipe: str, model_wrapper: Any) -> Any:
    """``textattack.attack_recipes.<Recipe>.build(model_wrapper)``, or a clear error.

    Resources are checked before TextAttack is asked to build anything, so a missing one never
    starts a download (nor leaves a stale download lock behind).
    """
    missing = missing_resources(recipe)
    if missing:
        lines = "; ".join(f"{r.name}: {r.how}" for r in missing)
        raise MissingResourceError(f"recipe {recipe!r} needs {lines}")
    textattack = import_textattack()
    with isolated():
        try:
            return getattr(textattack.attack_recipes, RECIPE_CLASSES[recipe]).build(model_wrapper)
        except (OSError, LookupError, RuntimeError) as exc:
            raise MissingResourceError(f"recipe {recipe!r} could not be built offline: "
                                       f"{type(exc).__name__}: {exc}") from None


TRANSFORMATIONS = {
    "neighboring_char_swap": "WordSwapNeighboringCharacterSwap",
    "random_char_deletion": "WordSwapRandomCharacterDeletion",
    "random_char_insertion": "WordSwapRandomCharacterInsertion",
    "random_char_substitution": "WordSwapRandomCharacterSubstitution",
    "qwerty": "WordSwapQWERTY",
    "wordnet": "WordSwapWordNet",
}
CONSTRAINTS = {"repeat": "RepeatModification", "stopword": "StopwordModification"}


def build_composed(transformations: Sequence[str], constraints: Sequence[str],
                   model_wrapper: Any, max_edit_distance: int | None = None) -> Any:
    """An ``Attack``: the transformations (composite when several) + constraints, untargeted
    classification, searched by ``GreedyWordSwapWIR``."""
    if "wordnet" in transformations and not wordnet_available():
        raise MissingResourceError(f"transformation 'wordnet' needs NLTK WordNet: {WORDNET_HELP}")
    textattack = import_textattack()
    from textattack.constraints import pre_transformation
    from textattack.transformations import CompositeTransformation

    with isolated():
        swaps = [getattr(textattack.transformations, TRANSFORMATIONS[t])() for t in transformations]
        transformation = swaps[0] if len(swaps) == 1 else CompositeTransformation(swaps)
        built = [getattr(pre_transformation, CONSTRAINTS[c])() for c in constraints]
        if max_edit_distance is not None:
            from textattack.constraints.overlap import LevenshteinEditDistance

            built.append(LevenshteinEditDistance(max_edit_distance))
        goal = textattack.goal_functions.UntargetedClassification(model_wrapper)
        search = textattack.search_methods.GreedyWordSwapWIR()
        return textattack.Attack(goal, built, transformation, search)


def adapter_model_wrapper(predict: Callable[[list[str]], Any], model: Any = None) -> Any:
    """A ``textattack.models.wrappers.ModelWrapper`` answering with ``predict(texts)``.

    ``predict`` returns an ``(n, k)`` probability array; the suite's adapter pads each batch to
    its longest text, so short inputs cost short forward passes.
    """
    import_textattack()
    from textattack.models.wrappers import ModelWrapper

    class AdapterModelWrapper(ModelWrapper):
        """Queries the suite's model adapter (class defined once TextAttack is imported)."""

        def __init__(self) -> None:
            self.model = model if model is not None else predict
            self.queries = 0

        def __call__(self, text_input_list: list[str], **kwargs: Any) -> Any:
            self.queries += len(text_input_list)
            return predict(list(text_input_list))

    return AdapterModelWrapper()
