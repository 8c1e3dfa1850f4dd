"""The latency check on a real transformers model (the tiny BERT built by ``tiny_model_dir``).

No assertion is about speed (the machine is shared): these tests check what is timed (exact
token lengths, both modes, every configuration), what is recorded with it (threads, device,
parameter bytes) and that the thread setting is restored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

# imported before pytester's in-process run, which drops modules first imported inside it
import torch
import transformers  # noqa: F401

from modeltests.adapters.base import LoadContext
from modeltests.adapters.transformers import TransformersParams, load_transformers
from modeltests.adapters.torch_utils import pick_device, resolve_device
from modeltests.checks.latency.inputs import exact_length_text
from modeltests.errors import ModelLoadError
from modeltests.measure.timing import CpuTimer, TimingPlan, summarize, time_callable, torch_threads

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model_dir: Path) -> Any:
    params = TransformersParams(path=str(tiny_model_dir), max_length=128)
    return load_transformers(params, LoadContext(base_dir=tiny_model_dir, rootdir=tiny_model_dir))


@pytest.mark.parametrize("length", [3, 4, 16, 64, 128])
def test_synthetic_texts_encode_to_exactly_the_requested_length(tiny_adapter: Any,
                                                                length: int) -> None:
    text = exact_length_text(tiny_adapter.tokenizer, length)
    assert len(tiny_adapter.tokenizer(text)["input_ids"]) == length
    batch = tiny_adapter.encode([text] * 3)
    assert tuple(batch["input_ids"].shape) == (3, length)
    assert int(batch["attention_mask"].sum()) == 3 * length  # no padding, no truncation


def test_lengths_at_or_below_the_special_tokens_are_refused(tiny_adapter: Any) -> None:
    with pytest.raises(ValueError, match=r"more than the 2 special tokens .* \(got 2\)"):
        exact_length_text(tiny_adapter.tokenizer, 2)


def test_the_loop_times_a_real_forward_pass(tiny_adapter: Any) -> None:
    batch = tiny_adapter.encode([exact_length_text(tiny_adapter.tokenizer, 32)] * 4)
    plan = TimingPlan(warmup=3, min_iterations=12, min_seconds=0.0, max_seconds=30)
    with torch_threads(1) as threads:
        assert threads == torch.get_num_threads() == 1
        run = time_callable(lambda: tiny_adapter.forward(batch), CpuTimer(), plan)
    assert run.warmup.iterations == 3
    assert len(run.samples_ms) == 12 and min(run.samples_ms) > 0
    summary = summarize(run.samples_ms, batch_size=4)
    assert summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert summary["throughput"] == pytest.approx(4000 / summary["mean_ms"])


@pytest.fixture
def two_threads() -> Iterator[None]:
    """torch runs two intra-op threads during the test (so pinning one is visible), then its
    own count again."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def test_thread_setting_is_pinned_in_the_block_and_restored_after(two_threads: None) -> None:
    with torch_threads(1) as threads:
        assert threads == torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with torch_threads(None) as threads:  # no setting: the count in effect is reported
        assert threads == 2
    assert torch.get_num_threads() == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_gives_the_reason() -> None:
    assert resolve_device("cuda") == (
        "cuda", "CUDA is not available on this machine (torch.cuda.is_available() is False)")
    assert resolve_device("auto") == ("cpu", None)
    assert resolve_device("cpu") == ("cpu", None)
    with pytest.raises(ModelLoadError, match=r"^suite.yaml:3: model.device: 'cuda' is not "
                       r"available on this machine \(torch.cuda.is_available\(\) is False\); "
                       r"allowed here: cpu, auto$"):
        pick_device("cuda", "suite.yaml:3")


SUITE = """model:
  adapter: transformers
  path: {path}
  max_length: 128
checks:
  - kind: latency
    name: sweep
    threads: 1
    batch_sizes: [1, 2]
    sequence_lengths: [8, 32]
    mode: both
    warmup: 2
    min_iterations: 12
    min_seconds: 0
    max_seconds: 5
    max_p50_ms: 100000
    max_scaling_exponent: 100
  - kind: latency
    name: too long
    sequence_lengths: [512]
"""


def test_check_on_a_real_model_records_every_configuration(
        pytester: pytest.Pytester, tiny_model_dir: Path, tiny_adapter: Any,
        two_threads: None) -> None:
    pytester.makefile(".yaml", latency=SUITE.format(path=tiny_model_dir))
    result = pytester.runpytest("latency.yaml", "-p", "no:cacheprovider",
                                "--modeltests-json", "out.json")
    assert torch.get_num_threads() == 2  # the check pinned 1 thread (below) and restored 2
    result.stdout.fnmatch_lines([
        "latency.yaml:20: checks[[]1].sequence_lengths: 512 tokens is more than the model takes "
        "(max_length 128, tokenizer model_max_length 128, max_position_embeddings 128); "
        "allowed: 1 to 128",
    ])
    result.assert_outcomes(passed=1, errors=1)  # the length beyond the model: setup ERROR
    entry = json.loads((pytester.path / "out.json").read_text())["checks"][0]
    details = entry["details"]
    configs = {(c["config"], c["mode"]) for c in details["configs"]}
    assert configs == {(f"b{b}_l{n}", m) for b in (1, 2) for n in (8, 32)
                       for m in ("end_to_end", "model")}
    assert all(c["threads"] == 1 and c["device"] == "cpu" and c["n"] >= 12
               for c in details["configs"])
    assert details["headline"]["config"] == "b2_l32"
    assert details["headline"]["fingerprint"]["threads"] == 1
    assert details["scaling"]["lengths"] == [8, 32]
    expected_bytes = sum(p.numel() * p.element_size()
                         for p in tiny_adapter.torch_module().parameters())
    assert details["memory"]["parameter_bytes"] == expected_bytes
    assert entry["metrics"]["parameter_mb"] == pytest.approx(expected_bytes / 2**20)
    assert entry["metrics"]["peak_rss_mb"] > 0 and entry["metrics"]["cold_start_ms"] > 0
