"""Session-level hooks that gather entries and write the reports (controller only).

Under pytest-xdist the workers load the models, so each worker hands its run facts (models,
devices, seeds, torch's threads) to the controller through ``config.workeroutput``, xdist's own
channel, and the controller's report merges them: ``-n 2`` gives the ``run`` of a serial run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from modeltests.errors import Terminated
from modeltests.reporting.entries import ResultCollector
from modeltests.reporting.json_report import RunFacts
from modeltests.session.runtime import Runtime
from modeltests.plugin.state import ITEM_INFO_KEY

if TYPE_CHECKING:
    from modeltests.reporting.trends import Trend
    from modeltests.session.past import Baseline, PastLookup

TREND_RUNS = 20
"""How many runs (this one included) a trend in the HTML report shows."""
WORKER_FACTS = "modeltests_run_facts"
"""The key of a worker's run facts (a JSON string) in ``config.workeroutput``."""


class ReportWriter:
    """Registered as a plugin object at configure time; gathers the entries of a pytest run."""

    def __init__(self, config: pytest.Config, runtime: Runtime, collector: ResultCollector) -> None:
        self.config = config
        self.runtime = runtime
        self.collector = collector
        self.written = False
        self.expected: list[str] = []
        self.interrupted_by: str | None = None
        self.worker_facts: list[RunFacts] = []
        self.unwritten: list[str] = []
        self.recorded: list[tuple[str, bool]] = []
        self.run_id = 0
        """This run's id in the run history once recorded (0 before)."""
        self.document: dict[str, Any] | None = None
        self.reports: list[Path] = []
        """The last report document written, and the files written from it (for MLflow)."""
        """What recording the run in the history said (line, is a warning); pytest calls
        :meth:`write` twice (the session's end, then the summary): the run is recorded once."""
        self.previous = _previous_results(config)
        """An earlier run's results (``--modeltests-previous``): the HTML lists how the gate
        changed since; read at configure time, so a bad path stops the run before it starts."""

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expected = [item.nodeid for item in session.items if ITEM_INFO_KEY in item.stash]

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if isinstance(excinfo.value, pytest.Session.Interrupted):
            # pytest stopped the run itself (collection errors, -x, --maxfail): its reason, e.g.
            # "1 error during collection", not a signal nobody sent.
            self.interrupted_by = str(excinfo.value) or "pytest stopped the run"
        else:
            self.interrupted_by = "SIGTERM" if isinstance(excinfo.value, Terminated) else "SIGINT"

    def has_run(self) -> bool:
        """Whether this run has checks to report: some ran, or some were collected and an
        interruption kept them from running (a pytest run without suites has none)."""
        return bool(self.collector.entries or (self.interrupted_by and self.expected))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = getattr(report, "modeltests", None)
        if entry is not None:
            self.collector.add(entry)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from modeltests.reporting.terminal import write_summary

        if self.is_worker or not self.has_run():
            return
        write_summary(terminalreporter, self.collector)
        if self.interrupted_by:
            terminalreporter.write_line(
                f"modeltests: run interrupted ({self.interrupted_by}): "
                f"{len(self.not_run())} checks did not run", red=True)
        for path in self.write():
            terminalreporter.write_line(f"modeltests: wrote {path}")
        for line, warning in self.recorded:
            terminalreporter.write_line(f"modeltests: {'WARNING: ' if warning else ''}{line}",
                                        yellow=warning)
        for line, warning in self.log_to_mlflow():
            terminalreporter.write_line(f"modeltests: {'WARNING: ' if warning else ''}{line}",
                                        yellow=warning)
        for problem in self.unwritten:
            terminalreporter.write_line(f"modeltests: WARNING: {problem}", yellow=True)
        for path in self.runtime.predictor.saved_files:
            terminalreporter.write_line(f"modeltests: saved predictions {path}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            from modeltests.session.facts import run_facts

            # xdist sends workeroutput to the controller after this hook.
            output = getattr(self.config, "workeroutput")
            output[WORKER_FACTS] = json.dumps(run_facts(self.runtime), default=str)
            return
        # An interrupted run may never print a summary: write what we have now.
        if not self.written:
            self.write()
            if self.config.pluginmanager.get_plugin("terminalreporter") is None:
                for problem in self.unwritten + [line for line, bad in self.recorded if bad]:
                    sys.stderr.write(f"modeltests: WARNING: {problem}\n")

    def not_run(self) -> list[str]:
        """Collected checks with no entry: they never ran (the run was interrupted)."""
        return [nodeid for nodeid in self.expected if nodeid not in self.collector.entries]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """A pytest-xdist worker finished: keep its run facts for the report."""
        payload = getattr(node, "workeroutput", {}).get(WORKER_FACTS)
        if payload:
            self.worker_facts.append(json.loads(payload))

    def paths(self) -> dict[str, Path]:
        if self.config.getoption("modeltests_no_reports"):
            return {}
        root = self.config.rootpath
        json_path = self.config.getoption("modeltests_json") or self.config.getini("modeltests_json")
        html_path = self.config.getoption("modeltests_html") or self.config.getini("modeltests_html")
        return {"json": root / json_path, "html": root / html_path}

    def write(self) -> list[Path]:
        """Write JSON then HTML; returns the paths written (none when nothing ran)."""
        from modeltests.reporting.html import write_html
        from modeltests.reporting.json_report import build_document, write_json
        from modeltests.session.facts import run_facts

        paths = self.paths()
        history = self.history_path()
        if not (paths or history) or not self.has_run():
            return []
        document = build_document(self.collector, [run_facts(self.runtime), *self.worker_facts],
                                  self.config.invocation_params.args, self.config.rootpath,
                                  self.runtime.redactor.mask)
        document["run"]["interrupted"] = self.interrupted_by is not None
        if self.interrupted_by:
            document["run"]["interrupted_by"] = self.interrupted_by
            document["run"]["not_run"] = self.not_run()
        self.written = True
        self.unwritten = []
        previous = self.config.getoption("modeltests_previous")

        def html(document: dict[str, Any], path: Path) -> None:
            write_html(document, path, self.previous, previous, self.trends(document, history))

        written = [path for path, writer in ((paths.get("json"), write_json),
                                             (paths.get("html"), html))
                   if path is not None and self._write_one(writer, document, path)]
        self.document, self.reports = document, written
        if history is not None and not self.recorded:
            self._record(document, history)
        return written

    def trends(self, document: dict[str, Any], history: Path | None
               ) -> dict[str, list[Trend]] | None:
        """Each gated metric's trend over the last :data:`TREND_RUNS` runs, for the HTML; none
        without a history file or from one that cannot be read (recording the run then says
        why)."""
        from modeltests.history.read import check_trends
        from modeltests.history.store import HistoryError

        if history is None or not history.is_file():
            return None
        try:
            return check_trends(history, document, TREND_RUNS, self.run_id)
        except HistoryError:
            return None

    def log_to_mlflow(self) -> list[tuple[str, bool]]:
        """Log the run into MLflow (``--modeltests-mlflow``) with the reports written and
        pytest's JUnit XML as artifacts; what to print (line, is a warning)."""
        uri = mlflow_uri(self.config)
        if uri is None or self.document is None:
            return []
        from modeltests.history.store import git_revision
        from modeltests.history.tracker import TrackerError, log_run

        xml = getattr(self.config.option, "xmlpath", None)
        junit = [Path(xml).resolve()] if xml and Path(xml).is_file() else []
        experiment = str(self.config.getini("modeltests_mlflow_experiment"))
        try:
            found, run = log_run(self.document, uri, experiment, [*self.reports, *junit],
                                 git_revision(self.config.rootpath))
        except TrackerError as error:
            return [(f"{error}; the verdicts above stand", True)]
        return [(f"logged to MLflow {uri}: experiment {experiment!r} ({found}), run {run}",
                 False)]

    def history_path(self) -> Path | None:
        """The run history's file (:func:`history_file`)."""
        return history_file(self.config)

    def _record(self, document: dict[str, Any], path: Path) -> None:
        """Add this run to the history; a file that cannot take it (damaged, another
        application's, a read-only folder) is a warning, never a changed verdict."""
        from modeltests.history.store import HistoryError, git_revision, record_run

        try:
            run_id = record_run(path, document, git_revision(self.config.rootpath))
        except HistoryError as error:
            self.recorded = [(f"run history not recorded: {error}; the verdicts above stand",
                              True)]
        except OSError as error:
            reason = error.strerror or type(error).__name__
            self.recorded = [(f"run history not recorded: could not write {path}: {reason} "
                              f"({_culprit(error, path)}); the verdicts above stand", True)]
        else:
            self.recorded = [(f"recorded run {run_id} in {path}", False)]
            self.run_id = run_id

    def _write_one(self, writer: Callable[[dict[str, Any], Path], None], document: dict[str, Any],
                   path: Path) -> bool:
        """A report that cannot be written (a file where its folder should be, a read-only
        folder, a full disk) is a warning naming the path: the verdicts, the terminal summary
        and the exit code stay as they are."""
        try:
            writer(document, path)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            self.unwritten.append(f"could not write {path}: {reason} "
                                  f"({_culprit(error, path)}); the verdicts above stand")
            return False
        return True


def _culprit(error: OSError, path: Path) -> str:
    """The path the operating system refused (the report's folder, often), as a user reads it."""
    refused = error.filename if isinstance(error.filename, str) else str(path)
    return f"at {refused}"


def _previous_results(config: pytest.Config) -> dict[str, Any] | None:
    option = config.getoption("modeltests_previous", None)
    if not option:
        return None
    path = config.invocation_params.dir / Path(option).expanduser()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise pytest.UsageError(f"--modeltests-previous: cannot read {option}: {exc}") from None
    if not isinstance(document, dict) or "checks" not in document:
        raise pytest.UsageError(f"--modeltests-previous: {option} is not a modeltests JSON "
                                "results file (no 'checks')")
    return document


def history_file(config: pytest.Config) -> Path | None:
    """The run history's file (``--modeltests-history``, else the ini key
    ``modeltests_history``, under the rootdir); None with ``--modeltests-no-history``."""
    if config.getoption("modeltests_no_history"):
        return None
    path = config.getoption("modeltests_history") or config.getini("modeltests_history")
    return config.rootpath / str(path)


def past_lookup(config: pytest.Config) -> PastLookup | None:
    """What a check's ``history_gate`` reads: its baseline run's record in the run history
    (None with ``--modeltests-no-history``); a history that cannot be read is a reason, and the
    gate is undecided."""
    path = history_file(config)
    if path is None:
        return None
    history = path  # a name mypy knows is a Path inside the closure

    def lookup(suite: str, name: str, reference: str) -> Baseline | str:
        from modeltests.errors import ModelTestsError
        from modeltests.history.read import find_check
        from modeltests.session.past import Baseline, counts_as_baseline

        try:
            found = find_check(history, suite, name, reference, counts_as_baseline)
        except ModelTestsError as error:
            return f"the run history cannot be read: {error}"
        if isinstance(found, str):
            return found
        run, entry, machine = found
        return Baseline(f"run {run.describe()}", entry, machine)

    return lookup


def mlflow_uri(config: pytest.Config) -> str | None:
    """The MLflow tracking URI runs are logged to (``--modeltests-mlflow``, else the ini key
    ``modeltests_mlflow``); None when neither asks. A folder is made absolute under the
    rootdir."""
    from modeltests.history.tracker import tracking_uri

    value = config.getoption("modeltests_mlflow") or str(config.getini("modeltests_mlflow"))
    return tracking_uri(value, config.rootpath) if value else None


def require_mlflow(config: pytest.Config) -> None:
    """Stop before the run when MLflow logging is asked for and MLflow is not installed."""
    from modeltests.history import tracker

    if mlflow_uri(config) is None or tracker.mlflow_installed():
        return
    where = ("--modeltests-mlflow" if config.getoption("modeltests_mlflow") else
             f"{config.inipath or 'the ini file'}: modeltests_mlflow")
    raise pytest.UsageError(f"{where}: logging runs into MLflow needs MLflow, which is not "
                            f"installed: {tracker.INSTALL_HINT}")
