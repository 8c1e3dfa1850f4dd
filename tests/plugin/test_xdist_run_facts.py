"""Under pytest-xdist the workers load the models; the controller's JSON still says which models
ran, on which device, with which seeds and torch threads: the same ``run`` as a serial run."""

from __future__ import annotations

import os
from typing import Any

import pytest

# imported before pytester's in-process runs, which drop modules first imported inside them
import torch  # noqa: F401

from .helpers import PASSING_SUITE, make_project, read_report, write_suite

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEQUENTIAL_MODEL = '''
import torch

WORDS = ["good", "great", "bad", "awful", "terrible", "boring", "not"]


def build():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(len(WORDS), 2))


def collate(texts):
    return torch.tensor([[float(w in t.split()) for w in WORDS] for t in texts])
'''

TORCH_SUITE = """name: torch
model:
  adapter: torch
  factory: seqmodel:build
  collate: seqmodel:collate
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
defaults:
  seed: 7
checks:
  - kind: accuracy
    dataset: dev
  - kind: availability
    generated_examples: 0
    max_batch_diff: 1.0
"""


def _run_facts(document: dict[str, Any]) -> dict[str, Any]:
    run = document["run"]
    models = sorted(({k: v for k, v in m.items() if k not in ("load_seconds", "build_seconds")}
                     for m in run["models"]), key=lambda m: m["key"])
    return {"models": models, "device": run["device"], "seeds": run["seeds"],
            "torch_threads": run["environment"].get("torch_threads")}


def test_xdist_gives_the_run_facts_of_a_serial_run(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makepyfile(seqmodel=SEQUENTIAL_MODEL)
    write_suite(pytester, "suites/torch.yaml", TORCH_SUITE)
    pytester.runpytest("suites/", "-p", "no:cacheprovider").assert_outcomes(passed=4)
    serial = _run_facts(read_report(pytester))
    parallel = pytester.runpytest("suites/", "-n", "2", "-p", "no:cacheprovider",
                                  "-p", "no:benchmark")
    parallel.assert_outcomes(passed=4)
    got = _run_facts(read_report(pytester))
    assert got == serial
    assert [m["adapter"] for m in got["models"]] == ["callable", "torch"]  # once each
    assert got["device"] == "cpu"
    assert got["seeds"] == {"suites/sentiment.yaml": 0, "suites/torch.yaml": 7}
    assert isinstance(got["torch_threads"], int)
