"""Run suites without pytest: :func:`run` and :class:`Session`.

The same path as a pytest run: the registry filled by the same hooks, suites loaded by
:meth:`Runtime.load_suite`, each check prepared and executed by :mod:`modeltests.session.runner`, each
outcome in pytest's words and each record the JSON report's entry::

    import modeltests

    run = modeltests.run("suites/sentiment.yaml")
    for check in run.checks:
        print(check.name, check.outcome, check.metrics.get("accuracy"))

A :class:`Session` keeps models loaded across several runs (benchmarks load the model once, then
time only the check).
"""

from __future__ import annotations

import fnmatch
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Iterator, Sequence

from modeltests.errors import ModelTestsError
from modeltests.reporting.entries import Entry, ItemInfo, ResultCollector, build_entry
from modeltests.result import CheckResult
from modeltests.session.runner import execute_check, internal_error_message, prepare_check
from modeltests.session.runtime import Runtime
from modeltests.suite.loader import CheckEntry, NotASuiteError, Suite

SUITE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class CheckRecord:
    """One check of a run: its JSON report entry, and the full result when the check ran."""

    entry: Entry
    result: CheckResult | None

    @property
    def name(self) -> str:
        """``kind[label]``, as in the pytest node id."""
        return str(self.entry["name"])

    @property
    def kind(self) -> str:
        return str(self.entry["kind"])

    @property
    def outcome(self) -> str:
        """pytest's word: passed, failed, error, skipped, xfailed or xpassed."""
        return str(self.entry["outcome"])

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.entry["metrics"])

    @property
    def thresholds(self) -> list[dict[str, Any]]:
        return list(self.entry["thresholds"])

    @property
    def message(self) -> str:
        return str(self.entry["message"])


@dataclass(frozen=True)
class RunResult:
    """The checks of one run, in the order they ran."""

    checks: list[CheckRecord]
    started: float

    def __iter__(self) -> Iterator[CheckRecord]:
        return iter(self.checks)

    def __getitem__(self, name: str) -> CheckRecord:
        """The check named ``kind[label]`` (or node id ``suite.yaml::kind[label]``)."""
        for check in self.checks:
            if name in (check.name, check.entry["nodeid"]):
                return check
        raise KeyError(f"no check {name!r} in this run (ran: "
                       f"{', '.join(c.name for c in self.checks)})")

    @property
    def ok(self) -> bool:
        """True when pytest would exit 0: nothing failed, errored or passed unexpectedly."""
        return all(c.outcome in ("passed", "skipped", "xfailed") for c in self.checks)

    def collector(self) -> ResultCollector:
        """The entries as the report writers take them."""
        collector = ResultCollector(self.started)
        for check in self.checks:
            collector.add(check.entry)
        return collector


