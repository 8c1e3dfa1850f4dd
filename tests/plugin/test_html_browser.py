"""The HTML report in a real browser: headless Chromium loads it from a local server with every
other host unreachable, and the test reads the DOM after the page's script ran (every check,
the charts, the filter; nothing requested but the page itself, no external URL anywhere) and
checks that a screenshot is not blank. Skips where no Chromium is installed (``.ci/run``
installs Debian's ``chromium`` when apt-get can)."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
# (a second import of torch in one process fails)
import torch  # noqa: F401

from .helpers import CALLABLE_HEAD, make_project, read_report, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BROWSER = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine: "
                                "apt-get install chromium (.ci/run does when it can)")

SUITE = CALLABLE_HEAD + """  - kind: accuracy
    dataset: dev
    min_accuracy: 0.8
    slices:
      - {name: film, column: topic, equals: film, min_accuracy: 0.7}
      - {name: food, column: topic, equals: food, min_accuracy: 0.9}
  - kind: invariance
    dataset: dev
    perturbations: [case, append_url]
    min_pass_rate: 0.5
  - kind: latency
    dataset: dev
    batch_sizes: [1, 4]
    warmup: 2
    min_iterations: 20
    min_seconds: 0
    max_seconds: 2
    max_p50_ms: 10000
"""

USER_TEST = """
def test_negation(modeltests):
    model = modeltests.model("suites/report.yaml")
    assert model.predict(["bad movie"]).labels == ["negative"]
    modeltests.record(negation_examples=1)
"""

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  "--no-first-run", "--disable-extensions", "--disable-background-networking",
                  "--disable-sync", "--disable-component-update",
                  # every host but the local server is unreachable
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture
def served_report(pytester: pytest.Pytester) -> Iterator[tuple[str, list[str], dict]]:
    make_project(pytester, suite=None)
    write_suite(pytester, "suites/report.yaml", SUITE)
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest("suites/", "test_user.py", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed")) == (3, 1), result.stdout.str()
    requests: list[str] = []
    folder = pytester.path / "reports"

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (f"http://127.0.0.1:{server.server_address[1]}/modeltests.html", requests,
               read_report(pytester))
    finally:
        server.shutdown()


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    return subprocess.run([BROWSER, *CHROMIUM_FLAGS, f"--user-data-dir={cwd / 'profile'}", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_report_in_a_browser_shows_every_check_and_fetches_nothing(
        served_report: tuple[str, list[str], dict], tmp_path: Path) -> None:
    url, requests, document = served_report
    done = _chromium("--virtual-time-budget=3000", "--dump-dom", url, cwd=tmp_path)
    dom = done.stdout
    assert "modeltests report" in dom, done.stderr[-2000:]
    assert requests == ["/modeltests.html"]  # nothing else asked of the server
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", dom)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", dom)
    suite_checks = [c for c in document["checks"] if c["kind"] != "python"]
    for check in suite_checks:
        assert f":: {check['name']}" in dom, check["name"]
    assert len(re.findall(r'<details class="check"', dom)) == len(suite_checks) == 3
    assert "test_negation" in dom and "Python tests" in dom
    # the charts, as inline SVG: slices, confusion matrix, perturbations, latency (2)
    titles = re.findall(r'<svg class="chart"[^>]*aria-label="([^"]+)"', dom)
    assert {"Accuracy per slice", "Confusion matrix", "Pass rate per perturbation",
            "p50 latency against batch size"} <= set(titles)
    assert any(t.startswith("Latency of the gated configuration") for t in titles)
    assert "Latency per configuration" in dom and "Per class" in dom and "Datasets" in dom
    # the filter script ran
    assert "3 of 3 checks shown" in dom


def test_a_screenshot_of_the_report_is_not_blank(served_report: tuple[str, list[str], dict],
                                                 tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    url, _, _ = served_report
    shot = tmp_path / "report.png"
    done = _chromium("--window-size=1280,2400", f"--screenshot={shot}", url, cwd=tmp_path)
    assert shot.is_file(), done.stderr[-2000:]
    pixels = image.open(shot).convert("L")
    histogram = pixels.histogram()
    total = sum(histogram)
    mean = sum(i * n for i, n in enumerate(histogram)) / total
    variance = sum(n * (i - mean) ** 2 for i, n in enumerate(histogram)) / total
    assert variance > 200  # a blank or single-colour page has almost none
    # colour from the verdicts and charts, not only grey text
    colours = image.open(shot).convert("RGB").resize((320, 600)).getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50
