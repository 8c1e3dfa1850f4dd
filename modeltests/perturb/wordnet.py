"""WordNet 3.0 for NLTK in one step, from the dict files of a WordNet installation.

NLTK reads WordNet from ``corpora/wordnet`` on ``nltk.data.path``: the dict files (``data.*``,
``index.*``, ``*.exc``, ``cntlist.rev``) plus two files that WordNet's own packages do not ship
(Debian's ``wordnet-base`` among them): ``lexnames`` (the 45 lexicographer file names) and
``index.sense`` (sense key -> synset offset, sense number, tag count). When NLTK finds no WordNet
of its own, :func:`ensure_wordnet` takes the dict files from a folder (the suite's
``wordnet_dir``, else ``$WNSEARCHDIR``, WordNet's own variable, else ``/usr/share/wordnet`` or
``/usr/local/WordNet-3.0/dict``), copies them into ``<modeltests cache>/nltk_data/corpora/wordnet``,
writes ``lexnames`` and generates ``index.sense`` from the data files, and *appends* that folder
to ``nltk.data.path``: a user's own NLTK data keeps priority and is never written to.

``index.sense`` lines are ``sense_key synset_offset sense_number tag_cnt`` sorted by key
(senseidx(5WN)); a sense key is ``lemma%ss_type:lex_filenum:lex_id:head_word:head_id`` built
exactly as NLTK builds ``Lemma.key()``; the sense number is the synset's position in the lemma's
``index.<pos>`` line and the tag count comes from ``cntlist.rev`` (what ``Lemma.count()`` reads).

A preparation is reused while its source files are unchanged (sizes and times in a stamp file).
When the cache cannot be written, the NLTK data is prepared in a temporary folder for this
process and :attr:`NltkRoot.warning` says so.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from modeltests.errors import MissingResourceError

POS_FILES = ("noun", "verb", "adj", "adv")
SOURCE_FILES = (*(f"data.{p}" for p in POS_FILES), *(f"index.{p}" for p in POS_FILES),
                *(f"{p}.exc" for p in POS_FILES), "cntlist.rev")
DEFAULT_SOURCES = (Path("/usr/share/wordnet"), Path("/usr/local/WordNet-3.0/dict"))
SOURCE_VARIABLE = "WNSEARCHDIR"
VERSION = "3.0"
FORMAT = 1  # of the prepared folder; a change re-prepares every cache
STAMP = "modeltests-source.json"
# NLTK (3.10's pathsec) reads no symbolic or hard link leaving its folder and no file that others
# may write: the dict files are copied (36 MB) and every file written is 0644, whatever the umask.
PRIVATE_FILE, PRIVATE_FOLDER = 0o644, 0o755
INSTALL = ("apt-get install wordnet-base (Debian/Ubuntu: modeltests prepares it for NLTK), or "
           "copy NLTK's own download (`python -m nltk.downloader wordnet` on a machine with "
           "internet) into an NLTK data folder such as ~/nltk_data")
# lexnames(5WN) of WordNet 3.0: file number = position; syntactic category 1-4 (n, v, a, r)
LEXNAMES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1), ("noun.act", 1),
    ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1), ("noun.body", 1),
    ("noun.cognition", 1), ("noun.communication", 1), ("noun.event", 1), ("noun.feeling", 1),
    ("noun.food", 1), ("noun.group", 1), ("noun.location", 1), ("noun.motive", 1),
    ("noun.object", 1), ("noun.person", 1), ("noun.phenomenon", 1), ("noun.plant", 1),
    ("noun.possession", 1), ("noun.process", 1), ("noun.quantity", 1), ("noun.relation", 1),
    ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2), ("verb.creation", 2),
    ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2), ("verb.possession", 2),
    ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2), ("adj.ppl", 3),
)
SS_TYPES = {"n": 1, "v": 2, "a": 3, "r": 4, "s": 5}
_VERSION_LINE = re.compile(r"WordNet (\S+) Copyright")
_MARKER = re.compile(r"\((?:a|p|ip)\)$")  # adjective position markers, not part of the lemma


@dataclass(frozen=True)
class NltkRoot:
    """The NLTK data folder modeltests writes: the cache's, or a temporary one (``warning``)."""

    path: Path
    warning: str | None = None


