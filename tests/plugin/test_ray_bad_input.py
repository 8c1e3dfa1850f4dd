"""``executor: ray`` given bad input: each mistake is one located ERROR naming what to do, found
fast, without starting a cluster (the real cluster runs in tests/real/test_ray_real.py)."""

from __future__ import annotations

import socket
import sys

import pytest

from .helpers import CALLABLE_MODEL, lit, run_suite_text

HEAD = CALLABLE_MODEL + "    executor: ray\n"


def _suite(ray_options: str = "") -> str:
    return HEAD + ray_options + "checks:\n  - kind: accuracy\n    dataset: dev\n" \
        "    min_accuracy: 0.5\n"


def _free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ray_not_installed_names_the_extra(pytester: pytest.Pytester,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when it is missing
    result = run_suite_text(pytester, "suites/big.yaml", _suite())
    result.stdout.fnmatch_lines([
        lit("suites/big.yaml:8: executor: ray needs Ray, which is not installed: "
            "pip install 'modeltests[ray]'"),
    ])
    result.assert_outcomes(errors=1)  # setup: not a verdict


def test_unreachable_address_is_named_within_the_timeout(pytester: pytest.Pytester) -> None:
    pytest.importorskip("ray")
    import ray

    assert not ray.is_initialized()  # else the executor would reuse that cluster
    address = f"127.0.0.1:{_free_port()}"
    result = run_suite_text(pytester, "suites/big.yaml", _suite(
        f"    ray:\n      address: {address}\n      connect_timeout_s: 2\n"))
    result.stdout.fnmatch_lines([
        lit(f"suites/big.yaml:10: cannot reach the Ray cluster at '{address}' within 2 s: ")
        + "*Connection refused*",
    ])
    result.assert_outcomes(errors=1)  # setup: not a verdict


def test_malformed_address_says_what_is_allowed(pytester: pytest.Pytester) -> None:
    pytest.importorskip("ray")
    result = run_suite_text(pytester, "suites/big.yaml", _suite(
        "    ray:\n      address: my-cluster\n"))
    result.stdout.fnmatch_lines([
        lit("suites/big.yaml:10: ray.address 'my-cluster' is not 'local', 'auto', 'HOST:PORT' "
            "or 'ray://HOST:PORT'"),
    ])
    result.assert_outcomes(errors=1)  # setup: not a verdict


def test_ray_options_without_the_ray_executor(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", CALLABLE_MODEL
                            + "    ray:\n      workers: 2\n"
                            + "checks:\n  - kind: accuracy\n    dataset: dev\n")
    result.stdout.fnmatch_lines(["*'ray' options need 'executor: ray'*"])


STREAMED = HEAD + "    stream: true\n"  # dataset 'dev' of the fake model, stream on line 9


def test_stream_without_the_ray_executor(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", CALLABLE_MODEL
                            + "    stream: true\n"
                            + "checks:\n  - kind: accuracy\n    dataset: dev\n")
    result.stdout.fnmatch_lines(["*'stream: true' needs 'executor: ray' (Ray Data reads the "
                                 "file)*"])
    result.assert_outcomes(errors=1)


def test_a_streamed_dataset_of_images_is_refused_at_its_line(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", CALLABLE_MODEL.replace(
        "data.csv", "digits.npz\n    image: {channels: 1}")
        + "    executor: ray\n    stream: true\n"
        + "checks:\n  - kind: accuracy\n    dataset: dev\n")
    result.stdout.fnmatch_lines([lit(
        "suites/big.yaml:6: datasets.dev: 'stream: true' reads a text column in blocks on the "
        "Ray workers; a dataset of images is read here and its images sent to the workers: "
        "leave stream unset (executor: ray still applies)")])
    result.assert_outcomes(errors=1)


def test_a_check_that_reads_rows_refuses_a_streamed_dataset_at_setup(
        pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", STREAMED
                            + "checks:\n  - kind: calibration\n    dataset: dev\n")
    result.stdout.fnmatch_lines([lit(
        "suites/big.yaml:12: checks[0] (calibration) cannot run on dataset 'dev': it reads the "
        "dataset's rows, and the dataset has 'stream: true' (suites/big.yaml:9), which keeps "
        "no row in this process. Streamed datasets serve accuracy without slices; for this "
        "check, drop 'stream: true' (executor: ray still predicts on the cluster) or declare "
        "the file again as another dataset")])
    result.assert_outcomes(errors=1)  # setup: no cluster started, no verdict


def test_accuracy_slices_refuse_a_streamed_dataset_at_setup(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", STREAMED
                            + "checks:\n  - kind: accuracy\n    dataset: dev\n"
                            + "    slices:\n      - name: short\n        max_words: 5\n")
    result.stdout.fnmatch_lines([
        lit("suites/big.yaml:12: checks[0] (accuracy) cannot run on dataset 'dev': its slices "
            "select rows, and the dataset has 'stream: true' (suites/big.yaml:9)") + "*"])
    result.assert_outcomes(errors=1)


ATTACK_ON_RAY = CALLABLE_MODEL + "checks:\n  - kind: robustness\n    dataset: dev\n" \
    "    num_examples: 2\n    executor: ray\n"


def test_attacks_on_ray_without_ray_name_the_extra_at_setup(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    result = run_suite_text(pytester, "suites/big.yaml", ATTACK_ON_RAY)
    result.stdout.fnmatch_lines([
        lit("suites/big.yaml:12: executor: ray needs Ray, which is not installed: "
            "pip install 'modeltests[ray]'"),
    ])
    result.assert_outcomes(errors=1)  # setup: not a verdict


def test_attacks_on_an_unreachable_cluster_name_it_at_setup(pytester: pytest.Pytester) -> None:
    pytest.importorskip("ray")
    address = f"127.0.0.1:{_free_port()}"
    result = run_suite_text(pytester, "suites/big.yaml", ATTACK_ON_RAY
                            + f"    ray:\n      address: {address}\n      connect_timeout_s: 2\n")
    result.stdout.fnmatch_lines([
        lit(f"suites/big.yaml:14: cannot reach the Ray cluster at '{address}' within 2 s: ")
        + "*Connection refused*",
    ])
    result.assert_outcomes(errors=1)


def test_ray_options_on_a_local_attack(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", ATTACK_ON_RAY.replace(
        "    executor: ray\n", "    ray:\n      workers: 2\n"))
    result.stdout.fnmatch_lines(["suites/big.yaml:9: checks[[]0]*'ray' options need "
                                 "'executor: ray'*"])
    result.assert_outcomes(errors=1)


def test_a_streamed_file_that_is_not_there_is_named_at_setup(pytester: pytest.Pytester) -> None:
    result = run_suite_text(pytester, "suites/big.yaml", STREAMED.replace(
        "path: data.csv", "path: huge.parquet") + "checks:\n  - kind: accuracy\n"
        "    dataset: dev\n")
    result.stdout.fnmatch_lines([
        "suites/big.yaml:7: datasets.dev.path: dataset file not found: */suites/huge.parquet"])
    result.assert_outcomes(errors=1)  # before any cluster starts
