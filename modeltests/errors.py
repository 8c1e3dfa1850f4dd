"""Domain exceptions of modeltests.

Every error that a user can act on is a :class:`ModelTestsError`; the plugin renders it as a short
message (file, line, key, what is allowed, what it got) instead of a traceback. Anything else that
escapes a check is a bug and keeps pytest's normal traceback.

::

    ModelTestsError
    ├── CheckFailed                a check ran and a threshold did not hold: the verdict FAIL,
    │                              rendered as the check's short failure message
    ├── SuiteError                 the suite file is wrong (syntax, schema, references)
    ├── DatasetError               a dataset cannot be read or lacks a column / label
    ├── ModelLoadError             the model cannot be loaded (missing directory, bad import path)
    ├── ModelPredictError          the model raised while predicting
    │   └── RayExecutorError       the Ray cluster is unreachable or its run failed
    ├── ModelOutputError           the model answered with invalid outputs (NaN, wrong shape)
    ├── MissingResourceError       an optional resource (NLTK data, embeddings, a GPU) is absent
    └── UnsupportedCapabilityError the model adapter cannot do what the check needs
"""

from __future__ import annotations

from typing import Protocol


class ModelTestsError(Exception):
    """Base of every error modeltests reports as a plain message."""


class Verdict(Protocol):
    """What :class:`CheckFailed` carries (a :class:`modeltests.result.CheckResult`)."""

    def key_metric(self) -> str: ...


class CheckFailed(ModelTestsError):
    """A check ran and a threshold did not hold: an expected failure (the verdict FAIL), shown as
    the check's short failure message, never with a traceback. ``result`` is the check's
    :class:`~modeltests.result.CheckResult`."""

    def __init__(self, result: Verdict) -> None:
        super().__init__(result.key_metric())
        self.result = result


class Terminated(KeyboardInterrupt):
    """SIGTERM (CI cancellation, ``timeout``) received: the run stops as after Ctrl-C, so that
    pytest finishes the session and the reports are written with what finished."""


class SuiteError(ModelTestsError):
    """A suite file is invalid; the message lists every problem with file and line.

    ``line`` is the first problem's line when one is known (pytest shows the item there).
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class DatasetError(ModelTestsError):
    """A dataset is missing, unreadable, or does not match the suite's description."""


class ModelLoadError(ModelTestsError):
    """The model described by a suite could not be loaded."""


class ModelPredictError(ModelTestsError):
    """The model raised an exception while predicting."""


class RayExecutorError(ModelPredictError):
    """``executor: ray``: Ray is missing, the cluster cannot be reached, or its run failed."""


class ModelOutputError(ModelTestsError):
    """The model returned outputs that are not valid predictions."""


class MissingResourceError(ModelTestsError):
    """A resource the check needs is not available on this machine."""


class UnsupportedCapabilityError(ModelTestsError):
    """The model adapter does not offer a capability the check needs (e.g. torch weights)."""


def located(exc: ModelTestsError, location: str) -> ModelTestsError:
    """``exc`` located at ``location`` (``suite.yaml:LINE``) unless its message already names a
    line of that file."""
    text = str(exc)
    suite_file = location.rpartition(":")[0] or location
    return exc if text.startswith(f"{suite_file}:") else type(exc)(f"{location}: {text}")