@dataclass(frozen=True)
class WordNetSetup:
    """Where NLTK's WordNet comes from: ``nltk_folder`` is what NLTK loads; ``source`` the dict
    folder it was prepared from (None when it is the user's own NLTK WordNet)."""

    nltk_folder: str
    source: Path | None
    warning: str | None = None


_fallback: list[NltkRoot] = []
_prepared: dict[tuple[Path, Path], WordNetSetup] = {}


def nltk_root() -> NltkRoot:
    """``<modeltests cache>/nltk_data`` when it can be written, else a temporary folder kept
    for this process (the same one on every call), with a warning."""
    from modeltests.support.environment import cache_dir

    if _fallback:
        return _fallback[0]
    root = cache_dir() / "nltk_data"
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=root, prefix=".write-probe-")
        os.close(handle)
        os.unlink(probe)
        return NltkRoot(root)
    except OSError as exc:
        temporary = Path(tempfile.mkdtemp(prefix="modeltests-nltk-"))
        atexit.register(shutil.rmtree, temporary, True)
        _fallback.append(NltkRoot(temporary, (
            f"the modeltests cache {root} cannot be written ({type(exc).__name__}: "
            f"{exc.strerror or exc}): NLTK data prepared in {temporary} for this run only; make "
            f"it writable or set MODELTESTS_CACHE to a writable folder")))
        return _fallback[0]


def use_root(root: Path) -> None:
    """Append ``root`` to ``nltk.data.path`` (after the user's own folders) if absent."""
    import nltk

    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))


def ensure_wordnet(folder: Path | None = None) -> WordNetSetup:
    """NLTK's WordNet, preparing one from WordNet 3.0 dict files when NLTK has none.

    ``folder`` (from the suite) or ``$WNSEARCHDIR``, when given, is checked even when NLTK has a
    WordNet of its own (a wrong path is an error, not ignored). Raises
    :class:`MissingResourceError` naming the missing or wrong file, or saying how to install.
    """
    named = folder if folder is not None else _variable_folder()
    if named is not None:
        check_source(named)
    root = nltk_root()
    own = nltk_wordnet(exclude=root.path)
    if own is not None:
        return WordNetSetup(own, None)
    source = named or next((p for p in DEFAULT_SOURCES if p.is_dir()), None)
    if source is None:
        raise MissingResourceError(
            f"WordNet {VERSION} not found (not on NLTK's data path, ${SOURCE_VARIABLE} unset, "
            f"no {' or '.join(map(str, DEFAULT_SOURCES))}): {INSTALL}")
    source = source.resolve()
    key = (source, root.path)
    if key not in _prepared:
        check_source(source)
        corpus = prepare(source, root.path / "corpora" / "wordnet")
        _prepared[key] = WordNetSetup(str(corpus), source, root.warning)
    use_root(root.path)
    return _prepared[key]


