"""The shipped JSON Schema is current and accepts the example suites."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from modeltests.extend.discovery import standalone_registry
from modeltests.suite.json_schema import suite_json_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "modeltests" / "schema" / "suite.schema.json"


def test_shipped_schema_matches_the_registry() -> None:
    # Through the same hooks as a pytest run: the repository's conftest.py adds label_balance.
    generated = suite_json_schema(standalone_registry(ROOT))
    assert "check_label_balance" in generated["$defs"]
    assert json.loads(SHIPPED.read_text()) == json.loads(json.dumps(generated)), (
        "modeltests/schema/suite.schema.json is stale: run "
        "`python -m modeltests schema -o modeltests/schema/suite.schema.json`"
    )


def test_example_suites_validate_against_the_schema() -> None:
    schema = json.loads(SHIPPED.read_text())
    suites = sorted((ROOT / "suites").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
    assert suites
    for path in suites:
        data = yaml.safe_load(path.read_text())
        jsonschema.validate(data, schema)


def test_schema_rejects_a_threshold_out_of_range() -> None:
    schema = json.loads(SHIPPED.read_text())
    suite = {"model": {"adapter": "callable", "target": "m:f", "labels": ["a", "b"]},
             "datasets": {"dev": {"path": "dev.csv"}},
             "checks": [{"kind": "accuracy", "dataset": "dev", "min_accuracy": 1.5}]}
    with pytest.raises(jsonschema.ValidationError) as raised:
        jsonschema.validate(suite, schema)
    assert "1.5 is greater than the maximum of 1" in _all_reasons(raised.value)


def _all_reasons(error: jsonschema.ValidationError) -> list[str]:
    """The messages of ``error`` and of every error nested under its oneOf / anyOf branches."""
    return [error.message] + [m for sub in error.context for m in _all_reasons(sub)]
