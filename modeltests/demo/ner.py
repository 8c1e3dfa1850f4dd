"""Generated NER sentences: templates filled from small lexicons of people, places and
organisations, tagged in IOB2 (``O``, ``B-PER``, ``I-PER``, ``B-LOC``, ...).

Each lexicon is split: training sentences draw from the first part only; evaluation sentences
from all of it, so about a third of the evaluation entities are names the model never saw and
it must tag them from their context. :data:`SWAPS` are the lexicons the demo suite's
``entity_invariance`` check swaps in.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")

PEOPLE = ("Anna Schmidt", "John", "Maria Garcia", "Wei Chen", "Fatima", "Peter Brown",
          "Olga Ivanova", "Kenji Sato", "Amara Okafor", "Lucas", "Sofia Rossi", "David Cohen",
          "Priya Patel", "Tom", "Elena Petrova", "Ahmed Hassan", "Laura", "Carlos Mendez",
          # held out of training
          "Ingrid Larsen", "Mateo", "Hannah Weber", "Yusuf Demir", "Chloe Martin", "Ravi")
PLACES = ("Paris", "Berlin", "New York", "Tokyo", "Cairo", "Lima", "Oslo", "Madrid",
          "Buenos Aires", "Nairobi", "Toronto", "Rome", "San Francisco", "Seoul", "Dublin",
          "Mumbai", "Vienna", "Cape Town",
          # held out of training
          "Lisbon", "Hanoi", "Rio de Janeiro", "Prague", "Accra", "Helsinki")
ORGS = ("Acme Corp", "the United Nations", "Globex", "Initech", "Red Cross", "Siemens",
        "World Bank", "Umbrella Group", "Stark Industries", "Nordic Rail", "Blue Sky Airlines",
        "Apex Bank",
        # held out of training
        "Vertex Labs", "Oceanic Foods", "Pioneer Media", "Summit Energy")
HELD_OUT = {"PER": 6, "LOC": 6, "ORG": 4}
"""How many names at the end of each lexicon training never sees."""

LEXICONS = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}

TEMPLATES = (
    "{PER} moved to {LOC} last year .",
    "{PER} works for {ORG} in {LOC} .",
    "Yesterday {PER} met {PER} at the station .",
    "{ORG} opened a new office in {LOC} .",
    "The report says {ORG} hired {PER} .",
    "She flew from {LOC} to {LOC} on Monday .",
    "According to {PER} , {ORG} will grow this year .",
    "{PER} was born in {LOC} .",
    "Shares of {ORG} fell sharply today .",
    "We visited {LOC} with {PER} in spring .",
    "{PER} said the weather in {LOC} was cold .",
    "A spokesperson for {ORG} declined to comment .",
    "{PER} and {PER} founded {ORG} .",
    "Nothing happened in the city that week .",
    "The meeting was moved to Tuesday .",
    "{ORG} signed a deal with {ORG} .",
)

SWAPS = {"PER": ["Nadia Novak", "Omar", "Julia Keller", "Sven", "Aiko Tanaka"],
         "LOC": ["Lagos", "Zurich", "Mexico City", "Perth", "Bangkok"]}
"""Names the demo suite's invariance check swaps in (unseen in training)."""


SYLLABLES = ("ka", "lo", "mi", "ren", "sa", "to", "vi", "dan", "el", "or", "bu", "ne", "zar",
             "li", "mo", "ta", "ine", "ber", "go", "ul")
ORG_SUFFIXES = ("Corp", "Group", "Labs", "Bank", "Media", "Foods", "Energy", "Airlines")
INVENTED_SHARE = 0.5
"""Share of training entities that are invented names (syllables, capitalised): the model
must then learn entities from their context and shape, not only by heart."""


def _invented(rng: random.Random, kind: str) -> str:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    if kind == "ORG":
        return f"{word()} {rng.choice(ORG_SUFFIXES)}"
    return " ".join(word() for _ in range(rng.choice((1, 1, 2))))


def _pool(kind: str, split: str) -> tuple[str, ...]:
    names = LEXICONS[kind]
    return names[:-HELD_OUT[kind]] if split == "train" else names


def sentence(rng: random.Random, split: str) -> tuple[list[str], list[str]]:
    """One generated sentence: its words and IOB2 tags."""
    words: list[str] = []
    tags: list[str] = []
    for piece in rng.choice(TEMPLATES).split():
        kind = piece[1:-1] if piece.startswith("{") else None
        if kind is None:
            words.append(piece)
            tags.append("O")
            continue
        invented = split == "train" and rng.random() < INVENTED_SHARE
        name = (_invented(rng, kind) if invented else rng.choice(_pool(kind, split))).split()
        words.extend(name)
        tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1))
    return words, tags


def sentences(seed: int, count: int, split: str) -> list[tuple[list[str], list[str]]]:
    """``count`` sentences of ``split`` ("train" or "eval"), fixed by ``seed``."""
    rng = random.Random(f"{split}-{seed}")
    return [sentence(rng, split) for _ in range(count)]


def write_eval_files(directory: Path, count: int = 300, conll_count: int = 40) -> None:
    """The demo suite's data: ``ner_eval.jsonl`` (``tokens`` / ``tags``) and a CoNLL copy of
    its first ``conll_count`` sentences, ``ner_eval.conll``."""
    rows = sentences(1, count, "eval")
    lines = [json.dumps({"tokens": w, "tags": t}) for w, t in rows]
    (directory / "ner_eval.jsonl").write_text("\n".join(lines) + "\n")
    blocks = ["\n".join(f"{word} {tag}" for word, tag in zip(w, t)) for w, t in rows[:conll_count]]
    (directory / "ner_eval.conll").write_text("\n\n".join(blocks) + "\n")