def _variable_folder() -> Path | None:
    value = os.environ.get(SOURCE_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def nltk_wordnet(exclude: Path | None = None) -> str | None:
    """The WordNet folder (or zip) NLTK would load, as NLTK's lazy loader finds it (zip first),
    unless it lies under ``exclude``; raises when that folder lacks a file NLTK reads."""
    import nltk

    for resource in ("corpora/wordnet.zip/wordnet/", "corpora/wordnet"):
        try:
            found = nltk.data.find(resource)
        except LookupError:
            continue
        path = getattr(found, "path", None)
        if not isinstance(path, str):  # inside a zip: NLTK's own download, complete
            return str(found)
        if exclude is not None and Path(path).resolve().is_relative_to(exclude.resolve()):
            return None
        for name in ("lexnames", "index.sense", *SOURCE_FILES):
            if not (Path(path) / name).is_file():
                raise MissingResourceError(
                    f"{Path(path) / name}: missing from the WordNet folder NLTK finds first: "
                    f"NLTK reads it; complete or remove {path} (modeltests then prepares "
                    f"WordNet itself from /usr/share/wordnet: apt-get install wordnet-base)")
        return path
    return None


def check_source(folder: Path) -> None:
    """Raise :class:`MissingResourceError` unless ``folder`` holds the WordNet 3.0 dict files."""
    if not folder.is_dir():
        raise MissingResourceError(f"{folder}: no such WordNet folder (expected WordNet "
                                   f"{VERSION}'s dict files there: {INSTALL})")
    for name in SOURCE_FILES:
        if not (folder / name).is_file():
            raise MissingResourceError(
                f"{folder / name}: missing: a WordNet {VERSION} dict folder holds "
                f"{', '.join(SOURCE_FILES)} ({INSTALL})")
    with open(folder / "data.adj", encoding="utf-8", errors="replace") as header:
        for number, line in enumerate(header, 1):
            if not line.startswith("  "):
                break
            match = _VERSION_LINE.search(line)
            if match and match.group(1) != VERSION:
                raise MissingResourceError(
                    f"{folder / 'data.adj'}:{number}: this is WordNet {match.group(1)}; "
                    f"modeltests prepares WordNet {VERSION} only: {INSTALL}")
            if match:
                return
    raise MissingResourceError(f"{folder / 'data.adj'}: no 'WordNet {VERSION} Copyright' line "
                               f"in its license header: not a WordNet {VERSION} data file")


def prepare(source: Path, corpus: Path) -> Path:
    """Make ``corpus`` an NLTK WordNet folder for the dict files in ``source`` (reused while the
    stamp matches); the build happens beside it and replaces it in one rename."""
    from filelock import FileLock

    stamp = _stamp(source)
    corpus.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(corpus.parent / "wordnet.lock")):
        if _read_stamp(corpus) == stamp:
            return corpus
        building = corpus.with_name(f"wordnet.{os.getpid()}.tmp")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(mode=PRIVATE_FOLDER)
        for name in SOURCE_FILES:
            shutil.copyfile(source / name, building / name)
            os.chmod(building / name, PRIVATE_FILE)
        _write(building / "lexnames", lexnames_text())
        _write(building / "index.sense", "".join(f"{line}\n" for line in sense_index(source)))
        _write(building / STAMP, json.dumps(stamp, indent=1))
        if corpus.is_symlink() or corpus.is_file():
            corpus.unlink()
        elif corpus.exists():
            shutil.rmtree(corpus)
        os.rename(building, corpus)
    return corpus


def _stamp(source: Path) -> dict[str, object]:
    files = {name: [(source / name).stat().st_size, (source / name).stat().st_mtime_ns]
             for name in SOURCE_FILES}
    return {"format": FORMAT, "source": str(source), "files": files}


