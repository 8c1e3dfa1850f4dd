"""The shipped JSON Schema is current and accepts the example suites."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from modeltests.cli import default_registry
from modeltests.suite.schema import suite_json_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "modeltests" / "schema" / "suite.schema.json"
USER_KINDS = {"label_balance"}  # registered by the repository's conftest.py, not built in


def test_shipped_schema_matches_the_registry() -> None:
    generated = suite_json_schema(default_registry())
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
        data["checks"] = [c for c in data["checks"] if c["kind"] not in USER_KINDS]
        jsonschema.validate(data, schema)


def test_schema_rejects_a_threshold_out_of_range() -> None:
    schema = json.loads(SHIPPED.read_text())
    suite = {"model": {"adapter": "callable", "target": "m:f", "labels": ["a", "b"]},
             "datasets": {"dev": {"path": "dev.csv"}},
             "checks": [{"kind": "accuracy", "dataset": "dev", "min_accuracy": 1.5}]}
    try:
        jsonschema.validate(suite, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("min_accuracy 1.5 was accepted")
