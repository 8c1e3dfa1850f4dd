"""Serve ``builtin:smollm2-135m`` with ``transformers serve`` (the OpenAI-compatible server of
transformers' ``serving`` extra), for ``suites/lm_smollm2_served.yaml``.

``python -m modeltests.cli.serve_lm --port PORT`` converts the GGUF file once (as the
transformers adapter does, into the same cache entry), then replaces itself with
``transformers serve --host 127.0.0.1 --port PORT --force_model DIR``: the model loads at
start-up (not on the first request), answers whatever ``model`` a request names, and
``/health`` says when it is up. Replacing the process keeps the server the process the
session started, so stopping it needs no second signal.

Why a launcher: the converted model's directory depends on the cache and on the installed
wheel, and ``transformers serve`` takes only a directory or a hub id. Why not ``builtin:gpt-tiny``
(the other demo generator): ``transformers serve`` 4.57 speaks only ``/v1/chat/completions`` and
needs a chat template, which gpt-tiny (a word-level toy) does not have.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

NEEDS = ("fastapi", "uvicorn", "openai")
INSTALL = "pip install 'transformers[serving]<5'"


def model_dir() -> Path:
    """SmolLM2's converted directory in the modeltests cache (converted now if needed)."""
    from modeltests.adapters.base import LoadContext
    from modeltests.adapters.transformers import converted_gguf
    from modeltests.demo.smollm2 import smollm2_gguf_file

    here = Path.cwd()
    return converted_gguf(smollm2_gguf_file(), LoadContext(base_dir=here, rootdir=here,
                                                            location="builtin:smollm2-135m"))


def missing_packages() -> list[str]:
    """The packages of transformers' ``serving`` extra that are not installed."""
    import importlib.util

    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def command(port: int, directory: Path) -> list[str]:
    """``transformers serve`` on 127.0.0.1:``port``, the model loaded at start-up."""
    launcher = Path(sys.executable).with_name("transformers")
    return [str(launcher), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--force_model", str(directory), "--log_level", "warning"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m modeltests.cli.serve_lm",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    missing = missing_packages()
    if missing:
        sys.exit(f"transformers serve needs {', '.join(missing)} (transformers' serving "
                 f"extra): {INSTALL}")
    argv_out = command(args.port, model_dir())
    if not Path(argv_out[0]).is_file():
        sys.exit(f"no `transformers` command beside {sys.executable}: {INSTALL}")
    os.execv(argv_out[0], argv_out)


if __name__ == "__main__":
    main()
