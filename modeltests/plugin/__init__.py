"""The pytest plugin: options, suite collection, fixtures, and report writing.

Imports nothing heavy: ``pytest --collect-only suites/`` must not import torch, transformers or
textattack. Check kinds and adapters come from :mod:`modeltests.extend.builtin` and users' plugins,
through the hooks in :mod:`modeltests.extend.hookspecs`.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Generator

import pytest

from modeltests.extend import builtin, hookspecs
from modeltests.support.redaction import Redactor
from modeltests.plugin.state import (
    ITEM_INFO_KEY,
    RESULT_KEY,
    RUNTIME_KEY,
    UNCOLLECTED_KEY,
    USER_TEST_KEY,
    runtime_of,
)

if TYPE_CHECKING:
    from modeltests.predictions.cache import PredictionCache

YAML_SUFFIXES = (".yaml", ".yml")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modeltests", "model release gates (modeltests)")
    group.addoption("--modeltests-json", metavar="PATH", default=None,
                    help="write the JSON results here (default: reports/modeltests.json)")
    group.addoption("--modeltests-html", metavar="PATH", default=None,
                    help="write the HTML report here (default: reports/modeltests.html)")
    group.addoption("--modeltests-previous", metavar="A.json", default=None,
                    help="an earlier run's JSON results: the HTML report lists how the gate "
                    "changed since (thresholds loosened or removed first; see modeltests compare)")
    group.addoption("--modeltests-undecided", choices=("gate", "fail"), default=None,
                    help="a threshold whose 95%% interval contains its limit: 'fail' fails it "
                    "(the default: the ini value, else fail), 'gate' lets each check's gate "
                    "decide (estimate: the point estimate; bound: it fails)")
    group.addoption("--modeltests-no-reports", action="store_true", default=False,
                    help="write neither the JSON results nor the HTML report")
    group.addoption("--modeltests-history", metavar="PATH", default=None,
                    help="record the run in this SQLite run history (default: "
                    "reports/history.sqlite; read it with modeltests history)")
    group.addoption("--modeltests-no-history", action="store_true", default=False,
                    help="do not record the run in the run history")
    group.addoption("--modeltests-mlflow", metavar="URI", nargs="?", const="mlruns",
                    default=None,
                    help="log the run into an MLflow experiment at this tracking URI (a "
                    "server's http://..., or a folder, default mlruns); write it as "
                    "--modeltests-mlflow=URI. Needs pip install 'modeltests[mlflow]'")
    group.addoption("--modeltests-save-predictions", metavar="DIR", default=None,
                    help="save every whole-dataset prediction as Parquet under DIR, for a "
                    "later run's regression check (baseline_predictions:)")
    group.addoption("--modeltests-no-cache", action="store_true", default=False,
                    help="neither read nor write the predictions kept across runs (pytest's "
                    "cache folder, modeltests-predictions; --cache-clear empties it)")
    parser.addini("modeltests_suite_dirs", type="args", default=["suites"],
                  help="directory names whose YAML files are collected as suites")
    parser.addini("modeltests_undecided", default="fail",
                  help="what an undecided threshold means: fail (default) or gate")
    parser.addini("modeltests_json", default="reports/modeltests.json",
                  help="default path of the JSON results")
    parser.addini("modeltests_html", default="reports/modeltests.html",
                  help="default path of the HTML report")
    parser.addini("modeltests_history", default="reports/history.sqlite",
                  help="default path of the run history (SQLite)")
    parser.addini("modeltests_mlflow", default="",
                  help="log every run into MLflow at this tracking URI (empty: off)")
    parser.addini("modeltests_mlflow_experiment", default="modeltests",
                  help="the MLflow experiment runs are logged into")


def pytest_configure(config: pytest.Config) -> None:
    from modeltests.extend.registry import registry_from_hooks
    from modeltests.reporting.entries import ResultCollector
    from modeltests.support.progress import LineProgress
    from modeltests.plugin.reports import ReportWriter, past_lookup, require_mlflow
    from modeltests.session.runtime import Runtime

    require_mlflow(config)
    if not config.pluginmanager.has_plugin("modeltests.extend.builtin"):
        config.pluginmanager.register(builtin, "modeltests.extend.builtin")
    registry = registry_from_hooks(config.hook)
    capture = config.pluginmanager.getplugin("capturemanager")
    suspend = capture.global_and_fixture_disabled if capture is not None else None
    runtime = Runtime(registry=registry, rootdir=config.rootpath, suspend_capture=suspend,
                      undecided=_undecided_policy(config),
                      progress=LineProgress(PytestTerminal(config)),
                      save_predictions=_save_predictions_dir(config),
                      prediction_cache=_prediction_cache(config), past=past_lookup(config))
    config.stash[RUNTIME_KEY] = runtime
    config.pluginmanager.register(ReportWriter(config, runtime, ResultCollector(time.time())),
                                  "modeltests.reports")
    _stop_on_sigterm(config)
    config.addinivalue_line("markers", "modeltests: every check collected from a suite file")
    for kind in registry.checks():
        config.addinivalue_line("markers", f"{kind.name}: {kind.name} checks ({kind.description})")


def _prediction_cache(config: pytest.Config) -> PredictionCache:
    """Predictions kept in pytest's cache folder (``--cache-clear`` empties it); off with
    ``--modeltests-no-cache``, and off without the cacheprovider plugin
    (``-p no:cacheprovider``: the user asked pytest to keep nothing)."""
    from modeltests.predictions.cache import FOLDER_NAME, PredictionCache

    if config.getoption("modeltests_no_cache"):
        return PredictionCache(lambda: Path(), enabled=False, off_reason="--modeltests-no-cache")
    if not config.pluginmanager.has_plugin("cacheprovider"):
        return PredictionCache(lambda: Path(), enabled=False,
                               off_reason="pytest's cacheprovider plugin is disabled")
    return PredictionCache(lambda: Path(config.cache.mkdir(FOLDER_NAME)))


def _save_predictions_dir(config: pytest.Config) -> Path | None:
    option = config.getoption("modeltests_save_predictions")
    if not option:
        return None
    return (config.invocation_params.dir / Path(option).expanduser()).resolve()


def _undecided_policy(config: pytest.Config) -> str:
    policy = str(config.getoption("modeltests_undecided") or config.getini("modeltests_undecided"))
    if policy not in ("gate", "fail"):
        raise pytest.UsageError(f"modeltests_undecided must be 'gate' or 'fail' (got {policy!r})")
    return policy


class PytestTerminal:
    """Progress bars through pytest's own terminal writer, with output capture suspended while
    one is drawn; none under ``-q``, on pytest-xdist workers, off a terminal or in CI."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def enabled(self) -> bool:
        from modeltests.support.progress import wanted

        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or hasattr(self.config, "workerinput"):
            return False
        return wanted(bool(getattr(reporter, "isatty", False)), self.config.get_verbosity())

    def write(self, text: str) -> None:
        # write_raw leaves the writer's idea of the current line alone: the bar restores it.
        self.config.get_terminal_writer().write_raw(text, flush=True)

    def width(self) -> int:
        return self.config.get_terminal_writer().fullwidth

    def column(self) -> int:
        return self.config.get_terminal_writer().width_of_current_line

    def suspended(self) -> ContextManager[object]:
        capture = self.config.pluginmanager.getplugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture is not None else nullcontext()


