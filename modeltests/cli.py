"""``python -m modeltests``: run suites, export the suite JSON Schema, list kinds, build the demo.

Every command builds its registry through the same hooks as a pytest run (the built-ins, the
``conftest.py`` files of the rootdir and of the suites named), so a team's own kinds appear in
``kinds`` and ``schema`` and run in ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from modeltests.registry import Registry


def _registry(args: argparse.Namespace) -> Registry:
    from modeltests.plugins import standalone_registry

    return standalone_registry(Path(args.rootdir), [Path(p) for p in args.paths])


def _schema(args: argparse.Namespace) -> int:
    from modeltests.suite.json_schema import suite_json_schema

    text = json.dumps(suite_json_schema(_registry(args)), indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _kinds(args: argparse.Namespace) -> int:
    registry = _registry(args)
    print("check kinds:")
    for kind in registry.checks():
        print(f"  {kind.name:<16} {kind.description}")
    print("model adapters:")
    for adapter in registry.adapters():
        print(f"  {adapter.name:<16} {adapter.description}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from modeltests.api import Session
    from modeltests.reporting.json_report import build_document, write_json

    with Session(args.rootdir, paths=args.paths) as session:
        results = [session.run(path, args.select or None) for path in args.paths]
        checks = [check for result in results for check in result.checks]
        for check in checks:
            print(f"{check.entry['nodeid']} {check.outcome.upper()}  {_headline(check.entry)}")
        if args.json and results:
            collector = results[0].collector()
            for result in results[1:]:
                for check in result.checks:
                    collector.add(check.entry)
            write_json(build_document(collector, session.runtime, sys.argv[1:],
                                      session.rootdir), Path(args.json))
            print(f"modeltests: wrote {args.json}")
    return 0 if all(c.outcome in ("passed", "skipped", "xfailed") for c in checks) else 1


def _headline(entry: dict[str, object]) -> str:
    text = str(entry.get("headline") or entry.get("message") or "")
    return text.splitlines()[-1] if text else ""


def _build(_args: argparse.Namespace) -> int:
    from modeltests.demo.build import ensure_default_model

    print(ensure_default_model(progress=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modeltests")
    parser.add_argument("--rootdir", default=".",
                        help="project root: shown paths and conftest.py discovery start here")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        ("run", "run suite files (or folders of suites) without pytest", _run),
        ("schema", "print the JSON Schema of suite files", _schema),
        ("kinds", "list check kinds and model adapters", _kinds),
        ("build-demo", "build (or find) the embedded demo model", _build),
    ]
    for name, help_text, func in commands:
        command = sub.add_parser(name, help=help_text)
        command.set_defaults(func=func)
        if name in ("schema", "kinds"):
            command.add_argument("paths", nargs="*", default=[],
                                 help="suites or folders whose conftest.py files register kinds")
        if name == "schema":
            command.add_argument("-o", "--output", help="write to this file instead of stdout")
        if name == "run":
            command.add_argument("paths", nargs="+", help="suite files or folders")
            command.add_argument("-k", "--select", action="append",
                                 help="only checks whose kind[label] or kind matches (repeatable)")
            command.add_argument("--json", help="also write the JSON results here")
    args = parser.parse_args(argv)
    return int(args.func(args))
