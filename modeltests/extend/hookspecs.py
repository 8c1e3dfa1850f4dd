"""Hooks that modeltests adds to pytest. Implement them in a ``conftest.py`` or a plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from modeltests.extend.registry import Registry


@pytest.hookspec(historic=True)
def pytest_modeltests_register_checks(registry: Registry) -> None:
    """Register check kinds; each becomes a valid ``kind:`` in suite files.

    Example (``conftest.py``)::

        from modeltests import CheckParams, CheckResult, threshold

        class LengthParams(CheckParams):
            dataset: str
            max_share_empty: float | None = threshold("Largest share of empty texts.", ge=0, le=1)

        def pytest_modeltests_register_checks(registry):
            @registry.check("empty_texts", params=LengthParams)
            def run(context, params):
                texts = context.dataset(params.dataset).texts
                share = sum(not t.strip() for t in texts) / max(len(texts), 1)
                return CheckResult(metrics={"share_empty": share}, sample_size=len(texts))
    """


@pytest.hookspec(historic=True)
def pytest_modeltests_register_adapters(registry: Registry) -> None:
    """Register model adapters; each becomes a valid ``model.adapter`` in suite files.

    Example (``conftest.py``)::

        from typing import Literal
        from modeltests import AdapterKind, AdapterParams, ModelAdapter, Predictions

        class ConstantParams(AdapterParams):
            adapter: Literal["constant"] = "constant"
            answer: str = "positive"

        class ConstantModel(ModelAdapter):
            def __init__(self, params):
                self.labels, self.answer = ["negative", "positive"], params.answer
            def predict(self, texts):
                return Predictions.from_labels([self.answer] * len(texts), self.labels)

        def pytest_modeltests_register_adapters(registry):
            registry.add_adapter(AdapterKind("constant", ConstantParams,
                                             lambda params, ctx: ConstantModel(params)))
    """


def pytest_modeltests_result(item: pytest.Item, entry: dict[str, Any]) -> None:
    """Called with each check's JSON entry after it ran; add keys to ``entry`` to enrich reports."""
