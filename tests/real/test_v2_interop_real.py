"""V2 interop with a real MLServer: one server for the module, two models on it.

* ``classifier``: the project's runtime (:mod:`modeltests.mlserver_runtime`) over the tiny BERT:
  declared metadata, requested outputs honoured, a 400 naming BYTES for an FP32 input.
* ``sklearn-text``: MLServer's stock scikit-learn runtime (``mlserver-sklearn``) serving a
  TF-IDF + logistic regression pipeline trained here: it answers ``predict_proba`` only when
  asked (``request_outputs``), with unnamed columns that the ``predict`` output cross-checks.
* ``digits``: the project's image runtime (``ImageClassifier``) over ``builtin:digits-cnn``:
  images sent as FP32 and as UINT8 tensors answer what the in-process CNN answers, and an
  accuracy check over HTTP passes and fails as the in-process one does.
The accuracy read over HTTP equals the pipeline's own ``score`` on the same rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from modeltests.serving.server import free_port

from .test_load_checks import assert_no_traceback, lit, read_report

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[2]
TRAIN = [("a good movie", "positive"), ("great acting and a great plot", "positive"),
         ("I loved it", "positive"), ("really good fun", "positive"),
         ("wonderful, great music", "positive"), ("a bad movie", "negative"),
         ("awful acting and a boring plot", "negative"), ("I hated it", "negative"),
         ("really bad and boring", "negative"), ("terrible, awful music", "negative")]
EVAL = [("good plot", "positive"), ("great fun", "positive"), ("loved the music", "positive"),
        ("not good at all", "negative"), ("boring and bad", "negative"),
        ("awful plot", "negative"), ("not bad, really", "positive"), ("hated the acting", "negative")]


def trained_pipeline() -> Any:
    """TF-IDF + logistic regression on :data:`TRAIN` (deterministic)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression())
    return pipeline.fit([text for text, _ in TRAIN], [label for _, label in TRAIN])


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path,
             digits_model_dir: Path) -> Iterator[str]:
    """MLServer on 127.0.0.1 serving the three models: its base URL (digits_model_dir: the
    CNN is built here, so that the server only loads it)."""
    pytest.importorskip("mlserver", reason="pip install 'modeltests[serve]'")
    pytest.importorskip("mlserver_sklearn", reason="pip install mlserver-sklearn")
    import httpx
    import joblib

    folder = tmp_path_factory.mktemp("mlserver")
    (folder / "settings.json").write_text(json.dumps(
        {"host": "127.0.0.1", "parallel_workers": 0, "metrics_endpoint": None}))
    for name, settings in (
            ("classifier", {"implementation": "modeltests.mlserver_runtime.TextClassifier",
                            "parameters": {"uri": str(tiny_model_dir)}}),
            ("sklearn-text", {"implementation": "mlserver_sklearn.SKLearnModel",
                              "parameters": {"uri": "./model.joblib"}}),
            ("digits", {"implementation": "modeltests.mlserver_runtime.ImageClassifier",
                        "parameters": {"uri": "builtin:digits-cnn"}})):
        (folder / name).mkdir()
        (folder / name / "model-settings.json").write_text(json.dumps({"name": name,
                                                                        **settings}))
    joblib.dump(trained_pipeline(), folder / "sklearn-text" / "model.joblib")
    port = free_port()
    env = {**os.environ, "MLSERVER_HTTP_PORT": str(port), "MLSERVER_GRPC_PORT": str(free_port()),
           "PYTHONPATH": str(ROOT)}
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "mlserver.cli.main", "start", str(folder)],
                               cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not all(_ready(httpx, f"{base}/v2/models/{name}/ready")
                      for name in ("classifier", "sklearn-text", "digits")):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"MLServer did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _ready(httpx: Any, url: str) -> bool:
    try:
        return bool(httpx.get(url, timeout=2).status_code == 200)
    except httpx.HTTPError:
        return False


def infer(base: str, body: dict[str, Any]) -> Any:
    import httpx

    return httpx.post(f"{base}/v2/models/classifier/infer", json=body, timeout=60)


