"""The launcher of the served demo generator (``modeltests.cli.serve_lm``): what it runs, and
what it says when transformers' serving extra is missing (the served suite itself runs in
tests/real/test_demo_suites.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modeltests.cli import serve_lm


def test_it_runs_transformers_serve_on_loopback_with_the_model_loaded_at_start() -> None:
    argv = serve_lm.command(8123, Path("/cache/gguf/smollm2"))
    assert argv == [str(Path(sys.executable).with_name("transformers")), "serve", "--host",
                    "127.0.0.1", "--port", "8123", "--force_model", "/cache/gguf/smollm2",
                    "--log_level", "warning"]


def test_without_the_serving_extra_it_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_lm, "missing_packages", lambda: ["openai"])
    with pytest.raises(SystemExit) as stopped:
        serve_lm.main(["--port", "1"])
    assert stopped.value.code == ("transformers serve needs openai (transformers' serving "
                                  "extra): pip install 'transformers[serving]<5'")
