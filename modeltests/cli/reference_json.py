"""The JSON report's reference page: the keys the report writers produce, each described.

The keys are read from the code (a document and an entry built by the real functions), the
descriptions from :data:`DESCRIPTIONS`: a key the code writes that has no description here is
rendered as ``UNDOCUMENTED`` and fails ``tests/unit/test_docs_reference.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modeltests.reporting.entries import ItemInfo, ResultCollector, build_entry
from modeltests.reporting.json_report import FORMAT_VERSION, build_document
from modeltests.result import CheckResult, ThresholdResult

UNDOCUMENTED = "UNDOCUMENTED"
PYTEST_RUN_KEYS = ("interrupted", "interrupted_by", "not_run")
"""Keys the pytest plugin adds to ``run`` (:mod:`modeltests.plugin.reports`)."""

DESCRIPTIONS: dict[str, str] = {
    # the document
    "format_version": "Version of this format; changes only when a key changes meaning.",
    "run": "What the run was: when, where, with what (below).",
    "summary": "Checks by outcome (`passed`, `failed`, `error`, `skipped`, `xfailed`, "
               "`xpassed`), and `undecided`: how many had a threshold their sample could "
               "not decide.",
    "checks": "One entry per check (and per plain Python test that used the `modeltests` "
              "fixture), in the order they ran (below).",
    # run
    "run.started": "ISO 8601 time the session started (UTC).",
    "run.finished": "ISO 8601 time the report was written (UTC).",
    "run.duration_s": "Seconds between the two.",
    "run.argv": "pytest's (or `modeltests run`'s) arguments.",
    "run.rootdir": "The rootdir: suite paths in the report are relative to it.",
    "run.environment": "Python, platform, CPU count, torch's threads, CUDA, and "
                       "`versions` of modeltests and every library that decides the numbers.",
    "run.device": "The devices the models ran on, joined by commas (null when none loaded).",
    "run.seeds": "Each suite's `defaults.seed`, by suite path.",
    "run.models": "One record per model loaded: its adapter's `describe()` (adapter, "
                  "parameters, labels, device, batching...), `key` (its parameters), "
                  "`fingerprint`, `load_seconds`, `build_seconds` (the one-time build of a "
                  "`builtin:` model, never counted as load time), `server` (a `serve:` "
                  "server: command, ports, pid, `cold_start_s`, polls), or `load_error`.",
    "run.datasets": "Every dataset file read: suite, name, absolute path, sha256, rows, label "
                    "counts, `dropped_unlabelled`; `streamed: true` for a streamed file.",
    "run.predictions": "Per dataset (and per compressed copy, with `derived`): where its "
                       "predictions came from: `cache` is `hit`, `miss`, `off` or `not "
                       "cacheable` (with the `reason`), `path` the cache file.",
    "run.fingerprint": "The sha256 of each suite file, model, dataset, the library versions "
                       "and the seeds, and one `sha256` over all of them: two runs with equal "
                       "`run.fingerprint.sha256` read the same inputs with the same libraries.",
    "run.executors": "Present when work ran on Ray: one record per piece of work (`work`: "
                     "`predict`, `stream` or `attack`) with rows, blocks, workers requested "
                     "and answered, and `seconds` per stage.",
    "run.interrupted": "pytest runs: whether Ctrl-C or SIGTERM stopped the run (the reports "
                       "then hold what finished).",
    "run.interrupted_by": "pytest runs, when interrupted: `SIGINT`, `SIGTERM`, or pytest's own "
                          "reason for stopping (`1 error during collection`, `stopping after 1 "
                          "failures`).",
    "run.not_run": "pytest runs, when interrupted: node ids of the checks that did not run.",
    "run.undecided_policy": "What an undecided threshold meant in this run: `fail` (the "
    "default) or `gate` (`--modeltests-undecided=gate`); `modeltests compare` shows a change.",
    # an entry
    "checks[].nodeid": "pytest's node id: `suites/x.yaml::kind[label]`.",
    "checks[].suite": "The suite file, as shown (relative to the rootdir).",
    "checks[].kind": "The check kind; `suite` for a suite that could not be read, `python` "
                     "for a plain test.",
    "checks[].name": "`kind[label]`: the label is the check's `name:`, else its dataset, "
                     "else its index.",
    "checks[].line": "The line of the check in the suite file.",
    "checks[].outcome": "pytest's word: `passed`, `failed`, `error`, `skipped`, `xfailed`, "
                        "`xpassed`.",
    "checks[].when": "pytest's phase that decided the outcome: `setup`, `call` or `teardown`.",
    "checks[].metrics": "Every metric the check measured, by name (NaN is null, infinities "
                        "the strings `inf` / `-inf`).",
    "checks[].thresholds": "Every threshold applied (below).",
    "checks[].sample_size": "The n behind the metrics.",
    "checks[].duration_s": "Seconds the check took.",
    "checks[].message": "The failure, error or skip message (secrets masked).",
    "checks[].examples": "Failing examples (at most `defaults.max_examples`; texts over 1,000 "
                         "characters clipped).",
    "checks[].details": "The kind's own details (confusion matrix, latency configurations, "
                        "attack outcomes...).",
    "checks[].warnings": "Warnings the check raised.",
    "checks[].intervals": "The 95% interval of each metric that has one, by metric.",
    "checks[].description": "The check's `description:`.",
    "checks[].headline": "The key metric against its threshold, as the terminal summary "
                         "prints it.",
    "checks[].undecided": "Keys of the thresholds whose interval contains their limit.",
    "checks[].waived": "Declared thresholds that did not apply to the run, with the reason.",
    "checks[].torch_threads": "torch's intra-op threads while the check ran.",
    "checks[].interval_methods": "How each metric's interval was computed (`wilson`, "
    "`bootstrap`, `newcombe`, ..., `exact` for a metric without sampling uncertainty), by metric.",
    "checks[].outcomes": "Only for a check with a `history_gate`: `dataset_sha256`, the "
    "dataset file's digest, and `per_example`, by metric, each example's outcome in dataset "
    "order as a string of `1` (right) and `0` (wrong): a later run on the same file compares "
    "with them pair by pair.",
    # a threshold
    "thresholds[].metric": "The metric gated (`accuracy` for `min_accuracy`).",
    "thresholds[].key": "The suite key (`min_accuracy`; `history_gate.max_drop.accuracy` for a "
    "gate against an earlier run, whose metric is `accuracy_drop`).",
    "thresholds[].operator": "`>=` (a `min_`) or `<=` (a `max_`).",
    "thresholds[].limit": "The limit in the suite.",
    "thresholds[].value": "The measured value (null when never measured).",
    "thresholds[].held": "Whether it passed under the run's rules.",
    "thresholds[].interval": "The metric's 95% interval, or null.",
    "thresholds[].resolved": "False when the interval contains the limit (undecided).",
    "thresholds[].scope": "A slice's or class's name when the threshold applies to one.",
    "thresholds[].note": "Extra words shown beside it (the worst class, a p-value...).",
    "thresholds[].state": "`held`, `broken` or `undecided`.",
    "thresholds[].gate": "The check's gate: `estimate` or `bound`.",
    "thresholds[].interval_method": "How the interval was computed (`wilson`, "
                                    "`bootstrap-percentile`, `newcombe`, `exact`...).",
    "thresholds[].decided_by": "`estimate` or `bound`: which number was compared with the "
                               "limit.",
    "thresholds[].needed_sample_size": "For an undecided threshold: about how many examples "
                                       "would decide it.",
    "thresholds[].power": "What this gate can decide at its n: the true value that passes 80% "
                          "of runs, and the n a stated margin needs (null when not estimated).",
}


def _sample_document() -> dict[str, Any]:
    """A document and entry built by the report's own functions, with every optional key."""
    threshold = ThresholdResult("accuracy", ">=", 0.9, 0.95, True)
    entry = build_entry(ItemInfo("suite.yaml", "accuracy", "accuracy[eval]", 1),
                        nodeid="suite.yaml::accuracy[eval]", outcome="passed", when="call",
                        duration=0.0, message="",
                        result=CheckResult(metrics={"accuracy": 0.95}, thresholds=[threshold]))
    collector = ResultCollector(started=0.0)
    collector.add(entry)
    facts: dict[str, Any] = {"environment": {}, "devices": [], "seeds": {}, "models": [], "datasets": [],
             "predictions": [], "executors": [{}]}
    return build_document(collector, [facts], [], Path("."), lambda document: document)


def _rows(prefix: str, keys: list[str]) -> list[str]:
    rows = ["| key | meaning |", "|---|---|"]
    for key in keys:
        path = f"{prefix}{key}"
        rows.append(f"| `{key}` | {DESCRIPTIONS.get(path, UNDOCUMENTED)} |")
    return rows + [""]


def json_page() -> str:
    """``docs/reference/json-report.md``."""
    document = _sample_document()
    entry = document["checks"][0]
    threshold = entry["thresholds"][0]
    lines = [
        "# The JSON report", "",
        "`reports/modeltests.json` (`--modeltests-json PATH`; `modeltests run --json PATH`): "
        "the same data as the HTML report, for machines. `modeltests report FILE` re-renders "
        "the HTML from it and `modeltests compare A.json B.json` compares two of them. "
        f"This page describes `format_version` {FORMAT_VERSION}.", "",
        "## The document", "", *_rows("", list(document)),
        "## `run`", "", *_rows("run.", [*document["run"], *PYTEST_RUN_KEYS]),
        "## An entry of `checks`", "", *_rows("checks[].", list(entry)),
        "## A threshold of `checks[].thresholds`", "",
        *_rows("thresholds[].", list(threshold)),
    ]
    return "\n".join(lines)
