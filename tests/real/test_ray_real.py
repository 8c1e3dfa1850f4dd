"""``executor: ray`` on a real local Ray cluster (2 CPUs, started once for the module): the same
predictions and metrics as the local path, a killed worker retried, a crashing or unreadable
model an ERROR naming it, never a partial result."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ray = pytest.importorskip("ray")

pytestmark = pytest.mark.real

from modeltests.api import Session  # noqa: E402
from modeltests.errors import ModelPredictError  # noqa: E402

RAY = """    executor: ray
    ray:
      workers: 2
      batch_rows: 128
"""

# Kills its own process on the first call it ever gets (across processes: a marker file), then
# answers like the plugin tests' fake: "good"/"great" is positive.
KILLER = '''
import os
from pathlib import Path

MARK = Path(__file__).with_name("killed.txt")


def predict(texts):
    if not MARK.exists():
        MARK.write_text(str(os.getpid()))
        os._exit(1)
    return [[0.2, 0.8] if ("good" in t or "great" in t) else [0.9, 0.1] for t in texts]


def always_dies(texts):
    os._exit(1)
'''


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _suite(folder: Path, name: str, model: str, executor: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"""model:
{model}datasets:
  eval:
    path: eval.csv
{executor}checks:
  - kind: accuracy
    dataset: eval
    min_accuracy: 0.0
