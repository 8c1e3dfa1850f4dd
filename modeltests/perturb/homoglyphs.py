"""The project's homoglyph table: ASCII letters and look-alike letters of other scripts.

TextAttack 0.3.11's ``WordSwapHomoglyphSwap`` reads ``textattack/shared/intentional_homoglyphs.txt``,
which its wheel does not ship; modeltests' ``homoglyph`` transformation gives it this table
instead. The pairs are those of Unicode's intentional confusables list (UTS #39) whose first
character is an ASCII letter; ``modeltests/perturb/homoglyphs.txt`` cites the source and version.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

TABLE_FILE = Path(__file__).parent / "homoglyphs.txt"


@cache
def homoglyphs() -> dict[str, str]:
    """``{ascii letter: homoglyph}`` read from the shipped table (comments after ``#``)."""
    table: dict[str, str] = {}
    for number, line in enumerate(TABLE_FILE.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ValueError(f"{TABLE_FILE}:{number}: expected two code points, got {line!r}")
        source, target = (chr(int(field, 16)) for field in fields)
        table[source] = target
    return table
