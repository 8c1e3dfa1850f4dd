"""The project's homoglyph table (``modeltests/data/homoglyphs.txt``): every pair is an ASCII
letter and a non-ASCII letter of another script, and each line's names are Unicode's names of its
two code points."""

from __future__ import annotations

import unicodedata

from modeltests.perturb.homoglyphs import TABLE_FILE, homoglyphs


def test_every_pair_is_an_ascii_letter_and_a_letter_of_another_script() -> None:
    table = homoglyphs()
    assert len(table) == 29 and set("aceopsxyABCEHIJKMNOPSTXYZ") <= set(table)
    for letter, glyph in table.items():
        assert letter.isascii() and letter.isalpha(), letter
        assert not glyph.isascii() and unicodedata.category(glyph).startswith("L"), glyph
        assert unicodedata.name(glyph).split()[0] in {"GREEK", "CYRILLIC"}, glyph


def test_each_line_names_its_code_points_as_unicode_does() -> None:
    lines = [line for line in TABLE_FILE.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    assert len(lines) == len(homoglyphs())
    for line in lines:
        source, target, comment = line.split("\t", 2)
        a, b = chr(int(source, 16)), chr(int(target, 16))
        assert comment == f"# {a} ~ {b}  {unicodedata.name(a)} ~ {unicodedata.name(b)}", line
    assert "intentional.txt" in TABLE_FILE.read_text(encoding="utf-8")
