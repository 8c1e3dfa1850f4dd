"""Walkthrough: twenty recorded runs of a demo suite, some of them with a deliberately worse
model, their trends, ``modeltests history`` and a ``baseline: last-passing`` gate.

Run: ``python benchmarks/history_walkthrough.py [--keep DIR] [--mlflow URI] [--screenshot PNG]``
(a few seconds per run once ``builtin:digits-cnn`` is cached; it trains in seconds otherwise).

It writes a project into a temporary folder (``--keep DIR``: into DIR, kept): the demo digits
CNN (``builtin:digits-cnn``) gated on its 360 held-out images by an ``accuracy`` check (absolute
limits a worse model still meets, and a ``history_gate`` against the last passing run). The
model is a
``weights.pt`` in the project, swapped before each run: the built-in weights (the *same* model),
or those weights with seeded Gaussian noise (``WORSE``: the *worse* model, 5 to 8 points of
accuracy lower). Then it runs ``pytest suites/`` twenty times with one run history, printing
each run's verdict and history gates, and at the end ``modeltests history list``,
``modeltests history trend`` and ``modeltests history diff`` of the last passing run and the
last worse one.

``--mlflow URI`` logs every run into MLflow as well (``--modeltests-mlflow URI``) and at the end
reads each back through MlflowClient, comparing its metrics, interval ends, params, verdict tags
and report artifacts with the run's document kept in the history (``--readback-only`` with
``--keep DIR`` does only that, for a project already walked through);
``--screenshot PNG`` opens the last run's HTML report in headless Chromium and saves a picture.
It exits non-zero when a run's history gate did not come out as the schedule expects: undecided
on the first run, held on the same model, broken on the worse one.

Measured (2026-12-07, 2 cores, load average 5-8 from other jobs, full ``mlflow==3.18.0`` in a
venv, ``--mlflow`` to a local ``mlflow server`` with SQLite): the same model 0.9806 accuracy
(95% CI 0.960 to 0.991), the worse ones 0.906 to 0.928; the gate held (drop 0.000, paired
interval -0.012 to 0.012) on the 14 runs of the same model after the first, broke on the 5 worse
ones (drops 0.053 to 0.075); runs 10 and 11 (after the worse run 9) were both gated against
run 8; 23-92 s per run (the last one's pytest ``duration_s``: 10.2 s); MLflow held all 20
runs: 160 metrics, 320 interval ends, 280 params, 20 verdict tags, 60 artifacts read back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]

SUITE = """name: walkthrough
description: The demo digits CNN, gated against its own last passing run.
model:
  adapter: torch
  task: image-classification
  factory: modeltests.demo.digits:digits_cnn
  weights: ../weights.pt
  labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
  batch_size: 64
datasets:
  test:
    path: {data}
    image:
      channels: 1
defaults:
  seed: 0
checks:
  - kind: accuracy
    dataset: test
    min_accuracy: 0.85
    min_f1_macro: 0.85
    history_gate:
      baseline: last-passing
      max_drop:
        accuracy: 0.02
