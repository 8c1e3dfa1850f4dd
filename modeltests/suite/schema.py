"""The suite file's top level: model, datasets, defaults, checks.

``model`` and each entry of ``checks`` are validated against the parameter model of their
adapter / kind, looked up in the registry; this module holds the parts that are the same for
every suite. :mod:`modeltests.suite.json_schema` exports the whole format for editors.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from modeltests.data.spec import DatasetSpec
from modeltests.result import MAX_SEED, GateMode
from modeltests.serving.spec import ServeSpec


class Defaults(BaseModel):
    """Settings every check inherits unless it sets its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, ge=0, le=MAX_SEED,
                      description="Seed for sampling and generated inputs (0 to 2**32-1).")
    gate: GateMode = Field(
        default="estimate",
        description="'estimate': the measured value must meet each threshold; 'bound': the 95% "
        "confidence interval must clear it (stricter, needs larger samples).",
    )
    max_examples: int = Field(
        default=5, ge=0, le=100, description="Failing examples kept per check in the reports."
    )


class SuiteHeader(BaseModel):
    """Everything in a suite file except the contents of ``model`` and ``checks``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, description="Suite name (defaults to the file name).")
    description: str | None = None
    model: dict[str, Any] = Field(description="How to load the model under test.")
    models: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Other named models, for checks that compare models."
    )
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    serve: ServeSpec | None = Field(default=None, description="An inference server started for "
                                    "the suite's served ('http') models.")
    defaults: Defaults = Field(default_factory=Defaults)
    checks: list[Any] = Field(description="The checks; each has a 'kind' and its parameters.")
