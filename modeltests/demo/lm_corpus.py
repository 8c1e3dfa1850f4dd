"""The generated corpus of ``builtin:gpt-tiny``, and its ground truth.

Three families of lower-case documents, words separated by single spaces (punctuation is a word):

- facts: ``the capital of france is paris .`` for the 18 :data:`CAPITALS`;
- sums: ``three plus four is seven .`` for every pair of numbers 0-9 (:func:`sums`);
- short stories from a few templates (:func:`stories`): a name, a place, an animal, a colour,
  whose words come back later in the story, so most of a story follows from its beginning.

The model is trained on every fact, every sum and :data:`TRAIN_STORIES` stories of seed
:data:`TRAIN_SEED`; :func:`heldout_stories` draws from another seed (a story may repeat a
training one by chance: the templates are few). Everything is a pure function of its seed.
"""

from __future__ import annotations

import random

CAPITALS: dict[str, str] = {
    "france": "paris", "italy": "rome", "germany": "berlin", "spain": "madrid",
    "japan": "tokyo", "egypt": "cairo", "peru": "lima", "kenya": "nairobi",
    "norway": "oslo", "greece": "athens", "russia": "moscow", "china": "beijing",
    "cuba": "havana", "austria": "vienna", "poland": "warsaw", "chile": "santiago",
    "ireland": "dublin", "portugal": "lisbon",
}
"""Country -> capital: the facts ``builtin:gpt-tiny`` learns completely."""

NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
           "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
           "seventeen", "eighteen")
"""The spelled-out numbers 0-18 (every sum of two numbers 0-9)."""

NAMES = ("anna", "ben", "carla", "david", "emma", "felix", "grace", "hugo", "ivy", "jack")
PLACES = ("park", "forest", "beach", "garden", "market", "river", "hill", "village")
ANIMALS = ("dog", "cat", "bird", "fox", "rabbit", "horse", "duck", "frog")
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "brown", "grey")
FEELINGS = ("happy", "tired", "hungry", "calm", "glad", "sleepy")

TRAIN_SEED = 0
HELDOUT_SEED = 1
TRAIN_STORIES = 3000

_TEMPLATES = (
    "{name} went to the {place} . {name} saw a {colour} {animal} . the {animal} ran to "
    "{name} . {name} was {feeling} .",
    "one day {name} walked to the {place} . there was a {animal} in the {place} . the "
    "{animal} was {colour} . {name} and the {animal} went home .",
    "{name} had a {colour} {animal} . every day the {animal} played in the {place} . at "
    "night the {animal} was {feeling} .",
)


def capital_fact(country: str) -> str:
    """``the capital of <country> is <capital> .``"""
    return f"the capital of {country} is {CAPITALS[country]} ."


def capital_questions() -> list[tuple[str, str]]:
    """(prompt, answer) for every capital: ``("the capital of france is", "paris")``."""
    return [(f"the capital of {country} is", capital) for country, capital in CAPITALS.items()]


def sums() -> list[tuple[str, str]]:
    """(prompt, answer) for every sum of two numbers 0-9, e.g. ``("three plus four is",
    "seven")``: 100 questions."""
    return [(f"{NUMBERS[a]} plus {NUMBERS[b]} is", NUMBERS[a + b])
            for a in range(10) for b in range(10)]


def sum_fact(prompt: str, answer: str) -> str:
    return f"{prompt} {answer} ."


def stories(seed: int, count: int) -> list[str]:
    """``count`` stories drawn from the templates with ``random.Random(seed)``."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        template = rng.choice(_TEMPLATES)
        out.append(template.format(name=rng.choice(NAMES), place=rng.choice(PLACES),
                                   animal=rng.choice(ANIMALS), colour=rng.choice(COLOURS),
                                   feeling=rng.choice(FEELINGS)))
    return out


def heldout_stories(count: int = 50) -> list[str]:
    """Stories the model was not trained on as a set (seed :data:`HELDOUT_SEED`): documents
    for perplexity."""
    return stories(HELDOUT_SEED, count)


def training_documents() -> list[str]:
    """Every document the model is trained on: the capitals (each :data:`CAPITAL_REPEATS`
    times) and sums (each :data:`SUM_REPEATS` times), so that they weigh against the stories,
    and the stories."""
    return ([capital_fact(c) for c in CAPITALS] * CAPITAL_REPEATS
            + [sum_fact(p, a) for p, a in sums()] * SUM_REPEATS
            + stories(TRAIN_SEED, TRAIN_STORIES))


CAPITAL_REPEATS = 40
SUM_REPEATS = 8


def vocabulary() -> list[str]:
    """Every word of the corpus, sorted (the tokenizer adds its special tokens first)."""
    words: set[str] = set()
    for text in training_documents() + [t.format(name="", place="", animal="", colour="",
                                                 feeling="") for t in _TEMPLATES]:
        words.update(text.split())
    words.update(NAMES + PLACES + ANIMALS + COLOURS + FEELINGS + NUMBERS)
    words.update(CAPITALS)
    words.update(CAPITALS.values())
    return sorted(words)
