"""The package type-checks under ``mypy --strict`` (configured in ``pyproject.toml``).

Run here so that ``python -m pytest tests`` (the README's test command, and ``.ci/run``) holds
the types too; ``python -m mypy`` alone gives the same answer faster while editing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_passes_on_the_package() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout
