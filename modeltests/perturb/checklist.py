"""Text perturbations and small lexicons for behavioural tests (CheckList's vocabulary).

Each perturbation is a pure function ``(text, rng) -> str | None``: the perturbed text, or None
when it does not apply (no name to swap, no number to change). ``rng`` is a ``random.Random``,
so a seed fixes every choice. The lexicons are the project's own short lists; suites can use
them in templates by name (``{name}``, ``{city}``, ``{pos_adj}`` ...).
"""

from __future__ import annotations

import random
import re
from typing import Callable

Perturbation = Callable[[str, random.Random], "str | None"]

LEXICONS: dict[str, tuple[str, ...]] = {
    "name": ("Mary", "John", "Aisha", "Carlos", "Mei", "Olga", "Kwame", "Priya", "Liam", "Fatima",
             "Hiroshi", "Sofia", "Ahmed", "Emma", "Diego", "Ingrid", "Tunde", "Chloe", "Ravi",
             "Noah"),
    "city": ("Paris", "Lagos", "Tokyo", "Chicago", "Mumbai", "Berlin", "Lima", "Cairo", "Toronto",
             "Seoul", "Madrid", "Nairobi", "Sydney", "Oslo", "Manila", "Dublin"),
    "country": ("France", "Nigeria", "Japan", "Canada", "India", "Germany", "Peru", "Egypt",
                "Brazil", "Kenya", "Norway", "Mexico", "Vietnam", "Ireland", "Chile", "Poland"),
    "pos_adj": ("great", "wonderful", "excellent", "amazing", "fantastic", "lovely", "superb",
                "delightful", "brilliant", "enjoyable"),
    "neg_adj": ("terrible", "awful", "horrible", "dreadful", "disappointing", "boring", "bad",
                "poor", "lousy", "annoying"),
    "neutral_adj": ("American", "international", "private", "commercial", "daily", "old"),
    "thing": ("movie", "book", "meal", "service", "hotel", "phone", "show", "game", "album",
              "course"),
}
NEUTRAL_WORDS = ("really", "just", "actually", "also", "today", "honestly", "basically", "so")
NEUTRAL_SUFFIXES = {"append_url": " https://t.co/x7Qp2mZ", "append_handle": " @user_4821"}
_CONTRACTIONS = {
    "is not": "isn't", "are not": "aren't", "was not": "wasn't", "were not": "weren't",
    "do not": "don't", "does not": "doesn't", "did not": "didn't", "can not": "can't",
    "cannot": "can't", "will not": "won't", "would not": "wouldn't", "could not": "couldn't",
    "should not": "shouldn't", "have not": "haven't", "has not": "hasn't", "I am": "I'm",
    "it is": "it's", "It is": "It's", "that is": "that's", "I would": "I'd", "I have": "I've",
    "we are": "we're", "they are": "they're", "you are": "you're", "I will": "I'll",
}
_EXPANSIONS = {short: long for long, short in _CONTRACTIONS.items() if long != "cannot"}
_WORD = re.compile(r"[A-Za-z]{3,}")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def typos(text: str, rng: random.Random) -> str | None:
    """Swap two neighbouring letters inside one word of three or more letters."""
    words = list(_WORD.finditer(text))
    if not words:
        return None
    match = rng.choice(words)
    i = rng.randrange(match.start(), match.end() - 1)
    if text[i] == text[i + 1]:
        return None
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def punctuation(text: str, rng: random.Random) -> str | None:
    """Remove the final punctuation mark, or add a full stop (or '!') when there is none."""
    stripped = text.rstrip()
    if not stripped:
        return None
    if stripped[-1] in ".!?;,":
        return stripped.rstrip(".!?;,")
    return stripped + rng.choice((".", "!"))


def case(text: str, rng: random.Random) -> str | None:
    """All lower case (or all upper case when the text is lower case already)."""
    lowered = text.lower()
    return lowered if lowered != text else text.upper() if text.upper() != text else None


def contractions(text: str, rng: random.Random) -> str | None:
    """Contract ("is not" -> "isn't") or expand ("isn't" -> "is not") one phrase."""
    options = [(a, b) for a, b in {**_CONTRACTIONS, **_EXPANSIONS}.items()
               if re.search(rf"\b{re.escape(a)}(?![\w'])", text)]
    if not options:
        return None
    old, new = rng.choice(sorted(options))
    return re.sub(rf"\b{re.escape(old)}(?![\w'])", new, text, count=1)


