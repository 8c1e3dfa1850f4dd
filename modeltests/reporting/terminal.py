"""Terminal output: the short failure message of a check, and the summary table."""

from __future__ import annotations

from typing import Any

from modeltests.reporting.entries import Entry, ResultCollector
from modeltests.result import CheckResult
from modeltests.text import clip, format_number

_VERDICT = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP",
            "xfailed": "XFAIL", "xpassed": "XPASS"}


def failure_message(name: str, location: str, result: CheckResult) -> str:
    """Metric, value, threshold, interval, sample size and a few failing examples."""
    lines = [f"{name} failed ({location}, n={result.sample_size})"]
    for t in result.failed_thresholds():
        lines.append(f"  {t.describe()}  [{t.key}]")
    if result.examples:
        total = result.details.get("errors")
        shown = len(result.examples)
        lines.append(f"  failing examples ({shown}{f' of {total}' if total else ''}):")
        lines.extend(f"    - {describe_example(e)}" for e in result.examples)
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def describe_example(example: dict[str, Any]) -> str:
    """One example on one line, text clipped."""
    text = clip(str(example.get("text", example.get("original", ""))), 70)
    parts = [repr(text)]
    if "perturbed" in example:
        parts.append(f"-> {clip(str(example['perturbed']), 70)!r}")
    if "expected" in example:
        parts.append(f"expected {example['expected']}")
    if "baseline" in example:
        confidence = example.get("baseline_confidence")
        conf = f" (p={confidence:.2f})" if isinstance(confidence, float) else ""
        parts.append(f"baseline {example['baseline']}{conf}")
    if "predicted" in example:
        confidence = example.get("confidence")
        conf = f" (p={confidence:.2f})" if isinstance(confidence, float) else ""
        parts.append(f"predicted {example['predicted']}{conf}")
    if "error" in example:
        parts.append(f"error: {example['error']}")
    if "input" in example:
        parts.insert(0, f"[{example['input']}]")
    return " ".join(parts)


def write_summary(terminal: Any, collector: ResultCollector) -> None:
    """A table: suite, check, verdict, key metric vs threshold."""
    rows = [(e.get("suite") or "", e["name"], _verdict(e), _key_metric(e))
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
        return clip(entry["message"].splitlines()[-1], 90)
    metrics = entry.get("metrics") or {}
    return ", ".join(f"{k}={format_number(v)}" for k, v in list(metrics.items())[:3]
                     if isinstance(v, (int, float)))
