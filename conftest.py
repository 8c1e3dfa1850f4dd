"""Project-wide pytest configuration, and an example of a user-defined check kind.

``label_balance`` is registered exactly as a team would register its own check: through the
``pytest_modeltests_register_checks`` hook, with a pydantic parameter model whose ``min_*`` /
``max_*`` fields declared with ``threshold()`` become gates. ``suites/sentiment.yaml`` uses it.
"""

from __future__ import annotations

import os

from modeltests import CheckContext, CheckParams, CheckResult, Registry, threshold

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class LabelBalanceParams(CheckParams):
    """The model must not collapse onto one label on a dataset."""

    kind: str = "label_balance"
    dataset: str
    max_majority_share: float | None = threshold(
        "Largest share of predictions that may go to a single label.", ge=0, le=1
    )


def run_label_balance(context: CheckContext, params: LabelBalanceParams) -> CheckResult:
    predictions = context.predictions(params.dataset)  # shared with the accuracy check
    counts = {label: predictions.labels.count(label) for label in context.model().labels}
    share = max(counts.values()) / max(len(predictions), 1)
    # max_majority_share, declared with threshold(), gates on the returned metric.
    return CheckResult(metrics={"majority_share": share}, sample_size=len(predictions),
                       details={"predicted_counts": counts})


def pytest_modeltests_register_checks(registry: Registry) -> None:
    registry.check("label_balance", params=LabelBalanceParams,
                   description="predictions are not collapsed onto one label")(run_label_balance)
