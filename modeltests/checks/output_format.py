"""``format``: the share of generations in the declared shape: JSON, JSON that satisfies a JSON
Schema, or text that matches a regular expression (Wilson interval over prompts)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modeltests.checks._generation import (PromptSource, generation_example, read_prompts,
                                           request_for)
from modeltests.checks._rates import rate_result
from modeltests.context import CheckContext
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, threshold
from modeltests.support.text import valid_pattern

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(.*)\n```\s*$", re.DOTALL)


class FormatParams(PromptSource):
    """Generations that must parse as JSON, satisfy a JSON Schema or match a regex."""

    kind: str = "format"
    expect: Literal["json", "regex"] = Field(
        default="json", description="'json': each output (outer whitespace and one Markdown "
        "code fence removed) parses as JSON, and satisfies 'schema' when one is given; 'regex': "
        "each output matches 'pattern' (re.fullmatch, so the whole output must match).")
    schema_: dict[str, Any] | str | None = Field(
        default=None, alias="schema", description="A JSON Schema the parsed output must "
        "satisfy: inline, or the path of a .json file relative to the suite (needs the "
        "jsonschema package, a dependency of modeltests).")
    pattern: str | None = Field(default=None, description="With expect: regex, the Python "
                                "regular expression every output must match as a whole.")
    min_valid_rate: float | None = threshold("Lowest share of outputs in the declared format.",
                                             ge=0, le=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return valid_pattern(value)

    @model_validator(mode="after")
    def _consistent(self) -> FormatParams:
        if self.expect == "regex" and self.pattern is None:
            raise ValueError("expect: regex needs 'pattern'")
        if self.expect == "json" and self.pattern is not None:
            raise ValueError("'pattern' applies to expect: regex")
        if self.expect == "regex" and self.schema_ is not None:
            raise ValueError("'schema' applies to expect: json")
        return self


def run_format(context: CheckContext, params: FormatParams) -> CheckResult:
    prompts = read_prompts(context, params.dataset, params.prompts)
    validator = _validator(context, params)
    generations = context.generate(prompts.texts, request_for(context, params))
    problems = [_problem(params, g.text, validator) for g in generations]
    valid = sum(p is None for p in problems)
    failures = [generation_example(prompts.texts[i], g, problem=problems[i])
                for i, g in enumerate(generations) if problems[i] is not None]
    metrics = {"valid_rate": valid / len(generations), "prompts": float(len(generations))}
    result = rate_result(context, metrics, "valid_rate", valid, len(generations), failures)
    result.details = {"expect": params.expect if params.schema_ is None else "json + schema",
                      "invalid": len(generations) - valid}
    result.warn_unresolved(result.thresholds, len(generations))
    return result


def _problem(params: FormatParams, text: str, validator: Any) -> str | None:
    """Why ``text`` is not in the declared format, or None when it is."""
    if params.expect == "regex":
        assert params.pattern is not None
        return None if re.fullmatch(params.pattern, text) else \
            f"does not match {params.pattern!r} as a whole"
    body = text.strip()
    fenced = _FENCE.match(body)
    body = fenced.group(1) if fenced else body
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if validator is None:
        return None
    error = next(iter(validator.iter_errors(parsed)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the document"
    return f"breaks the schema at {where}: {error.message}"


def _validator(context: CheckContext, params: FormatParams) -> Any:
    """A jsonschema validator of ``schema`` (None without one); a schema file that is missing,
    not JSON or not a valid schema is a located error."""
    if params.schema_ is None:
        return None
    import jsonschema

    schema: Any = params.schema_
    if isinstance(schema, str):
        path = context.resolve_path(schema)
        try:
            schema = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise context.error("schema", f"cannot read the schema file {path}: "
                                f"{exc.strerror}") from None
        except ValueError as exc:
            raise context.error("schema", f"{path.name} is not JSON: {exc}") from None
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise context.error("schema", f"not a valid JSON Schema: {exc.message}") from None
    return cls(schema)


def prepare_format(context: CheckContext, params: FormatParams) -> None:
    """Setup: the prompts, the schema and max_new_tokens are checked before the model runs."""
    read_prompts(context, params.dataset, params.prompts)
    _validator(context, params)
    request_for(context, params)


CHECK_KINDS = [CheckKind("format", FormatParams, run_format,
                         "share of generations that parse as JSON, satisfy a JSON Schema or "
                         "match a regex", prepare=prepare_format, task="generation")]
