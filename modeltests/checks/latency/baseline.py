"""The ``latency`` check's baseline: the headline saved by an earlier run's JSON report, read
before timing and compared after it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modeltests.checks.latency.params import LatencyParams
    from modeltests.checks.latency.record import TimedConfig
    from modeltests.context import CheckContext
    from modeltests.result import CheckResult


@dataclass(frozen=True)
class Baseline:
    """The saved headline of this check in a results file, or why there is none."""

    path: Path
    headline: dict[str, Any] | None = None
    reason: str = ""


def read_baseline(context: CheckContext, path_text: str) -> Baseline:
    """This check's saved headline in the results file at ``path_text`` (relative to the suite).

    A missing or unreadable file is an error in the suite; a file without this check is a
    :class:`Baseline` with the reason, which the result shows as a warning.
    """
    path = context.resolve_path(path_text)
    if not path.is_file():
        raise context.error("baseline", f"baseline results file not found: {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        checks = [c for c in document.get("checks", []) if isinstance(c, dict)]
    except (ValueError, AttributeError) as exc:
        raise context.error("baseline", f"not a modeltests JSON results file: {path} "
                                        f"({exc})") from None
    name = context.identity.name
    found = [c for c in checks if c.get("kind") == "latency" and c.get("name") == name]
    found.sort(key=lambda c: not str(c.get("suite", "")).endswith(context.identity.suite_path.name))
    if not found:
        return Baseline(path, reason=f"{path.name} has no latency check named {name}")
    saved = (found[0].get("details") or {}).get("headline")
    if not saved:
        return Baseline(path, reason=f"the baseline's {name} measured nothing "
                                     f"(outcome {found[0].get('outcome')})")
    return Baseline(path, headline=saved)


def compare_with_baseline(context: CheckContext, params: LatencyParams, head: TimedConfig,
                          current: dict[str, Any], result: CheckResult, baseline: Baseline
                          ) -> dict[str, Any]:
    """Compare with the saved headline; a regression adds a failing ``baseline`` threshold."""
    from modeltests.measure.timing import compare_to_baseline

    if baseline.headline is None:
        comparison: dict[str, Any] = {"compared": False, "reason": baseline.reason}
    else:
        comparison = compare_to_baseline(head.samples_ms, current, baseline.headline,
                                         params.max_slowdown)
    comparison["path"] = str(baseline.path)
    if not comparison["compared"]:
        result.warnings.append(f"baseline not compared: {comparison['reason']}")
        return comparison
    limits = [("p50_ms", "<=", float(comparison["limit_ms"]))]
    result.thresholds += context.evaluate({"p50_ms": head.ms("p50_ms")}, scope="baseline",
                                          limits=limits)
    return comparison