""")
    return path


def _transformers(model_dir: Path) -> str:
    return f"  adapter: transformers\n  path: {model_dir}\n  batch_size: 16\n"


def test_ray_predictions_and_metrics_equal_the_local_run(tmp_path: Path, tiny_model_dir: Path,
                                                         eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    local = _suite(tmp_path, "local", _transformers(tiny_model_dir), "")
    on_ray = _suite(tmp_path, "on_ray", _transformers(tiny_model_dir), RAY)
    with Session(rootdir=tmp_path, cache=False) as session:
        local_run, ray_run = session.run(local), session.run(on_ray)
        runtime = session.runtime
        mine = runtime.predictor.predictions(runtime.suite(local), "eval")
        theirs = runtime.predictor.predictions(runtime.suite(on_ray), "eval")
        facts = runtime.predictor.executor_facts
    assert local_run.ok and ray_run.ok
    assert theirs.labels == mine.labels and theirs.label_names == mine.label_names
    assert mine.probabilities is not None and theirs.probabilities is not None
    np.testing.assert_allclose(theirs.probabilities, mine.probabilities, rtol=0, atol=1e-5)
    assert ray_run.checks[0].metrics == local_run.checks[0].metrics
    [fact] = facts
    assert (fact["rows"], fact["workers_requested"], fact["blocks"]) == (600, 2, 5)
    assert 1 <= fact["workers_answered"] <= 2
    assert set(fact["seconds"]) == {"connect", "dataset", "predict", "assemble"}


def test_a_killed_worker_is_restarted_and_its_batch_run_again(tmp_path: Path,
                                                             eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    (tmp_path / "killer.py").write_text(KILLER)
    model = "  adapter: callable\n  target: killer:predict\n  labels: [negative, positive]\n"
    on_ray = _suite(tmp_path, "on_ray", model, RAY)
    local = _suite(tmp_path, "local", model, "")
    with Session(rootdir=tmp_path, cache=False) as session:
        run = session.run(on_ray)
        got = session.runtime.predictor.predictions(session.runtime.suite(on_ray), "eval")
        local_run = session.run(local)  # after the kill: this process is never killed
        mine = session.runtime.predictor.predictions(session.runtime.suite(local), "eval")
    killed = int((tmp_path / "killed.txt").read_text())
    assert killed != os.getpid()  # a worker died, not this process
    texts = list(__import__("pandas").read_csv(eval_csv).text)
    expected = ["positive" if ("good" in t or "great" in t) else "negative" for t in texts]
    assert run.ok and got.labels == expected == mine.labels  # every row, none lost or doubled
    assert got.probabilities is not None and mine.probabilities is not None
    np.testing.assert_allclose(got.probabilities, mine.probabilities, rtol=0, atol=1e-5)
    assert run.checks[0].metrics == local_run.checks[0].metrics


def test_a_worker_that_always_dies_is_an_error_not_a_partial_result(tmp_path: Path,
                                                                    eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    (tmp_path / "killer.py").write_text(KILLER)
    model = "  adapter: callable\n  target: killer:always_dies\n  labels: [negative, positive]\n"
    on_ray = _suite(tmp_path, "on_ray", model, RAY)
    with Session(rootdir=tmp_path, cache=False) as session:
        [check] = session.run(on_ray).checks
    assert check.outcome == "error"
    assert check.message == (
        "on_ray.yaml:9: prediction on Ray (joined before modeltests) failed: ActorDiedError: The "
        "actor died unexpectedly before finishing this task. (the worker process died; Ray "
        "restarted it and ran its batch again 2 times)")


def test_a_model_path_the_workers_cannot_read_is_an_error_naming_it(
        tmp_path: Path, tiny_model_dir: Path, eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    copy = shutil.copytree(tiny_model_dir, tmp_path / "model")
    on_ray = _suite(tmp_path, "on_ray", _transformers(copy), RAY)
    with Session(rootdir=tmp_path, cache=False) as session:
        suite = session.runtime.suite(on_ray)
        session.runtime.models.model(suite)  # this process read it; then it goes away for the workers
        shutil.rmtree(copy)
        with pytest.raises(ModelPredictError) as failure:
            session.runtime.predictor.predictions(suite, "eval")
    message = str(failure.value)
    assert message.startswith("on_ray.yaml:9: model failed to load on Ray worker ")
    assert message.endswith(" rows failed)")
    assert str(copy) in message


def test_streamed_confusion_matrix_equals_the_local_one(tmp_path: Path, tiny_model_dir: Path,
                                                        eval_csv: Path) -> None:
    """From Parquet, with a label map and unlabelled rows (streaming a CSV file: the streamed
    accuracy check below)."""
    import pandas as pd
    from sklearn.metrics import accuracy_score, confusion_matrix

    from modeltests.cluster.predictions import ModelRecipe
    from modeltests.cluster.streaming import streamed_confusion
    from modeltests.data.spec import RayOptions

    frame = pd.read_csv(eval_csv)
    frame["label"] = frame["label"].map({"negative": 0, "positive": 1})  # label_map applies
    frame.loc[[3, 50], "label"] = None  # unlabelled rows are counted apart, as `drop` does
    data = tmp_path / "eval.parquet"
    frame.to_parquet(data)
    local = _suite(tmp_path, "local", _transformers(tiny_model_dir), "")
    text = local.read_text().replace("path: eval.csv", "path: eval.parquet\n    label_map: "
                                     "{0: negative, 1: positive}\n    unlabelled: drop")
    local.write_text(text)
    with Session(rootdir=tmp_path, cache=False) as session:
        runtime = session.runtime
        suite = runtime.suite(local)
        predictions = runtime.predictor.predictions(suite, "eval")
        expected = runtime.datasets.dataset(suite, "eval").labels
        params, _ = runtime.models.model_params(suite)
        kind = runtime.registry.get_adapter("transformers")
        assert kind is not None
        labels = tuple(runtime.models.model(suite).labels)
        recipe = ModelRecipe(kind, params, tmp_path, tmp_path, "local.yaml:2", ("model",), {},
                             labels)
        streamed = streamed_confusion(recipe, data, suite.datasets["eval"],
                                      RayOptions(workers=2, batch_rows=128), "local.yaml:5")
    assert streamed.matrix() == confusion_matrix(expected, predictions.labels,
                                                 labels=list(labels)).tolist()
    assert streamed.accuracy() == accuracy_score(expected, predictions.labels)
    assert (streamed.rows, streamed.unlabelled) == (598, 2)
    assert streamed.blocks >= 1 and 1 <= len(streamed.workers) <= 2


def test_the_json_report_lists_what_ray_did(pytester: pytest.Pytester, tiny_model_dir: Path,
                                            eval_csv: Path) -> None:
    import json

    shutil.copy(eval_csv, pytester.path / "eval.csv")
    suite = _suite(pytester.path, "on_ray", _transformers(tiny_model_dir), RAY)
    result = pytester.runpytest(str(suite), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    run = json.loads((pytester.path / "reports" / "modeltests.json").read_text())["run"]
    [fact] = run["executors"]
    assert {k: fact[k] for k in ("suite", "dataset", "executor", "rows", "blocks",
                                 "workers_requested", "cluster_cpus")} == {
        "suite": "on_ray.yaml", "dataset": "eval", "executor": "ray", "rows": 600, "blocks": 5,
        "workers_requested": 2, "cluster_cpus": 2.0}
    assert fact["seconds"]["predict"] > 0 and 1 <= fact["workers_answered"] <= 2
    html = (pytester.path / "reports" / "modeltests.html").read_text()
    table = html[html.index('<table class="executors">'):]
    table = table[:table.index("</table>")]
    assert "<td>on_ray.yaml</td><td>eval</td><td>predict</td><td>ray (joined before " \
        "modeltests)</td>" in table  # the cluster this module's fixture started
    assert '<td class="num">600</td><td class="num">5</td><td class="num">2</td>' in table


def test_a_ray_run_reads_what_a_local_run_cached(tmp_path: Path, tiny_model_dir: Path,
                                                 eval_csv: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELTESTS_CACHE", str(tmp_path / "cache"))
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    local = _suite(tmp_path, "local", _transformers(tiny_model_dir), "")
    on_ray = _suite(tmp_path, "on_ray", _transformers(tiny_model_dir), RAY)
    with Session(rootdir=tmp_path) as session:
        assert session.run(local).ok
        stored = session.runtime.predictor.predictions(session.runtime.suite(local), "eval")
    with Session(rootdir=tmp_path) as session:
        assert session.run(on_ray).ok
        runtime = session.runtime
        reused = runtime.predictor.predictions(runtime.suite(on_ray), "eval")
        [lookup] = runtime.predictor.prediction_sources()
        assert (lookup["cache"], runtime.predictor.executor_facts) == ("hit", [])  # the cluster idled
    assert reused.labels == stored.labels


ATTACK = """  - kind: robustness
    dataset: eval
    recipe: deepwordbug
    num_examples: 8
    query_budget: 300
    max_attack_success_rate: 1.0
{executor}"""


def test_attacks_on_ray_workers_equal_the_serial_attack(tmp_path: Path, tiny_model_dir: Path,
                                                        eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    head = f"model:\n{_transformers(tiny_model_dir)}datasets:\n  eval:\n    path: eval.csv\n" \
        "checks:\n"
    serial = tmp_path / "serial.yaml"
    serial.write_text(head + ATTACK.format(executor=""))
    parallel = tmp_path / "parallel.yaml"
    parallel.write_text(head + ATTACK.format(
        executor="    executor: ray\n    ray:\n      workers: 2\n"))
    with Session(rootdir=tmp_path, cache=False) as session:
        [one], [spread] = session.run(serial).checks, session.run(parallel).checks
        facts = session.runtime.predictor.executor_facts
    assert one.outcome == spread.outcome == "passed", (one.message, spread.message)
    timing = "seconds_per_example"  # a wall-clock measure, not an outcome
    assert {k: v for k, v in spread.metrics.items() if k != timing} == \
        {k: v for k, v in one.metrics.items() if k != timing}
    assert spread.entry["details"]["outcomes"] == one.entry["details"]["outcomes"]
    # Same texts, labels and queries; probabilities equal to 1e-6 (a worker's torch threads can
    # sum in another order: a 2e-10 difference was seen under load).
    assert _rounded(spread.entry["examples"]) == _rounded(one.entry["examples"])
    assert spread.entry["details"]["indices"] == one.entry["details"]["indices"]
    perturbed = [o.get("perturbed") for o in one.entry["details"]["outcomes"]]
    assert len(perturbed) == 8 and any(perturbed)  # the attack did change texts
    [fact] = facts
    assert (fact["check"], fact["work"], fact["rows"], fact["attacked"],
            fact["workers_requested"]) == ("robustness[eval]", "attack", 8, 8, 2)
    assert fact["workers_started"] == fact["workers_answered"] == 2
    assert set(fact["seconds"]) == {"connect", "start", "attack"}


def test_streamed_accuracy_check_equals_the_local_one(tmp_path: Path, tiny_model_dir: Path,
                                                      eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    local = _suite(tmp_path, "local", _transformers(tiny_model_dir), "")
    streamed = _suite(tmp_path, "streamed", _transformers(tiny_model_dir),
                      RAY + "    stream: true\n")
    with Session(rootdir=tmp_path, cache=False) as session:
        [mine], [theirs] = session.run(local).checks, session.run(streamed).checks
        runtime = session.runtime
        loaded = [(suite.path.name, dataset.name) for suite, dataset in runtime.datasets.loaded()]
        facts = runtime.predictor.executor_facts
        [listed] = list(runtime.predictor.streamed_files)  # in run.datasets, so in the run's fingerprint
    assert mine.outcome == theirs.outcome == "passed", theirs.message
    assert mine.result is not None and theirs.result is not None
    assert theirs.metrics == mine.metrics  # accuracy, per-class and macro figures, all equal
    assert theirs.result.intervals == mine.result.intervals  # Wilson and the cell bootstrap
    assert theirs.result.interval_methods == mine.result.interval_methods
    for key in ("confusion_matrix", "per_class", "errors"):
        assert theirs.result.details[key] == mine.result.details[key]
    assert theirs.result.sample_size == 600 and theirs.result.examples == []
    assert loaded == [("local.yaml", "eval")]  # the streamed dataset never entered this process
    from modeltests.support.digests import file_digest

    assert (listed["name"], listed["rows"], listed["sha256"]) == (
        "eval", 600, file_digest(tmp_path / "eval.csv"))
    [fact] = facts
    assert (fact["suite"], fact["work"], fact["rows"], fact["workers_requested"]) == (
        "streamed.yaml", "stream", 600, 2)
    assert fact["blocks"] >= 1 and 1 <= fact["workers_answered"] <= 2


def test_an_attack_worker_killed_mid_run_is_retried_with_the_same_outcomes(
        tmp_path: Path, eval_csv: Path) -> None:
    shutil.copy(eval_csv, tmp_path / "eval.csv")
    (tmp_path / "killer.py").write_text(KILLER)
    head = "model:\n  adapter: callable\n  target: killer:predict\n  labels: [negative, " \
        "positive]\ndatasets:\n  eval:\n    path: eval.csv\ncheck" + "s:\n"
    parallel = tmp_path / "parallel.yaml"
    parallel.write_text(head + ATTACK.format(
        executor="    executor: ray\n    ray:\n      workers: 2\n"))
    serial = tmp_path / "serial.yaml"
    serial.write_text(head + ATTACK.format(executor=""))
    with Session(rootdir=tmp_path, cache=False) as session:
        [spread] = session.run(parallel).checks  # the first model call on a worker kills it
        [one] = session.run(serial).checks
    assert int((tmp_path / "killed.txt").read_text()) != os.getpid()
    assert spread.outcome == one.outcome == "passed", spread.message
    assert spread.entry["details"]["outcomes"] == one.entry["details"]["outcomes"]
    assert spread.metrics["examples"] == 8 and spread.metrics["examples_attacked"] > 0, \
        spread.metrics


def _rounded(value: object) -> object:
    """``value`` with every float rounded to 6 decimals (lists and dicts walked)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


