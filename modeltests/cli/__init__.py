"""The ``modeltests`` command (also ``python -m modeltests``).

``init`` writes a starter suite for a model, ``validate`` checks suites without a model,
``run`` runs them without pytest, ``report`` re-renders the HTML of a results file, ``compare``
says what changed between two runs; ``schema``, ``kinds`` and ``build-demo`` help with the rest.

Every command that reads suites builds its registry through the same hooks as a pytest run (the
built-ins, the ``conftest.py`` files of the rootdir and of the suites named), so a team's own
kinds appear in ``kinds`` and ``schema``, are validated by ``validate`` and run in ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from modeltests.extend.registry import Registry


def _registry(args: argparse.Namespace) -> Registry:
    from modeltests.extend.discovery import standalone_registry

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


def _validate(args: argparse.Namespace) -> int:
    from modeltests.cli.validate import validate_paths

    found = validate_paths([Path(p) for p in args.paths], _registry(args),
                           Path(args.rootdir).resolve())
    for line in found.problems:
        print(line)
    for line in found.warnings:
        print(f"warning: {line}")
    for line in found.power:
        print(f"power: {line}")
    verdict = (f"{len(found.problems)} problem(s)" if found.problems else "no problems")
    print(f"modeltests: {found.suites} suite(s), {found.checks} check(s): {verdict}")
    return 1 if found.problems or not found.suites else 0


def _report(args: argparse.Namespace) -> int:
    from modeltests.reporting.html import write_html

    source = Path(args.results)
    output = Path(args.output) if args.output else source.with_suffix(".html")
    previous = _read_results(Path(args.previous)) if args.previous else None
    write_html(_read_results(source), output, previous, args.previous)
    print(f"modeltests: wrote {output}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    """Exit 0: no regression and the gate as strong; 1: a regression; 2: bad usage or input;
    3: the gate was weakened (without --allow-weakened); 4: nothing to compare."""
    from modeltests.cli import compare as compare_module

    a, b = _comparable(Path(args.a)), _comparable(Path(args.b))
    problem = compare_module.suites_problem(a, b)
    if problem is not None:
        print(f"modeltests: error: {problem}", file=sys.stderr)
        return compare_module.EXIT_INPUT_ERROR
    print(f"modeltests: A = {args.a}, B = {args.b}")
    if compare_module.nothing_in_common(a, b):
        print("modeltests: nothing to compare: no check ran in both A and B")
        return compare_module.EXIT_NOTHING_TO_COMPARE
    return compare_module.print_comparison(a, b, args.allow_weakened)


def _comparable(path: Path) -> dict[str, object]:
    """A results file ``compare`` can read, or a :class:`ModelTestsError` (exit 2)."""
    from modeltests.cli.compare import input_problem
    from modeltests.errors import ModelTestsError

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelTestsError(f"cannot read {path}: {exc}") from None
    problem = input_problem(document, str(path))
    if problem is not None:
        raise ModelTestsError(problem)
    return dict(document)


def _history(args: argparse.Namespace) -> int:
    """Never called: each ``history`` action (list, trend, diff) sets its own ``func``."""
    raise AssertionError("modeltests history needs an action")


def _read_results(path: Path) -> dict[str, object]:
    from modeltests.errors import ModelTestsError

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelTestsError(f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict) or "checks" not in document:
        raise ModelTestsError(f"{path} is not a modeltests JSON results file (no 'checks')")
    return document


def _init(args: argparse.Namespace) -> int:
    from modeltests.cli.init import init

    output = init(args.model, Path(args.data) if args.data else None,
                  Path(args.output) if args.output else None, Path(args.rootdir).resolve(),
                  measure=not args.no_measure)
    print(f"modeltests: wrote {output}; run it with: pytest {output}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from modeltests.api import Session
    from modeltests.reporting.json_report import build_document, write_json
    from modeltests.session.facts import run_facts

    with Session(args.rootdir, paths=args.paths, cache=not args.no_cache) as session:
        results = [session.run(path, args.select or None) for path in args.paths]
        checks = [check for result in results for check in result.checks]
        for check in checks:
            print(f"{check.entry['nodeid']} {check.outcome.upper()}  {_headline(check.entry)}")
        if (args.json or args.html) and results:
            collector = results[0].collector()
            for result in results[1:]:
                for check in result.checks:
                    collector.add(check.entry)
            document = build_document(collector, [run_facts(session.runtime)], sys.argv[1:],
                                      session.rootdir, session.runtime.redactor.mask)
            if args.json:
                write_json(document, Path(args.json))
                print(f"modeltests: wrote {args.json}")
            if args.html:
                from modeltests.reporting.html import write_html

                write_html(document, Path(args.html))
                print(f"modeltests: wrote {args.html}")
    return 0 if all(c.outcome in ("passed", "skipped", "xfailed") for c in checks) else 1


def _headline(entry: dict[str, object]) -> str:
    text = str(entry.get("headline") or entry.get("message") or "")
    return text.splitlines()[-1] if text else ""


def _build(args: argparse.Namespace) -> int:
    from modeltests.errors import ModelLoadError
    from modeltests.extend.discovery import standalone_registry

    registry = standalone_registry(Path(args.rootdir))
    names = args.names or ["sentiment-minilm"]
    unknown = [name for name in names if registry.builtin_model(name) is None]
    if unknown:
        raise ModelLoadError(f"unknown built-in model(s) {', '.join(map(repr, unknown))} "
                             f"(allowed: {', '.join(registry.builtin_model_names)})")
    for name in names:
        build = registry.builtin_model(name)
        assert build is not None
        print(build())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from modeltests.errors import ModelTestsError

    try:
        return int(args.func(args))
    except ModelTestsError as exc:
        print(f"modeltests: error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The command's parser: every subcommand and option (the CLI reference is read from it)."""
    parser = argparse.ArgumentParser(prog="modeltests", description=__doc__.splitlines()[0]
                                     if __doc__ else None)
    parser.add_argument("--rootdir", default=".",
                        help="project root: shown paths and conftest.py discovery start here")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        ("init", "write a starter suite for a model (and a labelled data file), with "
                 "thresholds proposed from one measured run", _init),
        ("validate", "report every configuration problem of suites (file:line) without "
                     "loading a model", _validate),
        ("run", "run suite files (or folders of suites) without pytest", _run),
        ("report", "re-render the HTML report of a JSON results file", _report),
        ("compare", "what changed between two runs: setup, verdicts, metrics beyond noise",
         _compare),
        ("history", "the run history pytest records: list runs, one metric's trend, what "
                    "changed between two recorded runs", _history),
        ("schema", "print the JSON Schema of suite files", _schema),
        ("kinds", "list check kinds and model adapters", _kinds),
        ("build-demo", "build (or find) the embedded demo models", _build),
    ]
    for name, help_text, func in commands:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(func=func)
        _arguments(name, command)
    return parser