class Session:
    """Registry and runtime for several runs: each model loads once, however many runs use it.

    ``rootdir`` (default: the current directory) anchors shown paths and conftest discovery;
    ``plugins`` adds modules or objects that implement the registration hooks. ``progress``
    draws bars for long work on standard error when it is a terminal (never in CI).
    ``undecided="fail"`` (the default, as in pytest) fails every threshold whose interval
    contains its limit; ``"gate"`` lets each check's gate decide (``--modeltests-undecided``).
    Whole-dataset predictions are kept across runs in ``<modeltests cache>/predictions``
    (:mod:`modeltests.predictions.cache`); ``cache=False`` neither reads nor writes them.
    """

    def __init__(self, rootdir: str | Path | None = None, plugins: Sequence[object | str] = (),
                 paths: Sequence[str | Path] = (), progress: bool = True,
                 undecided: str = "fail", cache: bool = True) -> None:
        from modeltests.extend.discovery import standalone_registry
        from modeltests.predictions.cache import PredictionCache, standalone_folder
        from modeltests.support.progress import LineProgress, Silent, StreamTerminal

        self.rootdir = Path(rootdir or Path.cwd()).resolve()
        self._plugins = list(plugins)
        self._conftest_paths = [Path(p) for p in paths]
        registry = standalone_registry(self.rootdir, self._conftest_paths, self._plugins)
        shown = LineProgress(StreamTerminal(sys.stderr)) if progress else Silent()
        self.runtime = Runtime(registry=registry, rootdir=self.rootdir, progress=shown,
                               undecided=undecided,
                               prediction_cache=PredictionCache(
                                   standalone_folder, cache, off_reason="cache=False"))

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release every loaded model."""
        self.runtime.close()

    def suite(self, path: str | Path) -> Suite:
        """The valid suite at ``path`` (a :class:`SuiteError` lists its problems)."""
        return self.runtime.suite(self._absolute(path))

    def run(self, path: str | Path, select: str | Sequence[str] | None = None) -> RunResult:
        """Run the suite file at ``path`` (or every suite under a folder).

        ``select`` keeps the checks whose kind or name (``kind[label]``) matches one of the
        patterns, where ``*`` and ``?`` are wildcards: ``"accuracy"``, ``"latency[cpu]"``,
        ``"invariance[neutral-*]"``.
        """
        started = time.time()
        patterns = [select] if isinstance(select, str) else list(select or [])
        records: list[CheckRecord] = []
        for file in _suite_files(self._absolute(path)):
            records.extend(self._run_file(file, patterns))
        return RunResult(records, started)

    def _run_file(self, file: Path, patterns: list[str]) -> list[CheckRecord]:
        from modeltests.support.text import shown_path

        try:
            suite = self.runtime.load_suite(file)
        except NotASuiteError:
            return []
        except ModelTestsError as exc:
            shown = shown_path(file, self.rootdir)
            info = ItemInfo(shown, "suite", "suite", getattr(exc, "line", None) or 1)
            return [CheckRecord(build_entry(info, nodeid=f"{shown}::suite", outcome="error",
                                            when="setup", duration=0.0, message=str(exc)), None)]
        return [self._run_entry(suite, entry) for entry in suite.checks
                if _selected(entry, patterns)]

    def _run_entry(self, suite: Suite, entry: CheckEntry) -> CheckRecord:
        name = f"{entry.kind}[{entry.label}]"
        description = entry.params.description if entry.params is not None else None
        info = ItemInfo(suite.shown_path, entry.kind, name, entry.line, description)
        xfail = entry.params.xfail if entry.params is not None else None
        started = time.perf_counter()
        outcome, when, message, result = _execute(self.runtime, suite, entry, name)
        if xfail and outcome in ("failed", "error"):
            outcome = "xfailed"
        elif xfail and outcome == "passed":
            outcome, message = "failed", f"[XPASS(strict)] {xfail}"
        record = build_entry(info, nodeid=f"{suite.shown_path}::{name}", outcome=outcome,
                             when=when, duration=time.perf_counter() - started, message=message,
                             result=result)
        return CheckRecord(self.runtime.redactor.mask(record), result)

    def _absolute(self, path: str | Path) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.rootdir / candidate


def run(path: str | Path, select: str | Sequence[str] | None = None,
        rootdir: str | Path | None = None, plugins: Sequence[object | str] = (),
        cache: bool = True) -> RunResult:
    """Run a suite file (or a folder of suites) outside pytest; see :class:`Session`
    (``cache=False`` bypasses the prediction cache)."""
    with Session(rootdir, plugins, paths=[path], cache=cache) as session:
        return session.run(path, select)


def _execute(runtime: Runtime, suite: Suite, entry: CheckEntry, name: str
             ) -> tuple[str, str, str, CheckResult | None]:
    """``(outcome, phase, message, result)`` of one check, as pytest would report it."""
    from modeltests.reporting.terminal import failure_message

    try:
        prepare_check(runtime, suite, entry)
    except ModelTestsError as exc:
        return "error", "setup", str(exc), None
    try:
        result = execute_check(runtime, suite, entry)
    except ModelTestsError as exc:
        return "failed", "call", str(exc), None
    except Exception as error:  # a bug: where it was raised, and whose code it is
        return "failed", "call", internal_error_message(error, name), None
    if result.skip_reason:
        return "skipped", "call", result.skip_reason, result
    if not result.passed:
        location = suite.location("checks", entry.index)
        return "failed", "call", failure_message(name, location, result), result
    return "passed", "call", "", result


def _selected(entry: CheckEntry, patterns: list[str]) -> bool:
    """A pattern is a kind, or a ``kind[label]`` where only ``*`` and ``?`` are wildcards (the
    brackets are the name's own, not a character class)."""
    name = f"{entry.kind}[{entry.label}]"
    return not patterns or any(
        p == entry.kind or fnmatch.fnmatchcase(name, p.replace("[", "[[]")) for p in patterns)


def _suite_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in SUITE_SUFFIXES and p.is_file())
    return [path]