def _read_stamp(corpus: Path) -> object:
    try:
        return json.loads((corpus / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(target: Path, text: str) -> None:
    target.write_text(text, encoding="utf-8")
    os.chmod(target, PRIVATE_FILE)


def lexnames_text() -> str:
    """NLTK's ``lexnames``: ``NN<tab>name<tab>category`` for the 45 lexicographer files."""
    return "".join(f"{number:02d}\t{name}\t{category}\n"
                   for number, (name, category) in enumerate(LEXNAMES))


@dataclass(frozen=True)
class _Synset:
    offset: int
    lex_filenum: int
    ss_type: str
    words: tuple[tuple[str, int], ...]  # (lemma as written, marker removed; lex_id)
    head: int | None  # a satellite's head synset (first "&" pointer)


def sense_index(source: Path) -> list[str]:
    """``index.sense`` lines (``sense_key offset sense_number tag_cnt``) sorted as NLTK's binary
    search expects, generated from the dict files in ``source``."""
    counts = _tag_counts(source / "cntlist.rev")
    lines: list[str] = []
    for pos in POS_FILES:
        synsets = _read_data(source / f"data.{pos}")
        numbers = _sense_numbers(source / f"index.{pos}")
        for synset in synsets.values():
            head = ""
            if synset.ss_type == "s":
                head_synset = synsets.get(synset.head) if synset.head is not None else None
                if head_synset is None:
                    raise MissingResourceError(
                        f"{source / f'data.{pos}'}: satellite synset {synset.offset:08d} has no "
                        f"head synset ('&' pointer): not a consistent WordNet {VERSION} file")
                head_word, head_id = head_synset.words[0]
                head = f"{head_word}:{head_id:02d}"
            for word, lex_id in synset.words:
                key = (f"{word}%{SS_TYPES[synset.ss_type]}:{synset.lex_filenum:02d}:"
                       f"{lex_id:02d}:{head}" + ("" if head else ":")).lower()
                number = numbers.get((word.lower(), synset.offset))
                if number is None:
                    raise MissingResourceError(
                        f"{source / f'index.{pos}'}: no entry for {word.lower()!r} in synset "
                        f"{synset.offset:08d} of data.{pos}: the files are of different versions")
                lines.append(f"{key} {synset.offset:08d} {number} {counts.get(key, 0)}")
    return sorted(set(lines))  # a synset may list a word twice in two cases ("A", "a"): one key


def _read_data(path: Path) -> dict[int, _Synset]:
    """The synsets of a ``data.<pos>`` file; each offset must be its line's byte position."""
    synsets: dict[int, _Synset] = {}
    position = 0
    with open(path, "rb") as data:
        for number, raw in enumerate(data, 1):
            start, position = position, position + len(raw)
            if raw.startswith(b"  ") or not raw.strip():
                continue
            fields = raw.decode("utf-8").split()
            try:
                synsets[start] = _parse_synset(fields, start)
            except (ValueError, IndexError, KeyError) as exc:
                raise MissingResourceError(f"{path}:{number}: not a WordNet {VERSION} synset "
                                           f"line ({type(exc).__name__}: {exc})") from None
    return synsets


def _parse_synset(fields: list[str], start: int) -> _Synset:
    offset, lex_filenum, ss_type = int(fields[0]), int(fields[1]), fields[2]
    if offset != start:
        raise ValueError(f"synset offset {offset:08d} is not the line's byte position {start} "
                         f"(NLTK seeks by offset: the file was edited or its line ends changed)")
    if not 0 <= lex_filenum < len(LEXNAMES) or ss_type not in SS_TYPES:
        raise ValueError(f"lexicographer file {lex_filenum} or synset type {ss_type!r}")
    count = int(fields[3], 16)
    words = tuple((_MARKER.sub("", fields[4 + 2 * i]), int(fields[5 + 2 * i], 16))
                  for i in range(count))
    pointers_at = 4 + 2 * count
    head = None
    for i in range(int(fields[pointers_at])):
        symbol, target = fields[pointers_at + 1 + 4 * i], fields[pointers_at + 2 + 4 * i]
        if symbol == "&":
            head = int(target)
            break
    return _Synset(offset, lex_filenum, ss_type, words, head)


def _sense_numbers(path: Path) -> dict[tuple[str, int], int]:
    """``(lemma, synset offset) -> sense number`` from an ``index.<pos>`` file."""
    numbers: dict[tuple[str, int], int] = {}
    with open(path, encoding="utf-8") as index:
        for line in index:
            if line.startswith("  ") or not line.strip():
                continue
            fields = line.split()
            offsets = fields[-int(fields[2]):]
            for number, offset in enumerate(offsets, 1):
                numbers[(fields[0], int(offset))] = number
    return numbers


def _tag_counts(path: Path) -> dict[str, int]:
    """``sense key -> tag count`` from ``cntlist.rev`` (``sense_key sense_number tag_cnt``)."""
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8") as cntlist:
        for line in cntlist:
            fields = line.split()
            if len(fields) == 3:
                counts[fields[0]] = int(fields[2])
    return counts
