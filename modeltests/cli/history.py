"""``modeltests history``: the runs recorded in the run history, one metric's trend, and what
changed between two recorded runs (the ``compare`` output on their stored documents)."""

from __future__ import annotations

import argparse
from pathlib import Path

from modeltests.history.read import RunRow, list_runs, load_document, resolve_check, trend
from modeltests.support.text import format_number

DEFAULT_HISTORY = "reports/history.sqlite"


def history_path(args: argparse.Namespace) -> Path:
    """``--history`` (default ``reports/history.sqlite``), under ``--rootdir``."""
    return Path(args.rootdir) / (args.history or DEFAULT_HISTORY)


def counts(run: RunRow) -> str:
    text = ", ".join(f"{n} {outcome}" for outcome, n in sorted(run.summary.items())) or "no checks"
    return text + (" (interrupted)" if run.interrupted else "")


def run_line(run: RunRow) -> str:
    return f"{run.id:>4}  {run.started or '-'}  {(run.commit or '-')[:12]:<12}  {run.branch or '-'}"


def history_list(args: argparse.Namespace) -> int:
    path = history_path(args)
    runs = list_runs(path, args.last)
    print(f"modeltests: {len(runs)} run(s) in {path} (oldest first)")
    print(f"{'run':>4}  {'started':<25}  {'commit':<12}  branch  checks")
    for run in runs:
        print(f"{run_line(run)}  {counts(run)}")
    return 0


def history_trend(args: argparse.Namespace) -> int:
    path = history_path(args)
    nodeid = resolve_check(path, args.check)
    points = trend(path, nodeid, args.metric, args.last)
    print(f"modeltests: {nodeid} {args.metric}, last {len(points)} run(s) (oldest first)")
    for point in points:
        interval = ("" if point.low is None or point.high is None else
                    f"  (95% CI {format_number(point.low)} to {format_number(point.high)})")
        print(f"{run_line(point.run)}  {format_number(point.value)}{interval}")
    return 0


def history_diff(args: argparse.Namespace) -> int:
    from modeltests.cli.compare import print_comparison

    path = history_path(args)
    run_a, a = load_document(path, args.a)
    run_b, b = load_document(path, args.b)
    print(f"modeltests: A = run {run_a.describe()}, B = run {run_b.describe()}")
    return print_comparison(a, b, args.allow_weakened)


def add_arguments(command: argparse.ArgumentParser) -> None:
    """``history [--history PATH] {list,trend,diff}``."""
    command.add_argument("--history", metavar="PATH", help="the run history (default: "
                         f"{DEFAULT_HISTORY} under --rootdir)")
    actions = command.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the recorded runs: id, time, commit, outcomes")
    listing.set_defaults(func=history_list)
    changes = actions.add_parser("trend", help="one metric of one check over the last runs, "
                                 "with its 95% intervals")
    changes.add_argument("check", help="a check's node id, or what follows '::' "
                         "(accuracy[dev]) when only one recorded check ends so")
    changes.add_argument("metric", help="the metric's name (accuracy)")
    changes.set_defaults(func=history_trend)
    for parser in (listing, changes):
        parser.add_argument("-n", "--last", type=int, default=20,
                            help="how many of the latest runs (default: 20)")
    diff = actions.add_parser("diff", help="what changed between two recorded runs (the "
                              "modeltests compare output)")
    diff.add_argument("a", metavar="A", help="the earlier run: its id, last or last-passing")
    diff.add_argument("b", metavar="B", help="the later run: its id, last or last-passing")
    diff.add_argument("--allow-weakened", action="store_true",
                      help="exit 0 although B's gate is weaker than A's (as in compare)")
    diff.set_defaults(func=history_diff)
