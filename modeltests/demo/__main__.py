"""Command line for the demo assets.

``python -m modeltests.demo build``            fine-tune (or find) the default demo model
``python -m modeltests.demo write-eval PATH``  write the evaluation set as CSV
``python -m modeltests.demo build-tiny DIR``   build the tiny BERT into DIR
``python -m modeltests.demo build-bigbird``    build the BigBird experiment's two models (cache)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modeltests.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the default demo model into the cache")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    write_eval = commands.add_parser("write-eval", help="write the evaluation set as CSV")
    write_eval.add_argument("path", type=Path)
    tiny = commands.add_parser("build-tiny", help="build the tiny BERT into a directory")
    tiny.add_argument("directory", type=Path)
    tiny.add_argument("--seed", type=int, default=0)
    commands.add_parser("build-bigbird", help="build builtin:bigbird-tiny and "
                        "builtin:bert-wide-tiny into the cache")
    return parser


def _build(quiet: bool) -> None:
    from modeltests.demo.build import ensure_default_model
    from modeltests.demo.cache import read_marker

    directory = ensure_default_model(progress=not quiet)
    marker = read_marker(directory) or {}
    print(directory)
    print(f"accuracy {marker.get('accuracy')} (built in {marker.get('seconds')} s "
          f"on {marker.get('threads')} threads)")
    for phenomenon, accuracy in marker.get("accuracy_by_phenomenon", {}).items():
        print(f"  {phenomenon:<12} {accuracy}")


def _build_tiny(directory: Path, seed: int) -> None:
    from modeltests.demo.cache import read_marker
    from modeltests.demo.tiny import build_tiny_bert

    built = build_tiny_bert(directory, seed=seed)
    marker = read_marker(built) or {}
    print(built)
    print(f"accuracy {marker.get('accuracy')} (built in {marker.get('seconds')} s)")


def _build_bigbird() -> None:
    from modeltests.demo.bigbird import RECIPES, ensure_wide_model
    from modeltests.demo.cache import read_marker

    for architecture in RECIPES:
        built = ensure_wide_model(architecture)
        marker = read_marker(built) or {}
        print(built)
        print(f"accuracy {marker.get('accuracy')} (built in {marker.get('seconds')} s on "
              f"{marker.get('threads')} thread)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo command line; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = _parser().parse_args(argv)
    if args.command == "build":
        _build(args.quiet)
    elif args.command == "write-eval":
        from modeltests.demo.corpus import write_evaluation_csv

        print(write_evaluation_csv(args.path))
    elif args.command == "build-bigbird":
        _build_bigbird()
    else:
        _build_tiny(args.directory, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