def test_the_runtime_declares_its_tensors_and_answers_what_is_asked(mlserver: str) -> None:
    import httpx

    metadata = httpx.get(f"{mlserver}/v2/models/classifier", timeout=10).json()
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["inputs"]] == [
        ("text", "BYTES", [-1]), ("text_pair", "BYTES", [-1])]
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["outputs"]] == [
        ("label", "BYTES", [-1]), ("probabilities", "FP64", [-1, 2])]
    texts = {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["good", "bad"]}
    answer = infer(mlserver, {"inputs": [texts], "outputs": [{"name": "probabilities"}]})
    assert answer.status_code == 200
    (output,) = answer.json()["outputs"]
    assert (output["name"], output["shape"]) == ("probabilities", [2, 2])
    full = infer(mlserver, {"inputs": [texts]}).json()["outputs"]
    assert [o["name"] for o in full] == ["label", "probabilities"]
    assert full[1]["data"] == output["data"]
    floats = infer(mlserver, {"inputs": [{"name": "text", "shape": [1], "datatype": "FP32",
                                          "data": [1.0]}]})
    assert floats.status_code == 400
    assert "input 'text' is FP32; this model reads texts: send datatype BYTES" in floats.text
    unknown = infer(mlserver, {"inputs": [texts], "outputs": [{"name": "logits"}]})
    assert unknown.status_code == 400 and "unknown output 'logits'" in unknown.text


def sklearn_suite(base: str, labels: str, outputs: str) -> str:
    return (f"model:\n  adapter: http\n  protocol: v2\n"
            f"  url: {base}/v2/models/sklearn-text/infer\n  labels: {labels}\n"
            "  probabilities_output: predict_proba\n  label_output: predict\n"
            f"  request_outputs: {outputs}\n"
            "datasets:\n  dev:\n    path: data.csv\nchecks:\n"
            "  - kind: accuracy\n    dataset: dev\n    min_accuracy: 0.1\n")


