"""Suite files become pytest items: one :class:`CheckItem` per entry of ``checks:``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pytest

from modeltests.checks.base import CheckResult
from modeltests.context import CheckContext
from modeltests.errors import ModelTestsError
from modeltests.state import RESULT_KEY, runtime_of
from modeltests.suite.errors import Problem, render_problems
from modeltests.suite.loader import CheckEntry, Suite, build_suite, looks_like_suite
from modeltests.suite.source import YamlSyntaxError, load_yaml


class CheckFailed(Exception):
    """A check ran and a threshold did not hold (an expected failure, shown without traceback)."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.key_metric())
        self.result = result


class SuiteFile(pytest.File):
    """A YAML suite. Non-suite YAML (no ``model``/``checks`` keys) yields no items."""

    def collect(self) -> Iterable[pytest.Item]:
        runtime = runtime_of(self.config)
        try:
            source = load_yaml(self.path)
        except YamlSyntaxError as exc:
            message = f"{self._shown()}:{exc.line}: invalid YAML: {exc}"
            yield SuiteErrorItem.from_parent(self, name="suite", message=message, line=exc.line)
            return
        if not looks_like_suite(source.data):
            if self.session.isinitpath(self.path):
                message = (f"{self._shown()}:1: not a modeltests suite: a suite is a mapping "
                           "with the keys 'model' and 'checks'")
                yield SuiteErrorItem.from_parent(self, name="suite", message=message, line=1)
            return
        suite = build_suite(source, runtime.registry, self.config.rootpath)
        runtime.remember_suite(suite)
        if not suite.checks:
            problems = suite.problems or [Problem(self.path, suite.line_of("checks"), ("checks",),
                                                  "the suite has no checks")]
            yield SuiteErrorItem.from_parent(self, name="suite", line=problems[0].line,
                                             message=render_problems(problems, self.config.rootpath))
            return
        for entry in suite.checks:
            yield CheckItem.from_parent(self, name=f"{entry.kind}[{entry.label}]", suite=suite,
                                        entry=entry)

    def _shown(self) -> str:
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)


class SuiteErrorItem(pytest.Item):
    """Stands for a suite file that could not be read, so that the problem is reported."""

    def __init__(self, *, message: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.line = line
        self.add_marker("modeltests")

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

    @property
    def problems(self) -> list[Problem]:
        return self.suite.problems + self.entry.problems

    def setup(self) -> None:
        if self.problems:
            pytest.fail(render_problems(self.problems, self.config.rootpath), pytrace=False)
        runtime = runtime_of(self.config)
        kind = runtime.registry.get_check(self.entry.kind)
        labels = None
        if kind is not None and kind.needs_model:
            record = runtime.load_record(self.suite)
            if record.error is not None:
                pytest.fail(str(record.error), pytrace=False)
            labels = record.adapter.labels if record.adapter is not None else None
        self._setup_dataset(runtime, labels)

    def _setup_dataset(self, runtime: Any, labels: list[str] | None) -> None:
        """A dataset that cannot be read, or whose labels the model lacks, is an ERROR in setup
        (bad input), not a FAILED verdict on the model."""
        from modeltests.data import check_labels_known

        name = getattr(self.entry.params, "dataset", None)
        if not isinstance(name, str) or name not in self.suite.datasets:
            return
        try:
            dataset = runtime.dataset(self.suite, name)
            if labels is not None:
                check_labels_known(dataset, labels, self.suite.location("datasets", name))
        except ModelTestsError as exc:
            pytest.fail(str(exc), pytrace=False)

    def runtest(self) -> None:
        runtime = runtime_of(self.config)
        kind = runtime.registry.get_check(self.entry.kind)
        assert kind is not None and self.entry.params is not None
        context = CheckContext(runtime, self.suite, self.entry, self.entry.params)
        result = kind.run(context, self.entry.params)
        self.stash[RESULT_KEY] = result
        for warning in result.warnings:
            self.warn(pytest.PytestWarning(f"{self.nodeid}: {warning}"))
        if result.skip_reason:
            raise pytest.skip.Exception(result.skip_reason, _use_item_location=True)
        if not result.passed:
            raise CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            from modeltests.reporting.terminal import failure_message

            return failure_message(self, excinfo.value.result)
        if isinstance(excinfo.value, ModelTestsError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.entry.line - 1, f"{self.name} ({self.entry.kind} check)"
