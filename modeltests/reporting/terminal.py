"""Terminal output: the short failure message of a check, and the summary table."""

from __future__ import annotations

from typing import Any

from modeltests.reporting.entries import Entry, ResultCollector
from modeltests.result import CheckResult
from modeltests.support.text import clip, clip_change, format_number, visible

_VERDICT = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP",
            "xfailed": "XFAIL", "xpassed": "XPASS"}


def failure_message(name: str, location: str, result: CheckResult) -> str:
    """Metric, value, threshold, interval, sample size and a few failing examples."""
    lines = [f"{name} failed ({location}, n={result.sample_size})"]
    for t in result.failed_thresholds():
        lines.append(f"  {t.describe()}  [{t.key}]")
    recall = _recall_per_class(result)
    if recall:
        lines.append(f"  {recall}")
    if result.examples:
        lines.append(f"  {_examples_heading(result)}:")
        lines.extend(f"    - {describe_example(e)}" for e in result.examples)
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    return visible("\n".join(lines))


def _recall_per_class(result: CheckResult) -> str | None:
    """Beside a failed overall accuracy, each class's recall: which class the errors hit."""
    per_class = result.details.get("per_class")
    if not isinstance(per_class, dict) or not any(
            t.metric == "accuracy" and not t.scope for t in result.failed_thresholds()):
        return None
    return "recall per class: " + ", ".join(
        f"{label} {format_number(values['recall'])} (n={values['support']})"
        for label, values in per_class.items())


def _examples_heading(result: CheckResult) -> str:
    total = result.details.get("errors")
    shown = f"{len(result.examples)}{f' of {total}' if total else ''}"
    if result.details.get("examples_order"):
        shown += f"; {result.details['examples_order']}"
    if "reference" in result.examples[0]:  # quantization / pruning: rows whose label changed
        counts = [f"{result.details[k]} {word}" for k, word in
                  (("broke", "broken"), ("fixed", "fixed")) if k in result.details]
        return f"changed predictions ({shown}{'; ' + ', '.join(counts) if counts else ''})"
    return f"failing examples ({shown})"


def describe_example(example: dict[str, Any]) -> str:
    """One example on one line: texts clipped around what changed; every probability printed
    next to the label it belongs to."""
    parts = []
    if "input" in example:
        parts.append(f"[{example['input']}]")
    text = str(example.get("text", example.get("original", "")))
    if "prompt" in example:  # a generation: the prompt, then what the model wrote
        parts.append(_generation(example))
    elif "perturbed" in example:
        before, after = clip_change(text, str(example["perturbed"]), 70)
        parts += [repr(before), f"-> {after!r}"]
    else:
        parts.append(repr(clip(text, 70)))
    if "expected" in example:
        parts.append(f"expected {example['expected']}")
    if "baseline" in example:
        parts.append(f"baseline {example['baseline']}"
                     f"{_p(example.get('baseline_confidence'))}")
    if "reference" in example:
        parts[-1] += ":"
        parts.append(f"reference {example['reference']}"
                     f"{_p(example.get('reference_confidence'))} -> compressed "
                     f"{example.get('predicted')}{_p(example.get('confidence'))}"
                     + (f" ({example['change']})" if example.get("change") else ""))
    elif "predicted" in example:
        parts.append(f"predicted {example['predicted']}{_p(example.get('confidence'))}")
    if "watched_label" in example and isinstance(example.get("p_before"), float):
        change = example["p_after"] - example["p_before"]
        parts[-1] += ";"
        parts.append(f"p({example['watched_label']}) {example['p_before']:.2f} -> "
                     f"{example['p_after']:.2f} ({change:+.2f})")
    if "edits" in example:
        chars = example.get("changed_chars")
        parts[-1] += ";"
        parts.append(f"{example['edits']} edit{'s' if example['edits'] != 1 else ''}"
                     + (f" ({chars} characters changed)" if chars is not None else ""))
    if "error" in example:
        parts.append(f"error: {example['error']}")
    for key in ("problem", "loop"):
        if key in example:
            parts.append(f"({example[key]})")
    return " ".join(parts)


def _generation(example: dict[str, Any]) -> str:
    """``'prompt' -> 'output'``; under a perturbation ``'prompt' -> 'output' / 'perturbed'
    -> 'output'``."""
    shown = f"{clip(str(example['prompt']), 60)!r} -> {clip(str(example.get('output', '')), 50)!r}"
    if "perturbed" in example:
        before, after = clip_change(str(example["prompt"]), str(example["perturbed"]), 60)
        shown = (f"{before!r} -> {clip(str(example.get('output', '')), 40)!r} / {after!r} -> "
                 f"{clip(str(example.get('perturbed_output', '')), 40)!r}")
    return shown


def _p(probability: Any) -> str:
    return f" (p={probability:.2f})" if isinstance(probability, float) else ""


def write_summary(terminal: Any, collector: ResultCollector) -> None:
    """A table: suite, check, verdict, key metric vs threshold."""
    rows = [(visible(e.get("suite") or ""), visible(e["name"]), _verdict(e), visible(_key_metric(e)))
            for e in collector.ordered()]
    if not rows:
        return
    terminal.write_sep("=", "modeltests summary")
    headers = ("suite", "check", "verdict", "key metric vs threshold")
    widths = [min(max(len(r[i]) for r in rows + [headers]), 48) for i in range(3)]
    terminal.write_line("  ".join(h.ljust(w) for h, w in zip(headers, widths)) + "  " + headers[3])
    for row in rows:
        cells = [clip(c, w).ljust(w) for c, w in zip(row[:3], widths)]
        markup = {"red": True} if row[2] in ("FAIL", "ERROR", "XPASS", "UNDECIDED") else \
            {"green": True} if row[2] == "PASS" else {"yellow": True}
        terminal.write_line("  ".join(cells) + "  " + row[3], **markup)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(collector.counts().items()))
    terminal.write_line(f"modeltests: {len(rows)} checks: {counts}")


def _verdict(entry: Entry) -> str:
    """pytest's outcome in capitals; a pass that rests on a threshold its sample could not
    decide reads UNDECIDED (see ``--modeltests-undecided``)."""
    if entry["outcome"] == "passed" and entry.get("undecided"):
        return "UNDECIDED"
    return _VERDICT.get(str(entry["outcome"]), str(entry["outcome"]).upper())


def _key_metric(entry: Entry) -> str:
    if entry.get("headline"):
        return str(entry["headline"])
    if entry["outcome"] in ("error", "skipped", "failed") and entry.get("message"):
        return clip(next(line for line in entry["message"].splitlines() if line.strip()), 90)
    metrics = entry.get("metrics") or {}
    return ", ".join(f"{k}={format_number(v)}" for k, v in list(metrics.items())[:3]
                     if isinstance(v, (int, float)))