def _arguments(name: str, command: argparse.ArgumentParser) -> None:
    if name in ("schema", "kinds"):
        command.add_argument("paths", nargs="*", default=[],
                             help="suites or folders whose conftest.py files register kinds")
    if name == "schema":
        command.add_argument("-o", "--output", help="write to this file instead of stdout")
    if name in ("run", "validate"):
        command.add_argument("paths", nargs="+", help="suite files or folders")
    if name == "run":
        command.add_argument("-k", "--select", action="append",
                             help="only checks whose kind[label] or kind matches (repeatable)")
        command.add_argument("--json", help="also write the JSON results here")
        command.add_argument("--html", help="also write the HTML report here")
        command.add_argument("--no-cache", action="store_true",
                             help="neither read nor write the prediction cache "
                             "(<modeltests cache>/predictions)")
    if name == "report":
        command.add_argument("results", help="a JSON results file (reports/modeltests.json)")
        command.add_argument("-o", "--output", help="the HTML file (default: RESULTS with .html)")
        command.add_argument("--previous", metavar="A.json", help="an earlier run's results: "
                             "the report lists how the gate changed since (weakened first)")
    if name == "compare":
        command.add_argument("a", metavar="A.json", help="the earlier run's results")
        command.add_argument("b", metavar="B.json", help="the later run's results")
        command.add_argument("--allow-weakened", action="store_true",
                             help="exit 0 although B's gate is weaker than A's (a threshold "
                             "loosened or removed, a check removed or no longer gating, a "
                             "looser gate: or undecided policy); without it such a change "
                             "exits 3")
    if name == "history":
        from modeltests.cli.history import add_arguments

        add_arguments(command)
    if name == "build-demo":
        command.add_argument("names", nargs="*", metavar="NAME", help="built-in models to "
                             "build (default: sentiment-minilm; e.g. ner-tiny)")
    if name == "init":
        command.add_argument("model", help="a transformers model directory or hub id")
        command.add_argument("data", nargs="?", help="a labelled CSV, JSONL or Parquet file")
        command.add_argument("-o", "--output", help="the suite file (default: suites/MODEL.yaml)")
        command.add_argument("--no-measure", action="store_true",
                             help="do not run the model: write the suite without thresholds")
