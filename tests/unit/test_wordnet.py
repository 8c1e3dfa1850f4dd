"""WordNet for NLTK in one step (``modeltests.perturb.wordnet``) on a small hand-made WordNet 3.0 folder:
the generated ``lexnames`` and ``index.sense`` read by NLTK's own reader (sense keys round trip,
offsets, sense numbers and counts), reuse of a preparation, the user's NLTK WordNet first, and
bad input: a missing file, another WordNet version, a moved offset, an unwritable cache.
The same on Debian's real WordNet is in ``tests/real/test_word_attacks.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeltests.perturb import wordnet
from modeltests.errors import MissingResourceError

HEADER = "".join(f"  {i} license line {i}  \n" for i in range(1, 14)) + \
    "  14 WordNet {version} Copyright 2006 by Princeton University.  All rights reserved.  \n"
# (pos file, name, lex_filenum, ss_type, [(word, lex_id)], [(pointer symbol, target name, pos)])
SYNSETS = [
    ("noun", "dog1", 5, "n", [("dog", 0), ("domestic_dog", 0)], []),
    ("noun", "dog2", 18, "n", [("dog", 1), ("frump", 0)], []),
    ("noun", "letter", 10, "n", [("A", 0), ("a", 0)], []),  # one key for two cases
    ("verb", "run", 38, "v", [("run", 0)], []),
    ("adj", "good", 0, "a", [("good", 1)], [("&", "full", "s")]),
    ("adj", "full", 0, "s", [("full", 0), ("good(p)", 2)], [("&", "good", "a")]),
    ("adv", "well", 2, "r", [("well", 0)], []),
]
LETTERS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
COUNTS = {"dog%1:05:00::": 42, "good%3:00:01::": 7, "full%5:00:00:good:01": 3}


def write_wordnet(folder: Path, version: str = "3.0") -> Path:
    """A consistent WordNet dict folder: offsets are byte positions, as in the real files."""
    folder.mkdir(parents=True, exist_ok=True)
    offsets: dict[str, int] = {}
    lines: dict[str, list[str]] = {}
    for _ in range(2):  # every offset has 8 digits: the second pass knows them all
        for pos in wordnet.POS_FILES:
            text = HEADER.format(version=version)
            lines[pos] = []
            for pos_file, name, lexfile, ss_type, words, pointers in SYNSETS:
                if pos_file != pos:
                    continue
                offsets[name] = len(text.encode())
                word_text = " ".join(f"{w} {lex_id:x}" for w, lex_id in words)
                pointer_text = " ".join(f"{sym} {offsets.get(t, 0):08d} {p} 0000"
                                        for sym, t, p in pointers)
                frames = " 01 + 02 00" if ss_type == "v" else ""
                line = (f"{offsets[name]:08d} {lexfile:02d} {ss_type} {len(words):02x} {word_text} "
                        f"{len(pointers):03d} {pointer_text}{frames} | gloss of {name}  \n")
                lines[pos].append(line)
                text += line
            (folder / f"data.{pos}").write_text(text, encoding="utf-8")
    for pos in wordnet.POS_FILES:
        senses: dict[str, list[int]] = {}
        for pos_file, name, _, _, words, _ in SYNSETS:
            for word, _ in words:
                if pos_file == pos:
                    lemma = wordnet._MARKER.sub("", word).lower()
                    if offsets[name] not in senses.setdefault(lemma, []):
                        senses[lemma].append(offsets[name])
        (folder / f"index.{pos}").write_text(HEADER.format(version=version) + "".join(
            f"{lemma} {LETTERS[pos]} {len(o)} 0 {len(o)} 0 {' '.join(f'{x:08d}' for x in o)}  \n"
            for lemma, o in sorted(senses.items())), encoding="utf-8")
        (folder / f"{pos}.exc").write_text("", encoding="utf-8")
    (folder / "cntlist.rev").write_text("".join(f"{key} 1 {count}\n" for key, count in
                                                sorted(COUNTS.items())), encoding="utf-8")
    return folder


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private modeltests cache, an NLTK path without WordNet, no memory of earlier runs."""
    import nltk

    monkeypatch.setenv("MODELTESTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(wordnet.SOURCE_VARIABLE, raising=False)
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "user_nltk_data")])
    monkeypatch.setattr(wordnet, "_prepared", {})
    monkeypatch.setattr(wordnet, "_fallback", [])
    monkeypatch.setattr(wordnet, "DEFAULT_SOURCES", ())
    return tmp_path


def reader(folder: str) -> object:
    import warnings

    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    with warnings.catch_warnings():  # "multilingual functions are not available": no OMW here
        warnings.simplefilter("ignore", UserWarning)
        return WordNetCorpusReader(folder, None)


def test_prepared_folder_reads_in_nltk_with_right_keys_and_counts(fresh: Path) -> None:
    import nltk

    source = write_wordnet(fresh / "dict")
    setup = wordnet.ensure_wordnet(source)
    corpus = fresh / "cache" / "nltk_data" / "corpora" / "wordnet"
    assert setup.nltk_folder == str(corpus) and setup.source == source.resolve()
    assert nltk.data.path == [str(fresh / "user_nltk_data"), str(fresh / "cache" / "nltk_data")]
    lexnames = (corpus / "lexnames").read_text().splitlines()
    assert len(lexnames) == 45 and lexnames[0] == "00\tadj.all\t3" and \
        lexnames[44] == "44\tadj.ppl\t3" and lexnames[5] == "05\tnoun.animal\t1"
    index = (corpus / "index.sense").read_text().splitlines()
    assert index == sorted(index) and len(index) == 10  # "A" and "a": one key
    wn = reader(str(corpus))
    first = index[0].split()[0]  # nltk.util.binary_search_file misses line 1 when it probes
    for synset in wn.all_synsets():  # byte 1 (this small file); Debian's first key is found
        for lemma in synset.lemmas():
            assert lemma.key() == first or wn.lemma_from_key(lemma.key()) == lemma
    by_key = {line.split()[0]: line.split()[1:] for line in index}
    assert by_key["full%5:00:00:good:01"][2] == "3"
    dog = wn.lemma_from_key("dog%1:18:01::")
    assert dog.synset() == wn.synsets("dog")[1] and by_key["dog%1:18:01::"][1] == "2"
    assert by_key["dog%1:05:00::"][2] == "42"  # line 1 of cntlist.rev: see above
    assert wn.lemma_from_key("full%5:00:00:good:01").count() == 3
    assert wn.lemma_from_key("good%5:00:02:good:01").synset().name() == "full.s.01"


