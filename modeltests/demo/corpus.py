"""A deterministic generator of English sentiment sentences for the demo suite.

Sentences come from hand-written templates (:data:`TEMPLATES`) filled from the lexicons in
:mod:`modeltests.demo.lexicon`. Six phenomena are covered: ``plain`` statements, ``negation``
("not bad at all"), ``contrast`` (the label follows the final clause), ``short`` exclamations,
``long`` multi-clause sentences and ``intensifier`` ("absolutely awful").

Some templates and lexicon entries are held out of training (``split="eval"`` / a ``*`` prefix),
so the evaluation set partly uses phrasings a model never saw, and no evaluation sentence ever
appears in the training data. Every function is seeded through ``random.Random``; the same
arguments always give the same sentences in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from modeltests.demo import lexicon as lx
from modeltests.demo.lexicon import NEGATIVE, POSITIVE, Topic

PHENOMENA: tuple[str, ...] = ("plain", "negation", "contrast", "short", "long", "intensifier")
EVAL_SEED = 20240917
EVAL_PER_CELL = 50  # sentences per (phenomenon, label): 6 x 2 x 50 = 600
_MAX_TRIES = 60
# Held-out templates are drawn half as often as shared ones: about one evaluation sentence in
# eight uses a phrasing absent from training.
_HELD_OUT_WEIGHT = 0.5


class Template(NamedTuple):
    """One sentence pattern; ``label`` None fits both labels, ``split`` is both/train/eval."""

    text: str
    phenomenon: str
    label: str | None = None
    split: str = "both"


def _t(
    phenomenon: str, *texts: str, label: str | None = None, split: str = "both"
) -> list[Template]:
    return [Template(text, phenomenon, label, split) for text in texts]


TEMPLATES: tuple[Template, ...] = tuple(
    _t("plain", "{Aspect} {be} {adj}.", "I {verb} {item}.", "{Person} {said} {aspect} {be} {adj}.",
       "It was {a_adj} {noun}.", "{Clause}.", "Overall, {item} was {adj}.",
       "{Aspect} {be} {adj} and {aspect2} {be2} {adj2}.")
    + _t("plain", "{Item} was {adj}, and {clause}.", "My friends {verb} {item}.",
         "{Item} was {adj}, so I {consequence}.", split="train")
    + _t("plain", "We {verb} {item} and {clause}.",
         "{Person} {said} {item} was {adj} because {tclause}.", split="eval")
    + _t("plain", "I'm glad I {past} {item}.", "I would recommend {item} to anyone.",
         label=POSITIVE)
    + _t("plain", "{Item} exceeded my expectations.", label=POSITIVE, split="eval")
    + _t("plain", "I regret {gerund} {item}.", "{Item} was a waste of {cost}.", label=NEGATIVE)
    + _t("plain", "Stay away from {item}.", label=NEGATIVE, split="eval")
    # Negation: the negated word has the opposite polarity of the label.
    + _t("negation", "{Aspect} {be} not {nadj} at all.", "{Aspect} {bent} {nadj} in the slightest.")
    + _t("negation", "{Item} never disappointed me.", "I have no complaints about {item}.",
         "There was nothing wrong with {aspect}.", "I would not hesitate to recommend {item}.",
         "I couldn't find a single flaw in {item}.", label=POSITIVE)
    + _t("negation", "{Item} did not disappoint.", "I was not disappointed by {item} at all.",
         "{Item} didn't let me down.", label=POSITIVE, split="train")
    + _t("negation", "I can't say anything bad about {item}.",
         "Not once did {item} let me down.", label=POSITIVE, split="eval")
    + _t("negation", "{Aspect} {be} not {nadj}.", "I would not recommend {item}.",
         "I wouldn't recommend {item} to anyone.", "I didn't enjoy {item} at all.",
         "{Item} did not live up to the hype.", "Nobody in our group liked {item}.",
         "There was nothing good about {aspect}.", label=NEGATIVE)
    + _t("negation", "I will never {again}.", "{Item} was not worth the {cost}.",
         "{Item} didn't impress me.", label=NEGATIVE, split="train")
    + _t("negation", "There is no way I'll {again}.", "I didn't like {item} one bit.",
         "{Item} was nothing special.", label=NEGATIVE, split="eval")
    # Contrast: an opposite-polarity clause, then the clause that decides the label.
    + _t("contrast", "{Xclause}, but {clause}.", "Although {xclause}, {clause}.",
         "{Xclause}; however, {clause}.", "{Xclause}, but {summary}.",
         "Even though {xclause}, {summary}.")
    + _t("contrast", "Sure, {xclause}, but {summary}.", "{Xclause}. Still, {summary}.",
         split="train")
    + _t("contrast", "{Xclause}, yet {clause}.", "While {xclause}, {summary}.",
         "{Xclause}, but honestly {clause}.", split="eval")
    # Short exclamations (five words at most).
    + _t("short", "{Excl}", "{Sadj} {headline}{punct}", "{Sadj}{punct}", "{Sverb} it{punct}",
         "{Sadj} {headline}, {sverb} it.")
    + _t("short", "{Sadj}, {sadj2}, {sadj3}.", split="train")
    + _t("short", "Simply {eadj}!", "What {a_adj} {noun}!", split="eval")
    # Long multi-clause sentences, all clauses of the label's polarity.
    + _t("long", "{Opener}, and {clause}, {clause2}, and {clause3}, so {summary}.",
         "{Opener}; {clause}, {clause2}, and on top of that {clause3}.")
    + _t("long", "{Opener}, and I have to say that {clause} and {clause2}, which is why {summary}.",
         split="train")
    + _t("long", "{Opener}, and honestly {clause}, {clause2} and {clause3}; {summary}.",
         "{Person} {said} {tclause}, and after {gerund} {item} myself I can confirm that {clause2} "
         "and {clause3}, so {summary}.", split="eval")
    # Intensifiers.
    + _t("intensifier", "{Aspect} {be} {gint} {gadj}.", "{Aspect} {be} {eint} {eadj}.",
         "{Item} was {eint} {eadj}!", "I {strong} {item}.",
         "{Item} was the {best} {noun} I have ever {perfect}.")
    + _t("intensifier", "Hands down the {best} {noun} I have {perfect} in years.",
         "{Aspect} {be} {gint} {gadj}, and {clause}.", split="train")
    + _t("intensifier", "Easily the {best} {noun} I have {perfect} this year.",
         "{Aspect} {be} so {gadj} that I {consequence}.", split="eval")
)


_FAMILIES = {
    "aspect": "clause", "xclause": "clause", "tclause": "clause",
    "sadj": "adj", "gadj": "adj", "eadj": "adj",
}


def _opposite(label: str) -> str:
    return NEGATIVE if label == POSITIVE else POSITIVE


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _head(text: str) -> str:
    """The first two words: two clauses about the same aspect count as the same."""
    return " ".join(text.split()[:2])


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class _Filler(dict[str, str]):
    """Fills template slots lazily; each slot is drawn once per sentence.

    ``Slot`` is the capitalised ``slot``. Slots of one family (all clauses and aspects, all
    adjectives) start with different words, so a sentence never praises and pans one aspect.
    """

    def __init__(self, topic: Topic, label: str, split: str, rng: random.Random) -> None:
        super().__init__()
        self.topic, self.label, self.split, self.rng = topic, label, split, rng
        self._verbs: dict[str, str] = {}
        self._heads: dict[str, set[str]] = {}

    def __missing__(self, key: str) -> str:
        if key[:1].isupper():
            value = _capitalize(self[key[:1].lower() + key[1:]])
        else:
            value = self._distinct(key)
        self[key] = value
        return value

    def _distinct(self, key: str) -> str:
        base = key.rstrip("23")
        suffix = key[len(base):]
        if base in ("be", "bent"):
            return self._draw(base, suffix)
        used = self._heads.setdefault(_FAMILIES.get(base, base), set())
        for _ in range(_MAX_TRIES):
            value = self._draw(base, suffix)
            if _head(value) not in used:
                break
        used.add(_head(value))
        return value

    def _pick(self, words: tuple[str, ...]) -> str:
        return self.rng.choice(lx.pool(words, self.split))

    def _by_label(self, table: Mapping[str, tuple[str, ...]], opposite: bool = False) -> str:
        return self._pick(table[_opposite(self.label) if opposite else self.label])

    def _aspect(self, suffix: str) -> str:
        noun, verb = self._pick(self.topic.aspects).split("|")
        self._verbs[suffix] = verb
        return noun

    def _clause(self, label: str, third_person: bool = False) -> str:
        if self.rng.random() < 0.6:
            clauses = lx.pool(self.topic.clauses(label), self.split)
            if third_person:
                clauses = tuple(c for c in clauses if not set(c.split()) & set(lx.FIRST_PERSON))
            return self.rng.choice(clauses)
        noun, verb = self._pick(self.topic.aspects).split("|")
        used = self._heads.setdefault("adj", set())
        adjective = self._pick(lx.ADJECTIVES[label])
        for _ in range(_MAX_TRIES):
            if adjective not in used:
                break
            adjective = self._pick(lx.ADJECTIVES[label])
        used.add(adjective)
        return f"{noun} {verb} {adjective}"

    def _draw(self, base: str, suffix: str) -> str:
        simple = {
            "item": self.topic.items, "noun": self.topic.nouns, "headline": self.topic.headlines,
            "opener": self.topic.openers, "person": lx.PEOPLE, "said": lx.SAID,
            "gint": lx.GRADABLE_INTENSIFIERS, "eint": lx.EXTREME_INTENSIFIERS,
        }
        labelled: dict[str, Mapping[str, tuple[str, ...]]] = {
            "adj": lx.ADJECTIVES, "sadj": lx.ADJECTIVES, "gadj": lx.GRADABLE, "eadj": lx.EXTREME,
            "verb": lx.VERBS, "strong": lx.STRONG_VERBS, "sverb": lx.SHORT_VERBS,
            "excl": lx.EXCLAMATIONS, "consequence": lx.CONSEQUENCES,
        }
        if base in simple:
            return self._pick(simple[base])
        if base in labelled:
            return self._by_label(labelled[base])
        return self._special(base, suffix)

    def _special(self, base: str, suffix: str) -> str:
        topic = self.topic
        if base == "aspect":
            return self._aspect(suffix)
        if base in ("be", "bent"):
            self["aspect" + suffix]
            return self._verbs[suffix] + ("n't" if base == "bent" else "")
        fixed = {"past": topic.past, "gerund": topic.gerund, "perfect": topic.perfect,
                 "again": topic.again, "cost": topic.cost, "best": lx.SUPERLATIVES[self.label]}
        if base in fixed:
            return fixed[base]
        if base == "a_adj":
            return f"{_article(self['adj'])} {self['adj']}"
        if base == "nadj":
            return self._by_label(lx.NEGATABLE, opposite=True)
        if base in ("clause", "xclause", "tclause"):
            label = _opposite(self.label) if base == "xclause" else self.label
            return self._clause(label, third_person=base == "tclause")
        if base == "summary":
            return self._by_label(lx.SUMMARIES).format(again=topic.again, cost=topic.cost)
        if base == "punct":
            return self.rng.choice(("!", "."))
        raise KeyError(f"unknown template slot {base!r}")


def _templates(phenomenon: str, label: str, split: str) -> tuple[Template, ...]:
    return tuple(
        t for t in TEMPLATES
        if t.phenomenon == phenomenon and t.label in (None, label) and t.split in ("both", split)
    )


def generate_sentence(
    topic: Topic, phenomenon: str, label: str, split: str, rng: random.Random
) -> str:
    """Draw one sentence of ``phenomenon`` with sentiment ``label`` about ``topic``."""
    templates = _templates(phenomenon, label, split)
    weights = [_HELD_OUT_WEIGHT if t.split == "eval" else 1.0 for t in templates]
    template = rng.choices(templates, weights)[0]
    return template.text.format_map(_Filler(topic, label, split, rng))


def _unique_sentence(
    topic: Topic, phenomenon: str, label: str, split: str, rng: random.Random,
    *taken: set[str],
) -> str | None:
    for _ in range(_MAX_TRIES):
        text = generate_sentence(topic, phenomenon, label, split, rng)
        if not any(text in texts for texts in taken):
            return text
    return None


def evaluation_examples(seed: int = EVAL_SEED, per_cell: int = EVAL_PER_CELL
                        ) -> list[dict[str, str]]:
    """The evaluation set: ``per_cell`` sentences per (phenomenon, label), topics round-robin.

    Each example is a dict with ``text``, ``label``, ``topic`` and ``phenomenon``. The default
    gives 600 sentences, half of each label.
    """
    return [dict(row) for row in _evaluation_rows(seed, per_cell)]


@lru_cache(maxsize=4)
def _evaluation_rows(seed: int, per_cell: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    rng = random.Random(seed)
    taken: set[str] = set()
    rows: list[tuple[tuple[str, str], ...]] = []
    for p_index, phenomenon in enumerate(PHENOMENA):
        for i in range(per_cell * 2):
            label = lx.LABELS[i % 2]
            topic = lx.TOPICS[(i // 2 + p_index) % len(lx.TOPICS)]
            text = _unique_sentence(topic, phenomenon, label, "eval", rng, taken)
            if text is None:
                raise RuntimeError(f"cannot draw enough unique {phenomenon} sentences")
            taken.add(text)
            rows.append((("text", text), ("label", label), ("topic", topic.name),
                         ("phenomenon", phenomenon)))
    rng.shuffle(rows)
    return tuple(rows)


def training_examples(seed: int = 0, n: int = 3000) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs for fine-tuning, balanced over labels, phenomena and topics.

    Training sentences use only the training templates and lexicon entries, and never equal
    a sentence of the default :func:`evaluation_examples`.
    """
    rng = random.Random(seed)
    forbidden = {row["text"] for row in evaluation_examples()}
    seen: set[str] = set()
    examples: list[tuple[str, str]] = []
    for k in range(n):
        phenomenon = PHENOMENA[k % len(PHENOMENA)]
        label = lx.LABELS[(k // len(PHENOMENA)) % 2]
        topic = lx.TOPICS[(k // (2 * len(PHENOMENA))) % len(lx.TOPICS)]
        text = _unique_sentence(topic, phenomenon, label, "train", rng, forbidden, seen)
        while text is None or text in forbidden:  # pool exhausted: allow a repeat
            text = _unique_sentence(topic, phenomenon, label, "train", rng, forbidden)
        seen.add(text)
        examples.append((text, label))
    rng.shuffle(examples)
    return examples


def write_evaluation_csv(path: str | Path) -> Path:
    """Write :func:`evaluation_examples` to ``path`` as CSV (text, label, topic, phenomenon)."""
    import pandas as pd

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(evaluation_examples(), columns=["text", "label", "topic", "phenomenon"])
    frame.to_csv(target, index=False)
    return target