def whitespace(text: str, rng: random.Random) -> str | None:
    """Double one space, or add a trailing space when there is none."""
    spaces = [m.start() for m in re.finditer(" ", text)]
    if not spaces:
        return text + " "
    i = rng.choice(spaces)
    return text[:i] + " " + text[i:]


def _swap_from(lexicon: tuple[str, ...]) -> Perturbation:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, lexicon)) + r")\b")

    def swap(text: str, rng: random.Random) -> str | None:
        found = sorted({m.group(1) for m in pattern.finditer(text)})
        if not found:
            return None
        old = rng.choice(found)
        new = rng.choice([w for w in lexicon if w != old])
        return re.sub(rf"\b{re.escape(old)}\b", new, text)

    return swap


names = _swap_from(LEXICONS["name"])
names.__doc__ = "Replace every occurrence of one person name from the name lexicon."
_cities = _swap_from(LEXICONS["city"])
_countries = _swap_from(LEXICONS["country"])


def locations(text: str, rng: random.Random) -> str | None:
    """Replace a city or a country from the lexicons by another one."""
    return _cities(text, rng) or _countries(text, rng)


def numbers(text: str, rng: random.Random) -> str | None:
    """Change one number (digits, or a number word from one to ten) to another."""
    digits = list(_NUMBER.finditer(text))
    if digits:
        match = rng.choice(digits)
        value = float(match.group())
        new = str(max(1, int(value) + rng.choice((-2, -1, 1, 2, 10))))
        return text[:match.start()] + new + text[match.end():]
    pattern = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
    words = list(pattern.finditer(text))
    if not words:
        return None
    match = rng.choice(words)
    new = rng.choice([w for w in _NUMBER_WORDS if w != match.group().lower()])
    return text[:match.start()] + new + text[match.end():]


def append_url(text: str, rng: random.Random) -> str | None:
    """Append a neutral short URL."""
    return text.rstrip() + NEUTRAL_SUFFIXES["append_url"]


def append_handle(text: str, rng: random.Random) -> str | None:
    """Append a neutral @handle."""
    return text.rstrip() + NEUTRAL_SUFFIXES["append_handle"]


def neutral_word(text: str, rng: random.Random) -> str | None:
    """Insert one neutral word ("really", "today" ...) between two words."""
    words = text.split(" ")
    if len(words) < 2:
        return None
    i = rng.randrange(1, len(words))
    return " ".join(words[:i] + [rng.choice(NEUTRAL_WORDS)] + words[i:])


PERTURBATIONS: dict[str, Perturbation] = {
    "typos": typos, "punctuation": punctuation, "case": case, "contractions": contractions,
    "whitespace": whitespace, "names": names, "locations": locations, "numbers": numbers,
    "append_url": append_url, "append_handle": append_handle, "neutral_word": neutral_word,
}


def perturb(text: str, name: str, seed: int) -> str | None:
    """``PERTURBATIONS[name]`` applied with its own seeded generator; None if it does not apply
    or leaves the text unchanged."""
    rng = random.Random(f"{seed}:{name}:{text}")
    changed = PERTURBATIONS[name](text, rng)
    return None if changed is None or changed == text else changed


# -- character edits for property-based search (positions are shrinkable integers) -------------

EDIT_KINDS = ("swap", "delete", "insert", "substitute")


def apply_char_edits(text: str, edits: list[tuple[str, int, str]]) -> str:
    """Apply ``(kind, position, letter)`` edits in order; positions wrap around the text."""
    for kind, position, letter in edits:
        if not text:
            break
        i = position % len(text)
        if kind == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif kind == "delete":
            text = text[:i] + text[i + 1:]
        elif kind == "insert":
            text = text[:i] + letter + text[i:]
        elif kind == "substitute":
            text = text[:i] + letter + text[i + 1:]
    return text


def insert_words(text: str, insertions: list[tuple[int, str]]) -> str:
    """Insert words at word positions (wrapping around), in order."""
    words = text.split(" ")
    for position, word in insertions:
        i = position % (len(words) + 1)
        words.insert(i, word)
    return " ".join(words)
