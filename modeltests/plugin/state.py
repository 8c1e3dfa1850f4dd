"""Typed per-session and per-item state, kept in pytest's stash (never on private attributes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:  # the plugin module imports this one: keep pydantic & co. out of `pytest --help`
    from modeltests.reporting.entries import ItemInfo
    from modeltests.result import CheckResult
    from modeltests.session.runtime import Runtime

RUNTIME_KEY = pytest.StashKey["Runtime"]()
"""The session's :class:`Runtime`, on ``config.stash``."""
ITEM_INFO_KEY = pytest.StashKey["ItemInfo"]()
"""What the reports say about a collected check, on ``item.stash``."""
RESULT_KEY = pytest.StashKey["CheckResult"]()
"""What a check measured, on ``item.stash`` once it ran."""
USER_TEST_KEY = pytest.StashKey[Callable[[], dict[str, Any]]]()
"""The report fields of a plain test that used the ``modeltests`` fixture, on ``item.stash``."""
UNCOLLECTED_KEY = pytest.StashKey[list[Path]]()
"""Suite-shaped YAML files that were not collected (their folder is not a suite folder)."""
"""The report fields of a plain test that used the ``modeltests`` fixture, on ``item.stash``."""


def runtime_of(config: pytest.Config) -> Runtime:
    """The session's :class:`~modeltests.session.runtime.Runtime`."""
    return config.stash[RUNTIME_KEY]