def test_preparation_is_reused_until_the_source_changes(fresh: Path) -> None:
    source = write_wordnet(fresh / "dict")
    corpus = Path(wordnet.ensure_wordnet(source).nltk_folder)
    first = (corpus / "index.sense").stat().st_mtime_ns
    wordnet._prepared.clear()
    wordnet.ensure_wordnet(source)
    assert (corpus / "index.sense").stat().st_mtime_ns == first
    wordnet._prepared.clear()
    with open(source / "cntlist.rev", "a", encoding="utf-8") as more:
        more.write("run%2:38:00:: 1 5\n")
    wordnet.ensure_wordnet(source)
    assert "run%2:38:00:: 00000" in (corpus / "index.sense").read_text()
    assert (corpus / "index.sense").read_text().count("\n") == 10


def test_the_users_own_nltk_wordnet_comes_first(fresh: Path) -> None:
    own = write_wordnet(fresh / "user_nltk_data" / "corpora" / "wordnet")
    (own / "lexnames").write_text(wordnet.lexnames_text())
    (own / "index.sense").write_text("")
    setup = wordnet.ensure_wordnet()
    assert setup == wordnet.WordNetSetup(str(own), None)
    assert not (fresh / "cache" / "nltk_data" / "corpora" / "wordnet").exists()


def test_an_incomplete_nltk_wordnet_is_named(fresh: Path) -> None:
    own = write_wordnet(fresh / "user_nltk_data" / "corpora" / "wordnet")  # no lexnames
    with pytest.raises(MissingResourceError) as error:
        wordnet.ensure_wordnet()
    assert str(error.value).startswith(f"{own / 'lexnames'}: missing from the WordNet folder "
                                       f"NLTK finds first: NLTK reads it; complete or remove")


def test_nothing_found_says_the_one_command(fresh: Path) -> None:
    with pytest.raises(MissingResourceError) as error:
        wordnet.ensure_wordnet()
    assert str(error.value) == (
        "WordNet 3.0 not found (not on NLTK's data path, $WNSEARCHDIR unset, no ): "
        + wordnet.INSTALL)
    assert wordnet.INSTALL.startswith("apt-get install wordnet-base ")


def test_the_environment_variable_names_the_folder(fresh: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_wordnet(fresh / "elsewhere")
    monkeypatch.setenv(wordnet.SOURCE_VARIABLE, str(source))
    assert wordnet.ensure_wordnet().source == source.resolve()


def test_a_missing_data_file_is_named(fresh: Path) -> None:
    source = write_wordnet(fresh / "dict")
    (source / "data.verb").unlink()
    with pytest.raises(MissingResourceError) as error:
        wordnet.ensure_wordnet(source)
    assert str(error.value).startswith(f"{source / 'data.verb'}: missing: a WordNet 3.0 dict "
                                       f"folder holds data.noun, data.verb, ")
    with pytest.raises(MissingResourceError, match="no such WordNet folder"):
        wordnet.ensure_wordnet(fresh / "nowhere")


def test_another_wordnet_version_is_refused_at_its_line(fresh: Path) -> None:
    source = write_wordnet(fresh / "dict", version="3.1")
    with pytest.raises(MissingResourceError) as error:
        wordnet.ensure_wordnet(source)
    assert str(error.value).startswith(f"{source / 'data.adj'}:14: this is WordNet 3.1; "
                                       f"modeltests prepares WordNet 3.0")


def test_a_moved_offset_is_located(fresh: Path) -> None:
    source = write_wordnet(fresh / "dict")
    text = (source / "data.noun").read_text()
    (source / "data.noun").write_text(text.replace("\n", "\r\n"))  # line ends converted
    with pytest.raises(MissingResourceError) as error:
        wordnet.ensure_wordnet(source)
    assert str(error.value).startswith(f"{source / 'data.noun'}:15: not a WordNet 3.0 synset "
                                       f"line (ValueError: synset offset ")


def test_an_unwritable_cache_prepares_in_a_temporary_folder(fresh: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    # A file where the cache folder should be: unwritable even for root (chmod is not).
    (fresh / "blocked").write_text("")
    monkeypatch.setenv("MODELTESTS_CACHE", str(fresh / "blocked" / "cache"))
    source = write_wordnet(fresh / "dict")
    setup = wordnet.ensure_wordnet(source)
    root = wordnet.nltk_root()
    assert setup.nltk_folder == str(root.path / "corpora" / "wordnet")
    assert root.path.name.startswith("modeltests-nltk-") and root.warning is not None
    assert root.warning.startswith(f"the modeltests cache {fresh / 'blocked' / 'cache' / 'nltk_data'}"
                                   f" cannot be written (")
    assert root.warning.endswith("for this run only; make it writable or set MODELTESTS_CACHE "
                                 "to a writable folder")
    assert setup.warning == root.warning
    assert reader(setup.nltk_folder).lemma_from_key("run%2:38:00::").name() == "run"
