"""Perturbations of prompts for generators: CheckList's edits, look-alike letters, and WordNet
synonyms, each a seeded function of the text (the same seed, the same perturbed prompt).

``typos``, ``case``, ``whitespace``, ``punctuation`` and ``contractions`` are
:data:`modeltests.perturb.checklist.PERTURBATIONS`; ``homoglyphs`` swaps one ASCII letter in ten
(at least one) for its look-alike of another script (:mod:`modeltests.perturb.homoglyphs`);
``synonyms`` swaps one word of four letters or more for a WordNet synonym of the same part of
speech (NLTK's WordNet, prepared by :mod:`modeltests.perturb.wordnet`; stop words never swap).
"""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path
from typing import Literal

from modeltests.perturb.checklist import perturb as checklist_perturb
from modeltests.perturb.homoglyphs import homoglyphs

PromptPerturbation = Literal["typos", "case", "whitespace", "punctuation", "contractions",
                             "homoglyphs", "synonyms"]
PROMPT_PERTURBATIONS: tuple[PromptPerturbation, ...] = (
    "typos", "case", "whitespace", "punctuation", "contractions", "homoglyphs", "synonyms")
NEEDS_WORDNET = ("synonyms",)

_WORD = re.compile(r"[A-Za-z]{4,}")
STOPWORDS_FILE = Path(__file__).with_name("stopwords_english.txt")


def perturb_prompt(text: str, name: PromptPerturbation, seed: int) -> str | None:
    """``text`` perturbed by ``name`` with a generator seeded by (seed, name, text); None when
    the perturbation does not apply or changes nothing."""
    rng = random.Random(f"{seed}:{name}:{text}")
    if name == "homoglyphs":
        changed = swap_homoglyphs(text, rng)
    elif name == "synonyms":
        changed = swap_synonym(text, rng)
    else:
        return checklist_perturb(text, name, seed)
    return None if changed is None or changed == text else changed


def swap_homoglyphs(text: str, rng: random.Random) -> str | None:
    """One ASCII letter in ten (at least one) replaced by its homoglyph."""
    table = homoglyphs()
    places = [i for i, c in enumerate(text) if c in table]
    if not places:
        return None
    chosen = set(rng.sample(places, max(1, len(places) // 10)))
    return "".join(table[c] if i in chosen else c for i, c in enumerate(text))


@cache
def _stopwords() -> frozenset[str]:
    return frozenset(w.strip().lower() for w in
                     STOPWORDS_FILE.read_text(encoding="utf-8").split() if w.strip())


def swap_synonym(text: str, rng: random.Random) -> str | None:
    """One word (four letters or more, not a stop word) replaced by a single-word WordNet
    synonym, in the word's case; None when no word has one. Needs NLTK's WordNet."""
    from nltk.corpus import wordnet

    words = [m for m in _WORD.finditer(text) if m.group().lower() not in _stopwords()]
    rng.shuffle(words)
    for match in words:
        word = match.group()
        lemmas = sorted({str(lemma.name()) for synset in wordnet.synsets(word.lower())
                         for lemma in synset.lemmas()
                         if "_" not in lemma.name() and lemma.name().lower() != word.lower()})
        if lemmas:
            new = str(rng.choice(lemmas))
            new = new.capitalize() if word[0].isupper() else new
            return text[:match.start()] + new + text[match.end():]
    return None
