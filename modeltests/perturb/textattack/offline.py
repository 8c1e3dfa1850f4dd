"""TextAttack imported on demand and offline, without leaking its side effects.

``import textattack`` (0.3.11) has process-wide effects that a test run must not inherit:

- it needs NLTK's English stopwords at import time (``StopwordModification()`` is built while
  ``textattack.augmentation`` imports) and fails offline without them. :func:`import_textattack`
  writes the project's own list (``modeltests/perturb/stopwords_english.txt``) into
  ``<modeltests cache>/nltk_data`` and *appends* that folder to ``nltk.data.path``, so a user's
  own NLTK data keeps priority and is never written to. WordNet (PWWS, the ``wordnet``
  transformation) is prepared in the same folder by :mod:`modeltests.perturb.wordnet`;
- on first use it calls ``nltk.download`` six times; modeltests never downloads, so
  ``nltk.download`` is replaced by a no-op while TextAttack imports or builds an attack;
- it sets ``TOKENIZERS_PARALLELISM`` (and with ``TA_CACHE_DIR`` overwrites ``HF_HOME``,
  ``XDG_CACHE_HOME`` ...): the environment is restored to its snapshot after the import;
- it calls ``logging.config.dictConfig``, which disables every logger created before: their
  ``disabled`` flags are restored.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

from modeltests.perturb import wordnet
from modeltests.errors import MissingResourceError


STOPWORDS_FILE = Path(__file__).parents[1] / "stopwords_english.txt"


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
    WordNet 3.0's dict files when NLTK has none (:func:`modeltests.perturb.wordnet.ensure_wordnet`)."""
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
