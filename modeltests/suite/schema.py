"""The suite file's top level: model, datasets, defaults, checks.

``model`` and each entry of ``checks`` are validated against the parameter model of their
adapter / kind, looked up in the registry; this module holds the parts that are the same for
every suite. :mod:`modeltests.suite.json_schema` exports the whole format for editors.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modeltests.result import GateMode


class RayOptions(BaseModel):
    """Where and how ``executor: ray`` runs a dataset's predictions (see the README's "Past one
    machine: Ray")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = Field(
        default=None, description="'local' starts a Ray cluster in this process; 'auto' joins the "
        "cluster started on this machine; 'HOST:PORT' or 'ray://HOST:10001' an existing one. "
        "Unset: $RAY_ADDRESS, else 'local'.")
    workers: int = Field(default=2, ge=1, le=4096,
                         description="Actors, each with its own copy of the model.")
    cpus_per_worker: float = Field(default=1.0, gt=0, description="CPUs Ray reserves per actor.")
    batch_rows: int = Field(default=1024, ge=1, description="Texts per Ray Data batch (the "
                            "model still runs them in its own batch_size).")
    connect_timeout_s: float = Field(default=10.0, gt=0, le=600, description="How long to try "
                                     "reaching a cluster's address before the check errors.")
    runtime_env: dict[str, Any] | None = Field(
        default=None, description="Ray runtime_env for the workers (pip, env_vars, working_dir).")


class DatasetSpec(BaseModel):
    """A labelled dataset read with pandas (CSV, JSONL or Parquet)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="File path, relative to the suite file.")
    format: Literal["auto", "csv", "jsonl", "parquet", "conll"] = Field(
        default="auto", description="File format; 'auto' picks it from the file extension. "
        "'conll': a token dataset, one word per line (word first, tag last), blank lines "
        "between sentences."
    )
    text_column: str | list[str] = Field(
        default="text", description="Column holding the input text, or two columns holding a "
        "pair of texts (e.g. [premise, hypothesis]) for text-pair classification.")
    label_column: str = Field(default="label", description="Column holding the expected label.")
    label_map: dict[str, str] | None = Field(
        default=None, description="Rename dataset labels to the model's (e.g. {0: negative})."
    )
    tokens_column: str | None = Field(
        default=None, description="A token dataset (JSONL): the column holding each sentence's "
        "list of words (with tags_column).")
    tags_column: str | None = Field(
        default=None, description="A token dataset (JSONL): the column holding each sentence's "
        "list of BIO tags, one per word.")
    limit: int | None = Field(default=None, ge=1, description="Use only the first N rows.")
    encoding: str = Field(default="utf-8", description="Text encoding of a CSV or JSONL file.")
    unlabelled: Literal["error", "drop"] = Field(
        default="error", description="Rows without a label: 'error' names them, 'drop' leaves "
        "them out (the count is in the report).")
    executor: Literal["local", "ray"] = Field(
        default="local", description="Who computes whole-dataset predictions: 'local' (this "
        "process) or 'ray' (actors of a Ray cluster, each loading the model once).")
    ray: RayOptions | None = Field(default=None, description="Options of executor: ray.")
    stream: bool = Field(
        default=False, description="Never load the file in this process: Ray Data reads it in "
        "blocks, the actors predict each block and only (expected, predicted) counts come back "
        "(needs executor: ray). Only checks that read counts accept such a dataset (accuracy "
        "without slices); any other is an error at setup.")

    @model_validator(mode="after")
    def _token_columns_together(self) -> DatasetSpec:
        if (self.tokens_column is None) != (self.tags_column is None):
            raise ValueError("a token dataset needs both 'tokens_column' and 'tags_column'")
        return self

    @model_validator(mode="after")
    def _ray_options_need_ray(self) -> DatasetSpec:
        if self.ray is not None and self.executor != "ray":
            raise ValueError("'ray' options need 'executor: ray'")
        if self.stream and self.executor != "ray":
            raise ValueError("'stream: true' needs 'executor: ray' (Ray Data reads the file)")
        if self.executor == "ray" and isinstance(self.text_column, list):
            raise ValueError("executor: ray reads one text column; a dataset of text pairs "
                             "(two text columns) runs with executor: local")
        return self

    @field_validator("text_column")
    @classmethod
    def _one_or_two_columns(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError(f"a list of text columns names exactly two (a pair: first, "
                                 f"second), not {len(value)}")
            if value[0] == value[1]:
                raise ValueError(f"the two text columns must differ (got {value[0]!r} twice)")
        return value

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The text column, or the two columns of a pair (first, second)."""
        return tuple(self.text_column) if isinstance(self.text_column, list) \
            else (self.text_column,)

    @field_validator("label_map", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class Defaults(BaseModel):
    """Settings every check inherits unless it sets its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="Seed for sampling and generated inputs.")
    gate: GateMode = Field(
        default="estimate",
        description="'estimate': the measured value must meet each threshold; 'bound': the 95% "
        "confidence interval must clear it (stricter, needs larger samples).",
    )
    max_examples: int = Field(
        default=5, ge=0, le=100, description="Failing examples kept per check in the reports."
    )


class ServeSpec(BaseModel):
    """An inference server the session starts before the first check that needs the served
    model, and stops at its end (see :mod:`modeltests.serving`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] | str = Field(
        description="The command that starts the server: a list of arguments, or one string run "
        "by /bin/sh. '{python}' is this Python; '{port}' and '{port:NAME}' are free ports.")
    env: dict[str, str] = Field(default_factory=dict,
                                description="Environment variables added for the server.")
    cwd: str | None = Field(default=None, description="Working directory, relative to the "
                            "suite file (default: the suite's directory).")
    ready_url: str = Field(pattern=r"^https?://", description="Polled with GET until it answers "
                           "200 (e.g. the Open Inference Protocol's /v2/health/ready).")
    startup_timeout_s: float = Field(default=120.0, gt=0, le=3600,
                                     description="Seconds the server may take to become ready.")
    stop_timeout_s: float = Field(default=10.0, gt=0, le=600, description="Seconds between "
                                  "SIGTERM and SIGKILL when the session stops the server.")

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if not value or (isinstance(value, str) and not value.strip()):
            raise ValueError("the command must not be empty")
        return value


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
