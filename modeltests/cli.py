"""``python -m modeltests``: export the suite JSON Schema, list kinds, build the demo model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence


def default_registry() -> object:
    """A registry filled by the built-in plugin (the same hooks a pytest run uses)."""
    from modeltests import builtin
    from modeltests.registry import Registry

    registry = Registry()
    builtin.pytest_modeltests_register_adapters(registry)
    builtin.pytest_modeltests_register_checks(registry)
    return registry


def _schema(args: argparse.Namespace) -> int:
    from modeltests.suite.schema import suite_json_schema

    text = json.dumps(suite_json_schema(default_registry()), indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _kinds(_args: argparse.Namespace) -> int:
    registry = default_registry()
    print("check kinds:")
    for kind in registry.checks():  # type: ignore[attr-defined]
        print(f"  {kind.name:<16} {kind.description}")
    print("model adapters:")
    for adapter in registry.adapters():  # type: ignore[attr-defined]
        print(f"  {adapter.name:<16} {adapter.description}")
    return 0


def _build(_args: argparse.Namespace) -> int:
    from modeltests.demo.build import ensure_default_model

    print(ensure_default_model(progress=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modeltests")
    sub = parser.add_subparsers(dest="command", required=True)
    schema = sub.add_parser("schema", help="print the JSON Schema of suite files")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.set_defaults(func=_schema)
    sub.add_parser("kinds", help="list check kinds and model adapters").set_defaults(func=_kinds)
    sub.add_parser("build-demo", help="build (or find) the embedded demo model").set_defaults(
        func=_build)
    args = parser.parse_args(argv)
    return int(args.func(args))