DIGITS = Path(__file__).resolve().parents[2] / "suites" / "data" / "digits_test.npz"


def test_digits_images_on_ray_workers_equal_the_local_run(tmp_path: Path,
                                                         digits_model_dir: Path) -> None:
    """Images travel whole (pixels and normalisation) to the actors, which load the CNN from
    builtin:digits-cnn as this process did."""
    model = ("  adapter: torch\n  task: image-classification\n"
             "  factory: modeltests.demo.digits:digits_cnn\n  weights: builtin:digits-cnn\n"
             '  labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]\n  batch_size: 64\n')
    for name, executor in (("local", ""), ("on_ray", RAY)):
        (tmp_path / f"{name}.yaml").write_text(
            f"model:\n{model}datasets:\n  eval:\n    path: {DIGITS}\n    image: {{channels: 1}}\n"
            f"{executor}checks:\n  - kind: accuracy\n    dataset: eval\n    min_accuracy: 0.9\n")
    with Session(rootdir=tmp_path, cache=False) as session:
        local_run, ray_run = session.run(tmp_path / "local.yaml"), session.run(
            tmp_path / "on_ray.yaml")
        runtime = session.runtime
        mine = runtime.predictor.predictions(runtime.suite(tmp_path / "local.yaml"), "eval")
        theirs = runtime.predictor.predictions(runtime.suite(tmp_path / "on_ray.yaml"), "eval")
        [fact] = runtime.predictor.executor_facts
    assert local_run.ok and ray_run.ok, ray_run.checks[0].message
    assert theirs.labels == mine.labels
    assert mine.probabilities is not None and theirs.probabilities is not None
    print(f"digits on Ray: max |p_ray - p_local| = "
          f"{np.abs(theirs.probabilities - mine.probabilities).max():.2e}")
    np.testing.assert_allclose(theirs.probabilities, mine.probabilities, rtol=0, atol=1e-6)
    assert ray_run.checks[0].metrics == local_run.checks[0].metrics
    assert (fact["rows"], fact["blocks"], fact["workers_requested"]) == (360, 3, 2)
