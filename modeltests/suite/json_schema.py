"""The JSON Schema of suite files, for editors: every registered adapter and check kind."""

from __future__ import annotations

from typing import Any

from modeltests.extend.registry import Registry
from modeltests.suite.schema import SuiteHeader


def suite_json_schema(registry: Registry) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for suite files, covering every registered kind and adapter."""
    schema = SuiteHeader.model_json_schema()
    defs = schema.setdefault("$defs", {})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "modeltests suite"
    model_refs = []
    for adapter in registry.adapters():
        sub = adapter.params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        sub.setdefault("properties", {})["adapter"] = {"const": adapter.name}
        name = f"adapter_{adapter.name}"
        defs[name] = sub
        model_refs.append({"$ref": f"#/$defs/{name}"})
    check_refs = []
    for kind in registry.checks():
        sub = kind.params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        sub.setdefault("properties", {})["kind"] = {"const": kind.name}
        sub["required"] = sorted(set(sub.get("required", [])) | {"kind"})
        name = f"check_{kind.name}"
        defs[name] = sub
        check_refs.append({"$ref": f"#/$defs/{name}"})
    props = schema["properties"]
    props["model"] = {"oneOf": model_refs, "description": "How to load the model under test."}
    props["models"] = {"type": "object", "additionalProperties": {"oneOf": model_refs}}
    props["checks"] = {"type": "array", "items": {"oneOf": check_refs}}
    return schema