def run_sklearn(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    rows = "".join(f'"{t}",{label}\n' for t, label in EVAL)
    (pytester.mkdir("suites") / "data.csv").write_text("text,label\n" + rows)
    (pytester.path / "suites" / "sk.yaml").write_text(text)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def test_request_outputs_reach_the_stock_sklearn_runtime(pytester: pytest.Pytester,
                                                         mlserver: str) -> None:
    result = run_sklearn(pytester, sklearn_suite(mlserver, "[negative, positive]",
                                                 "[predict_proba, predict]"))
    result.assert_outcomes(passed=1)
    (check,) = read_report(pytester)["checks"]
    expected = trained_pipeline().score([t for t, _ in EVAL], [label for _, label in EVAL])
    assert check["metrics"]["accuracy"] == pytest.approx(expected)
    assert check["warnings"] == []


def test_a_swapped_label_list_is_caught_by_the_label_output(pytester: pytest.Pytester,
                                                            mlserver: str) -> None:
    result = run_sklearn(pytester, sklearn_suite(mlserver, "[positive, negative]",
                                                 "[predict_proba, predict]"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*: text 0: 'predict' says *, but the highest probability of 'predict_proba' is in "
        "column *" + lit("model.labels ['positive', 'negative'] is not in the order of its "
                         "probability columns; list the labels in the server's column order")])


def test_probabilities_alone_are_read_in_suite_order_with_a_warning(
        pytester: pytest.Pytester, mlserver: str) -> None:
    result = run_sklearn(pytester, sklearn_suite(mlserver, "[negative, positive]",
                                                 "[predict_proba]"))
    result.assert_outcomes(passed=1)
    (check,) = read_report(pytester)["checks"]
    (warning,) = check["warnings"]
    assert warning.endswith("the columns of 'predict_proba' were read in the order of "
                            "model.labels (negative, positive), unchecked: the server names no "
                            "column labels (parameters.labels) and answered no 'predict' output "
                            "to cross-check them (ask for one with model.request_outputs)")


DIGITS = ROOT / "suites" / "data" / "digits_test.npz"
DIGIT_LABELS = '["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]'


def digits_suite(base: str, datatype: str, min_accuracy: float = 0.9) -> str:
    """The digits CNN served (``datatype``), the same CNN in-process as ``local``."""
    return f"""model:
  adapter: http
  protocol: v2
  task: image-classification
  image_input: {{datatype: {datatype}}}
  url: {base}/v2/models/digits/infer
  labels: {DIGIT_LABELS}
  batch_size: 64
models:
  local:
    adapter: torch
    task: image-classification
    factory: modeltests.demo.digits:digits_cnn
    weights: builtin:digits-cnn
    labels: {DIGIT_LABELS}
    batch_size: 64
datasets:
  test:
    path: {DIGITS}
    image: {{channels: 1}}
checks:
  - kind: accuracy
    dataset: test
    min_accuracy: {min_accuracy}
"""


def test_served_digits_answer_what_the_in_process_cnn_answers(mlserver: str,
                                                              tmp_path: Path) -> None:
    """FP32 (the module's input, sent exactly): the same probabilities up to float rounding;
    UINT8 (0-255): the test images are uint8 files, so exactly the same pixels; on rotated
    images (bilinear: pixels between the 255 steps) rounding moves a few top-1 answers."""
    import numpy as np

    from modeltests.api import Session
    from modeltests.perturb.image_edits import EditStrengths, edit

    for datatype in ("FP32", "UINT8"):
        (tmp_path / f"{datatype}.yaml").write_text(digits_suite(mlserver, datatype))
    with Session(rootdir=tmp_path, cache=False, progress=False) as session:
        runtime = session.runtime
        fp32, uint8 = (runtime.suite(tmp_path / f"{d}.yaml") for d in ("FP32", "UINT8"))
        local = runtime.predictor.predictions(fp32, "test", "local")
        served = {name: runtime.predictor.predictions(suite, "test")
                  for name, suite in (("FP32", fp32), ("UINT8", uint8))}
        images = runtime.datasets.dataset(fp32, "test").texts
        rotated = [image.with_pixels(edit(image.pixels, variant, EditStrengths()), variant)
                   for image in images for variant in ("rotate +10deg", "rotate -10deg")]
        local_rotated = runtime.models.model(fp32, "local").predict(rotated)
        uint8_rotated = runtime.models.model(uint8).predict(rotated)
    assert local.probabilities is not None
    for name, answer in served.items():
        assert answer.probabilities is not None
        difference = float(np.abs(answer.probabilities - local.probabilities).max())
        print(f"{name}: max |p_served - p_local| = {difference:.2e}, top-1 equal "
              f"{sum(a == b for a, b in zip(answer.labels, local.labels))}/{len(images)}")
        assert difference < 1e-5 and answer.labels == local.labels
    agree = sum(a == b for a, b in zip(uint8_rotated.labels, local_rotated.labels))
    assert uint8_rotated.probabilities is not None and local_rotated.probabilities is not None
    moved = float(np.abs(uint8_rotated.probabilities - local_rotated.probabilities).max())
    print(f"UINT8 on {len(rotated)} rotated images: top-1 equal {agree}/{len(rotated)}, "
          f"max |p_served - p_local| = {moved:.2e}")
    assert agree >= 0.98 * len(rotated)


def test_an_accuracy_check_over_http_passes_and_fails_as_in_process(
        pytester: pytest.Pytester, mlserver: str, digits_model_dir: Path) -> None:
    (pytester.mkdir("suites") / "served.yaml").write_text(digits_suite(mlserver, "UINT8"))
    (pytester.path / "suites" / "strict.yaml").write_text(
        digits_suite(mlserver, "FP32", min_accuracy=0.999))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/served.yaml  accuracy[[]test]  PASS     accuracy 0.9* >= 0.900 (95% CI 0.9* to "
        "0.9*)",
        "suites/strict.yaml  accuracy[[]test]  FAIL     accuracy 0.9* < 0.999 (95% CI 0.9* to "
        "0.9*)"])
    from modeltests.demo.cache import read_marker

    served, strict = read_report(pytester)["checks"]
    built = read_marker(digits_model_dir)  # the accuracy the build measured in-process
    assert built is not None
    assert served["metrics"]["accuracy"] == strict["metrics"]["accuracy"] == built["accuracy"]