def _stop_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (CI cancellation, ``timeout``) ends the run as Ctrl-C does: pytest finishes the
    session, and the reports say what ran and what did not. A handler someone else installed
    is left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    from modeltests.errors import Terminated

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    def restore() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, terminate)
    config.add_cleanup(restore)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in YAML_SUFFIXES:
        return None
    suite_dirs = set(parent.config.getini("modeltests_suite_dirs"))
    in_suite_dir = any(part in suite_dirs for part in file_path.parent.parts)
    if not (in_suite_dir or parent.session.isinitpath(file_path)):
        if _looks_like_a_suite(file_path):
            parent.config.stash.setdefault(UNCOLLECTED_KEY, []).append(file_path)
        return None
    from modeltests.plugin.collect import SuiteFile

    return SuiteFile.from_parent(parent, path=file_path)


SUITE_SHAPE = re.compile(r"^model:.*^checks:|^checks:.*^model:", re.MULTILINE | re.DOTALL)


def _looks_like_a_suite(path: Path) -> bool:
    """A cheap look (top-level ``model:`` and ``checks:`` keys), never a YAML parse."""
    try:
        return path.stat().st_size < 1_000_000 and bool(SUITE_SHAPE.search(
            path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Say what this run builds first (built-in models not in the cache, with rough times),
    and how to collect suite-shaped files that a folder name kept out of the run."""
    return _build_plan(config, items) + _uncollected(config)


def _build_plan(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    if hasattr(config, "workerinput"):
        return []  # the controller says it once
    from modeltests.plugin.collect import CheckItem

    names = set()
    for item in items:
        if isinstance(item, CheckItem):
            suite = item.suite
            for params in [suite.model, *suite.models.values()]:
                for key in ("path", "weights"):  # a torch module's weights: builtin:digits-cnn
                    path = getattr(params, key, None)
                    if isinstance(path, str) and path.startswith("builtin:"):
                        names.add(path[len("builtin:"):])
    if not names:
        return []
    from modeltests.demo.plan import plan_lines
    from modeltests.support.environment import cache_dir

    return plan_lines(names, cache_dir())


def _uncollected(config: pytest.Config) -> list[str]:
    missed = config.stash.get(UNCOLLECTED_KEY, [])
    if not missed:
        return []
    shown = ", ".join(str(p.relative_to(config.rootpath)) if p.is_relative_to(config.rootpath)
                      else str(p) for p in missed[:3])
    more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
    folders = " ".join(config.getini("modeltests_suite_dirs"))
    return [f"modeltests: {shown}{more} look(s) like suites but were not collected: their folder "
            f"is not in modeltests_suite_dirs ({folders}). Add it there in your pytest "
            "configuration, or name the file on the command line."]


@pytest.fixture
def modeltests(request: pytest.FixtureRequest) -> Any:
    """Reach a suite's model from a plain Python test, sharing the session's loaded models.

    ::

        def test_negation(modeltests):
            model = modeltests.model("suites/sentiment.yaml")
            assert model.predict(["not good"]).labels == ["negative"]
    """
    from modeltests.plugin.fixtures import ModelTestsFixture

    handle = ModelTestsFixture(runtime_of(request.config), request)
    request.node.stash[USER_TEST_KEY] = handle.record
    return handle


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    from modeltests.plugin.entries import entry_from_report
    from modeltests.reporting.entries import ItemInfo
    from modeltests.support.text import shown_path

    redactor = runtime_of(item.config).redactor if RUNTIME_KEY in item.config.stash else None
    if redactor:
        _mask_report(report, redactor)
    user_fields = item.stash.get(USER_TEST_KEY, None)
    info = item.stash.get(ITEM_INFO_KEY, None)
    if info is None and user_fields is not None:
        info = ItemInfo(shown_path(item.path, item.config.rootpath), "python", item.name)
    if info is None:
        return report
    entry = entry_from_report(info, report, item.stash.get(RESULT_KEY, None),
                              user_fields() if user_fields is not None else None)
    if entry is not None:
        if redactor:
            entry = redactor.mask(entry)
        item.config.hook.pytest_modeltests_result(item=item, entry=entry)
        report.modeltests = entry  # type: ignore[attr-defined]  # xdist carries it to the controller
        for name, value in _properties(entry):
            report.user_properties.append((name, value))
            if call.when == "call":
                # junitxml writes the properties of the teardown report, built from the item.
                item.user_properties.append((name, value))
    return report


def _properties(entry: dict[str, Any]) -> list[tuple[str, object]]:
    """Every metric (``modeltests.accuracy``), and every threshold's limit and verdict
    (``modeltests.threshold.min_accuracy.limit`` / ``.held``; a slice's key is scoped:
    ``modeltests.threshold.negation.min_accuracy.limit``), for JUnit XML."""
    found: list[tuple[str, object]] = [
        (f"modeltests.{name}", value) for name, value in entry.get("metrics", {}).items()
        if isinstance(value, (int, float))]
    for threshold in entry.get("thresholds", []):
        prefix = f"modeltests.threshold.{threshold['key']}"
        found += [(f"{prefix}.limit", threshold["limit"]),
                  (f"{prefix}.held", "true" if threshold["held"] else "false")]
    return found


def _mask_report(report: pytest.TestReport, redactor: Redactor) -> None:
    """Secrets masked in everything pytest shows of a test: the failure or skip text (terminal,
    JUnit XML, xdist), captured output and user properties."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        report.longrepr = redactor.mask(longrepr)
    elif isinstance(longrepr, str):
        report.longrepr = redactor.mask(longrepr)
    elif longrepr is not None and redactor.found_in(str(longrepr)):
        report.longrepr = redactor.mask(str(longrepr))  # the traceback, flattened to its text
    report.sections = [redactor.mask(section) for section in report.sections]
    report.user_properties = [(redactor.mask(name), redactor.mask(value))
                              for name, value in report.user_properties]


def pytest_unconfigure(config: pytest.Config) -> None:
    if RUNTIME_KEY in config.stash:
        config.stash[RUNTIME_KEY].close()
