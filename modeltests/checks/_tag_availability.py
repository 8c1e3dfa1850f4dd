"""``availability`` on a token-classification model: valid tag sequences on odd sentences.

A sentence is answered validly when the model returns one tag per word, every tag one of its
labels (:func:`modeltests.data.tags.validate_tags`). Tags that break IOB2 (``I-PER`` after
``O``) are not invalid answers — seqeval scores them — but are counted
(``bio_valid_rate``, not gated) and shown. Words past the model's ``max_length`` are tagged
``O`` by the adapter and reported per edge input (``truncated_words``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from modeltests.data.tags import TagPredictions, bio_problems

EDGE_SENTENCES: dict[str, list[str]] = {
    "empty sentence": [],
    "one word": ["Paris"],
    "1,800 words (past max_length)": ("Anna met John in Berlin and they talked . " * 200).split(),
    "unicode names": ["Zoë", "Ångström", "moved", "to", "Kraków", "and", "São", "Paulo", "."],
    "Chinese": ["王伟", "住在", "北京", "。"],
    "Arabic": ["سافر", "أحمد", "إلى", "القاهرة"],
    "emoji": ["😍", "Paris", "🔥", "👍"],
    "punctuation only": [".", ",", "!", "?", ";", "--", "..."],
    "control characters": ["bad\x00", "input\x07", "Berlin"],
    "whitespace word": [" ", "Paris"],
    "digits and symbols": ["1234567890", "!@#$%^&*()", "<>?/\\|{}[]"],
}

Tagger = Callable[[Sequence[Sequence[str]]], TagPredictions]


def tag_validity(predict: Tagger, smoke: list[str], extra: list[str], generated: list[str],
                 failures: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, Any], int]:
    """Metrics of the smoke, edge and generated sentences (their texts split on whitespace) as
    ``predict`` tags them (through the check's context), the report's details, and how many
    sentences were tried."""

    metrics: dict[str, float] = {}
    smoke_rows = {f"smoke {i}": s.split() for i, s in enumerate(smoke)}
    metrics["smoke_pass_rate"], _ = _try_each(predict, smoke_rows, failures)
    edges = dict(EDGE_SENTENCES)
    edges.update({f"extra {i}": t.split() for i, t in enumerate(extra)})
    metrics["edge_pass_rate"], answers = _try_each(predict, edges, failures)
    repeat = [*smoke_rows.values(), *list(EDGE_SENTENCES.values())[:4]]
    metrics.update(_repeatability(predict, repeat, failures))
    named_generated = {f"generated {i}": t.split() for i, t in enumerate(generated)}
    if named_generated:
        metrics["generated_pass_rate"], more = _try_each(predict, named_generated, failures)
        answers.update(more)
    valid = [name for name, tags in answers.items() if not bio_problems(tags[0])]
    metrics["bio_valid_rate"] = len(valid) / len(answers) if answers else 1.0
    for name, (tags, _) in answers.items():
        if bio_problems(tags):
            words = {**smoke_rows, **edges, **named_generated}.get(name, [])
            failures.append({"input": name, "text": " ".join(words)[:300],
                             "error": f"tags not IOB2 (reported, not gated): "
                                      f"{bio_problems(tags)[0]}"})
    details = {"edge_inputs": list(edges),
               "truncated_words": {name: cut for name, (_, cut) in answers.items() if cut},
               "past_max_length": "words past model.max_length are tagged O and counted here"}
    return metrics, details, len(smoke_rows) + len(edges) + len(generated)


def _try_each(predict: Tagger, named: dict[str, list[str]], failures: list[dict[str, Any]]
              ) -> tuple[float, dict[str, tuple[list[str], int]]]:
    """Share of sentences answered validly, and each valid answer (tags, truncated words)."""
    answers = {}
    for name, words in named.items():
        try:
            got = predict([words])
        except Exception as exc:  # any failure on an odd input is the finding, not a crash
            failures.append({"input": name, "text": " ".join(words)[:300],
                             "error": f"{type(exc).__name__}: {exc}"})
            continue
        answers[name] = (got.tags[0], got.truncated[0] if got.truncated else 0)
    return (len(answers) / len(named) if named else 1.0), answers


def _repeatability(predict: Tagger, rows: list[list[str]], failures: list[dict[str, Any]]
                   ) -> dict[str, float]:
    """Largest probability change between two identical calls, and between one batched call
    and one call per sentence (tags compared when there are no probabilities)."""
    try:
        first, second = predict(rows), predict(rows)
        singles = [predict([row]) for row in rows]
    except Exception as exc:
        failures.append({"input": "repeatability", "text": "", "error": str(exc)})
        return {"determinism_diff": float("inf"), "batch_diff": float("inf")}
    return {"determinism_diff": _difference(first, [second]),
            "batch_diff": _difference(first, singles)}


def _difference(first: TagPredictions, others: list[TagPredictions]) -> float:
    import numpy as np

    rows = [(tags, None if o.probabilities is None else o.probabilities[i])
            for o in others for i, tags in enumerate(o.tags)]
    worst = 0.0
    for index, (tags, probs) in enumerate(rows):
        if tags != first.tags[index]:
            worst = max(worst, 1.0)
        if probs is not None and first.probabilities is not None and len(probs):
            gap = np.abs(np.asarray(probs) - np.asarray(first.probabilities[index]))
            if np.isfinite(gap).any():
                worst = max(worst, float(np.nanmax(gap)))
    return worst
