"""Typed per-session and per-item state, kept in pytest's stash (never on private attributes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from modeltests.checks.base import CheckResult
    from modeltests.reporting.collector import ResultCollector
    from modeltests.runtime import Runtime

RUNTIME_KEY = pytest.StashKey["Runtime"]()
COLLECTOR_KEY = pytest.StashKey["ResultCollector"]()
RESULT_KEY = pytest.StashKey["CheckResult"]()
USER_TEST_KEY = pytest.StashKey[dict]()


def runtime_of(config: pytest.Config) -> Runtime:
    """The session's :class:`~modeltests.runtime.Runtime`."""
    return config.stash[RUNTIME_KEY]