"""

WORSE = {5: (1, 0.8), 9: (3, 0.8), 10: (5, 0.8), 14: (6, 0.8), 18: (1, 0.8)}
"""Run number -> (noise seed, noise scale in units of each tensor's standard deviation) of the
worse model's runs; every other run uses the built-in weights unchanged. Runs 9 and 10 are two
worse runs in a row: the second must still be gated against run 8, not against run 9."""
RUNS = 20


def write_weights(target: Path, worse: tuple[int, float] | None) -> None:
    import torch

    from modeltests.demo.digits import ensure_digits_cnn

    state = torch.load(ensure_digits_cnn() / "weights.pt", weights_only=True)
    if worse is not None:
        seed, scale = worse
        noise = torch.Generator().manual_seed(seed)
        state = {name: tensor + scale * tensor.std() * torch.randn(tensor.shape, generator=noise)
                 for name, tensor in state.items()}
    torch.save(state, target)


def run_pytest(project: Path, mlflow: str | None) -> tuple[int, float, dict[str, Any]]:
    command = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-q",
               "--junitxml=reports/junit.xml"]
    if mlflow:
        command += ["--modeltests-mlflow", mlflow]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"pytest failed to run ({done.returncode}):\n{done.stdout[-3000:]}"
                 f"\n{done.stderr[-3000:]}")
    (project / "reports" / "pytest.out").write_text(done.stdout, encoding="utf-8")
    document = json.loads((project / "reports/modeltests.json").read_text(encoding="utf-8"))
    return done.returncode, elapsed, document


def gates(document: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(check, history gate metric, its state or held) of every history gate of the run."""
    found = []
    for check in document["checks"]:
        for threshold in check.get("thresholds") or []:
            if str(threshold.get("key", "")).startswith("history_gate."):
                state = threshold.get("state") or ("held" if threshold.get("held") else "failed")
                found.append((check["name"], threshold["metric"], state, threshold.get("value")))
    return found


def expected_state(run: int) -> str:
    return "undecided" if run == 1 else "broken" if run in WORSE else "held"


def cli(project: Path, *args: str) -> None:
    command = [sys.executable, "-m", "modeltests", "history", *args]
    print(f"\n$ modeltests history {' '.join(args)}")
    done = subprocess.run(command, cwd=project, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    print((done.stdout + done.stderr).rstrip())


def screenshot(html: Path, png: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on PATH: no screenshot")
        return
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--screenshot={png}", "--window-size=1280,2400",
                    html.as_uri()], capture_output=True, timeout=120, check=False)
    print(f"screenshot of {html}: {png}")


def mlflow_readback(project: Path, uri: str) -> bool:
    """Read every run back from MLflow through MlflowClient and compare it with the run's
    document in the history: each metric and interval end, each verdict tag, the three
    report artifacts; print the counts; whether all were there."""
    import sqlite3
    from contextlib import closing

    from mlflow.tracking import MlflowClient

    from modeltests.history.tracker import run_metrics, run_params, run_tags

    with closing(sqlite3.connect(project / "reports/history.sqlite")) as connection:
        documents = [json.loads(row[0]) for row in
                     connection.execute("SELECT document FROM runs ORDER BY id")]
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("modeltests")
    if experiment is None:
        print(f"\nMLflow at {uri} has no experiment 'modeltests'")
        return False
    logged = {run.info.run_name: run for run in
              client.search_runs([experiment.experiment_id], max_results=1000)}
    missing: list[str] = []
    counts = {"runs": 0, "metrics": 0, "interval ends": 0, "params": 0, "verdict tags": 0,
              "artifacts": 0}
    for number, document in enumerate(documents, start=1):
        run = logged.get(document["run"]["started"])
        if run is None:
            missing.append(f"run {number}: not in MLflow")
            continue
        counts["runs"] += 1
        for name, value in run_metrics(document).items():
            if run.data.metrics.get(name) != value:
                missing.append(f"run {number}: metric {name} {run.data.metrics.get(name)} "
                               f"!= {value}")
            elif name.endswith((".ci_low", ".ci_high")):
                counts["interval ends"] += 1
            else:
                counts["metrics"] += 1
        for name, text in run_params(document).items():
            if run.data.params.get(name) == text[:6000]:
                counts["params"] += 1
            else:
                missing.append(f"run {number}: param {name}")
        for name, verdict in run_tags(document, {}).items():
            if not name.startswith("verdict/"):
                continue
            if run.data.tags.get(name) == verdict:
                counts["verdict tags"] += 1
            else:
                missing.append(f"run {number}: tag {name}")
        artifacts = sorted(a.path for a in client.list_artifacts(run.info.run_id, "reports"))
        if artifacts == ["reports/junit.xml", "reports/modeltests.html",
                         "reports/modeltests.json"]:
            counts["artifacts"] += len(artifacts)
        else:
            missing.append(f"run {number}: artifacts {artifacts}")
    print(f"\nMLflow at {uri}, experiment 'modeltests' ({experiment.experiment_id}): "
          f"{len(logged)} runs logged; read back for the {len(documents)} recorded runs: "
          + ", ".join(f"{n} {what}" for what, n in counts.items()))
    for line in missing:
        print(f"  MISSING {line}")
    return not missing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the project into this folder and keep it")
    parser.add_argument("--mlflow", default=None, help="also log each run into MLflow at URI")
    parser.add_argument("--screenshot", type=Path, default=None,
                        help="a PNG of the last run's HTML report (headless Chromium)")
    parser.add_argument("--readback-only", action="store_true",
                        help="with --keep and --mlflow: only read the kept project's runs back")
    args = parser.parse_args()
    if args.readback_only:
        sys.exit(0 if mlflow_readback(args.keep, args.mlflow) else 1)
    folder = None if args.keep else tempfile.TemporaryDirectory()
    project = args.keep or Path(folder.name)  # type: ignore[union-attr]
    project.mkdir(parents=True, exist_ok=True)
    try:
        walk(project, args.mlflow, args.screenshot)
    finally:
        if folder is not None:
            folder.cleanup()


def walk(project: Path, mlflow: str | None, png: Path | None) -> None:
    (project / "suites").mkdir(exist_ok=True)
    (project / "suites/walkthrough.yaml").write_text(
        SUITE.format(data=ROOT / "suites/data/digits_test.npz"), encoding="utf-8")
    print(f"project {project}, os.cpu_count()={os.cpu_count()}, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'run':>3}  {'model':<13}  pytest  {'seconds':>7}  accuracy  f1_macro  history gate")
    unexpected = []
    for run in range(1, RUNS + 1):
        worse = WORSE.get(run)
        write_weights(project / "weights.pt", worse)
        code, elapsed, document = run_pytest(project, mlflow)
        metrics = {c["name"]: c.get("metrics") or {} for c in document["checks"]}
        found = gates(document)
        model = "same" if worse is None else f"worse {worse[0]}/{worse[1]}"
        shown = "; ".join(f"{metric} {state}" + ("" if value is None else f" ({value:.3f})")
                          for _, metric, state, value in found)
        print(f"{run:>3}  {model:<13}  {'pass' if code == 0 else 'FAIL':<6}  {elapsed:>7.1f}  "
              f"{metrics['accuracy[test]']['accuracy']:.4f}    "
              f"{metrics['accuracy[test]']['f1_macro']:.4f}    {shown}")
        accuracy_gate = next(state for _, metric, state, _ in found if metric == "accuracy_drop")
        if accuracy_gate != expected_state(run):
            unexpected.append(f"run {run}: accuracy_drop {accuracy_gate}, expected "
                              f"{expected_state(run)}")
        if run in WORSE:
            shutil.copy(project / "reports/modeltests.html",
                        project / f"reports/worse-run-{run}.html")
    cli(project, "list")
    cli(project, "trend", "accuracy[test]", "accuracy")
    cli(project, "trend", "accuracy[test]", "f1_macro", "--last", "5")
    cli(project, "diff", "last-passing", str(max(WORSE)))
    if png is not None:
        screenshot(project / "reports/modeltests.html", png)
    if mlflow and not mlflow_readback(project, mlflow):
        unexpected.append("MLflow lacks some of the runs' metrics, params, tags or artifacts")
    if unexpected:
        sys.exit("unexpected history gates: " + "; ".join(unexpected))
    print("\nevery history gate as expected: undecided on run 1, held on the same model, "
          "broken on the worse one")


if __name__ == "__main__":
    main()
