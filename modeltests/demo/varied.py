"""Labelled texts whose characters-per-token vary widely, like posts users actually test on.

Each text is one to four evaluation sentences of :mod:`modeltests.demo.corpus` (which give the
label) decorated, at random, with sentiment-neutral noise: URLs, @handles, #hashtags, runs of
emoji, numbers (prices, dates, phone numbers) and snippets of non-Latin scripts. A URL or a
Chinese phrase costs many more tokens per character than plain English, and emoji cost one token
each, so sorting such texts by characters batches them badly; the accuracy benchmark
(``benchmarks/accuracy.py``) measures batching on them. Seeded: the same arguments give the same
texts.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from modeltests.demo.corpus import evaluation_examples

EMOJI = "😀😂😍🤔😡😭👍👎🔥🎉💯🙏✨🚀🍕🎬⭐💔😴🤷"
SCRIPTS = ("今天的天气很好，我们去公园散步吧", "東京の電車はとても混んでいます", "Привет, как дела у тебя сегодня",
           "Καλημέρα σε όλους τους φίλους", "مرحبا بكم في المدينة الجميلة", "नमस्ते आप कैसे हैं",
           "안녕하세요 만나서 반갑습니다", "שלום לכולם ותודה רבה")
WORDS = ("movie", "night", "review", "food", "city", "launch", "weekend", "team", "music", "news")


def varied_examples(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` texts and their labels (``negative``/``positive``), decorated as described above."""
    rng = random.Random(seed)
    rows = evaluation_examples()
    texts, labels = [], []
    for _ in range(n):
        first = rng.choice(rows)
        same = [r["text"] for r in rng.sample(rows, 30) if r["label"] == first["label"]]
        parts = [first["text"], *same[:rng.choice([0, 0, 0, 1, 3])]]
        for _ in range(rng.choice([0, 1, 1, 2, 4, 8])):
            parts.insert(rng.randrange(len(parts) + 1), _decoration(rng))
        texts.append(" ".join(parts))
        labels.append(first["label"])
    return texts, labels


def _decoration(rng: random.Random) -> str:
    kind = rng.choice(("url", "handle", "hashtag", "emoji", "number", "script"))
    if kind == "url":
        path = "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(6, 24)))
        return f"https://{rng.choice(('t.co', 'bit.ly', 'example.com/a/b'))}/{path}"
    if kind == "handle":
        return f"@{rng.choice(WORDS)}_{rng.choice(WORDS)}{rng.randint(1, 9999)}"
    if kind == "hashtag":
        return "#" + "".join(w.capitalize() for w in rng.sample(WORDS, rng.randint(1, 3)))
    if kind == "emoji":
        return "".join(rng.choices(EMOJI, k=rng.randint(1, 12)))
    if kind == "number":
        return rng.choice((f"${rng.randint(1, 99999) / 100:.2f}", f"{rng.randint(1, 28)}/"
                           f"{rng.randint(1, 12)}/20{rng.randint(10, 29)}",
                           f"+1 ({rng.randint(200, 999)}) {rng.randint(100, 999)}-"
                           f"{rng.randint(1000, 9999)}", f"{rng.randint(1, 10**9):,}"))
    return rng.choice(SCRIPTS)


def write_varied_csv(path: str | Path, n: int = 1500, seed: int = 0) -> Path:
    """Write :func:`varied_examples` as a ``text,label`` CSV file; returns its path."""
    import csv

    target = Path(path)
    texts, labels = varied_examples(n, seed)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    return target
