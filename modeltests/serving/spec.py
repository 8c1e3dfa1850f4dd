"""A suite's ``serve:`` section, declared by the room that starts the server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ServeSpec(BaseModel):
    """An inference server the session starts before the first check that needs the served
    model, and stops at its end (see :mod:`modeltests.serving.server`)."""

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
