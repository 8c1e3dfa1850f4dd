"""Suite files become pytest items: one :class:`CheckItem` per entry of ``checks:``.

Items only translate: loading goes through :meth:`Runtime.load_suite` and running through
:mod:`modeltests.session.runner`, the same path :func:`modeltests.run` takes. Each item stashes an
:class:`ItemInfo` for the reports, which never see the item itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, cast

import pytest

from modeltests.errors import CheckFailed, ModelTestsError
from modeltests.reporting.entries import ItemInfo
from modeltests.result import CheckResult
from modeltests.session.runner import execute_check, internal_error_message, prepare_check
from modeltests.plugin.state import ITEM_INFO_KEY, RESULT_KEY, runtime_of
from modeltests.suite.loader import CheckEntry, NotASuiteError, Suite
from modeltests.support.text import shown_path


class SuiteFile(pytest.File):
    """A YAML suite. Non-suite YAML (no ``model``/``checks`` keys) yields no items."""

    def collect(self) -> Iterable[pytest.Item]:
        runtime = runtime_of(self.config)
        try:
            suite = runtime.load_suite(self.path)
        except NotASuiteError as exc:
            if self.session.isinitpath(self.path):
                yield SuiteErrorItem.from_parent(self, name="suite", message=str(exc), line=1)
            return
        except ModelTestsError as exc:
            line = getattr(exc, "line", None) or 1
            yield SuiteErrorItem.from_parent(self, name="suite", message=str(exc), line=line)
            return
        for warning in suite.warnings:
            self.warn(pytest.PytestWarning(warning))
        for entry in suite.checks:
            yield CheckItem.from_parent(self, name=f"{entry.kind}[{entry.label}]", suite=suite,
                                        entry=entry)


class SuiteErrorItem(pytest.Item):
    """Stands for a suite file that could not be read, so that the problem is reported."""

    def __init__(self, *, message: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.line = line
        self.add_marker("modeltests")
        self.stash[ITEM_INFO_KEY] = ItemInfo(shown_path(self.path, self.config.rootpath),
                                             "suite", self.name, line)

    def setup(self) -> None:
        pytest.fail(self.message, pytrace=False)

    def runtest(self) -> None:  # pragma: no cover - setup always fails
        pass

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line - 1, self.name


class CheckItem(pytest.Item):
    """One check of a suite; its outcome is the check's verdict."""

    def __init__(self, *, suite: Suite, entry: CheckEntry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.entry = entry
        self.add_marker("modeltests")
        if entry.params is not None:
            self.add_marker(entry.kind)
        if entry.params is not None and entry.params.xfail:
            self.add_marker(pytest.mark.xfail(reason=entry.params.xfail, strict=True))
        description = entry.params.description if entry.params is not None else None
        self.stash[ITEM_INFO_KEY] = ItemInfo(suite.shown_path, entry.kind, self.name, entry.line,
                                             description)

    def setup(self) -> None:
        try:
            prepare_check(runtime_of(self.config), self.suite, self.entry)
            return
        except ModelTestsError as exc:
            message = str(exc)
        # Outside the except block: the message alone, not "During handling of ..." twice.
        pytest.fail(message, pytrace=False)

    def runtest(self) -> None:
        runtime = runtime_of(self.config)
        result = execute_check(runtime, self.suite, self.entry)
        self.stash[RESULT_KEY] = result
        for warning in result.warnings:
            self.warn(pytest.PytestWarning(runtime.redactor.mask(f"{self.nodeid}: {warning}")))
        if result.skip_reason:
            raise pytest.skip.Exception(result.skip_reason, _use_item_location=True)
        if not result.passed:
            raise CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            from modeltests.reporting.terminal import failure_message

            location = self.suite.location("checks", self.entry.index)
            return failure_message(self.name, location, cast(CheckResult, excinfo.value.result))
        if isinstance(excinfo.value, ModelTestsError):
            return str(excinfo.value)
        if isinstance(excinfo.value, Exception) and not isinstance(
                excinfo.value, pytest.fail.Exception):
            return internal_error_message(excinfo.value, self.name)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.entry.line - 1, f"{self.name} ({self.entry.kind} check)"
