"""Files shared by the plugin tests: a fake model module, a small dataset, a passing suite.

The fake is a plain Python function behind the ``callable`` adapter: these tests are about the
plugin, not about a model library. It calls a text positive when it contains "good" or "great",
so it gets 7 of the 8 rows of :data:`DATA_CSV` right (it misses "not good at all").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# pytester's in-process runs drop modules first imported inside them; importing the libraries the
# checks use here keeps each run from paying pandas' and scikit-learn's import time again.
import hypothesis  # noqa: F401
import jinja2  # noqa: F401
import pandas  # noqa: F401
import scipy.stats  # noqa: F401
import sklearn.metrics  # noqa: F401


def lit(text: str) -> str:
    """``text`` as an fnmatch pattern that matches itself (``[dev]`` is not a character class)."""
    return text.replace("[", "[[]")


FAKE_MODEL = '''
import math
from pathlib import Path

LOADS = []


def predict(texts):
    return [[0.2, 0.8] if ("good" in t or "great" in t) else [0.9, 0.1] for t in texts]


def counted_factory():
    """Counts loads in this process (LOADS) and across processes (loads.txt)."""
    LOADS.append(1)
    with open(Path(__file__).with_name("loads.txt"), "a") as handle:
        handle.write("load\\n")
    return predict


def raises(texts):
    raise RuntimeError("CUDA out of memory (simulated)")


def nan_outputs(texts):
    return [[math.nan, 1.0] if "good" in t else [0.5, 0.5] for t in texts]


def infinite_outputs(texts):
    return [[math.inf, 0.0] for t in texts]
'''

DATA_CSV = """text,label,topic
good movie,positive,film
great acting,positive,film
a good meal,positive,food
bad movie,negative,film
awful service,negative,food
terrible plot,negative,film
not good at all,negative,food
boring,negative,film
"""

# The fake model and its dataset, as a suite's first lines.
CALLABLE_MODEL = """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
"""

# The fake model's suite head; a check appended to it starts on line 9.
CALLABLE_HEAD = CALLABLE_MODEL + "checks:\n"

# Line numbers matter: tests assert them (accuracy on line 10, availability on line 13).
PASSING_SUITE = "name: sentiment\n" + CALLABLE_HEAD + """  - kind: accuracy
    dataset: dev
    min_accuracy: 0.5
  - kind: availability
    name: smoke
    generated_examples: 0
"""


def run_suite_text(pytester: pytest.Pytester, relpath: str, text: str, *args: str
                   ) -> pytest.RunResult:
    """Write the fake project plus one suite file, run pytest on it, and assert that the output
    reads as messages (no traceback)."""
    make_project(pytester, suite=None)
    write_suite(pytester, relpath, text)
    result = pytester.runpytest(relpath, "-p", "no:cacheprovider", *args)
    assert_no_traceback(result.stdout.str())
    return result


def make_project(pytester: pytest.Pytester, suite: str | None = PASSING_SUITE,
                 name: str = "sentiment") -> Path:
    """Write ``fakemodel.py``, ``suites/data.csv`` and (unless None) ``suites/<name>.yaml``."""
    pytester.makepyfile(fakemodel=FAKE_MODEL)
    data = pytester.mkdir("suites") if not (pytester.path / "suites").exists() \
        else pytester.path / "suites"
    (data / "data.csv").write_text(DATA_CSV)
    if suite is not None:
        (data / f"{name}.yaml").write_text(suite)
    return pytester.path


def write_suite(pytester: pytest.Pytester, relpath: str, text: str) -> Path:
    path = pytester.path / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_report(pytester: pytest.Pytester, relpath: str = "reports/modeltests.json"
                ) -> dict[str, Any]:
    return json.loads((pytester.path / relpath).read_text())


def checks_by_nodeid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["nodeid"]: entry for entry in document["checks"]}


def assert_no_traceback(output: str) -> None:
    """Bad input must read as a message: nothing from inside modeltests, no traceback."""
    assert "Traceback" not in output
    assert "modeltests/" not in output
    assert "site-packages" not in output
    assert "raise " not in output


# A user's own text generator (conftest.py): after word i of WORDS, word i+1 is likely;
# ``noise`` bends every distribution, ``timed`` adds generate_timed.
CYCLE_GENERATOR = '''
import time
from typing import Literal

import numpy as np

from modeltests import AdapterKind, AdapterParams
from modeltests.adapters.generation import (ContinuationScore, Generation, TextGenerator,
                                            TimedGeneration, TokenLogprobs)

WORDS = "the cat sat on a mat and then it ran far away".split()


class CycleParams(AdapterParams):
    adapter: Literal["cycle"] = "cycle"
    noise: float = 0.0
    timed: bool = False


class Cycle(TextGenerator):
    """After word i, word i+1 of WORDS is likely; ``noise`` bends every distribution."""

    max_context = 64

    def __init__(self, params):
        self.noise = params.noise

    def count_tokens(self, text):
        return len(text.split())

    def _ids(self, text):
        return [WORDS.index(w) if w in WORDS else 0 for w in text.split()]

    def _row(self, previous):
        logits = np.zeros(len(WORDS))
        logits[(previous + 1) % len(WORDS)] = 3.0
        logits += self.noise * np.sin(np.arange(len(WORDS)) * 7.0 + previous)
        return logits - np.log(np.exp(logits).sum())

    def token_logprobs(self, texts):
        out = []
        for text in texts:
            ids = self._ids(text)
            rows = np.array([self._row(i) for i in ids[:-1]], dtype=np.float32)
            out.append(TokenLogprobs(tuple(ids), rows.reshape(len(ids) - 1, len(WORDS))
                                     if len(ids) > 1 else np.zeros((0, len(WORDS)), np.float32)))
        return out

    def generate(self, prompts, request):
        answers = []
        for prompt in prompts:
            last, ids = self._ids(prompt)[-1], []
            for _ in range(request.max_new_tokens):
                last = int(np.argmax(self._row(last)))
                ids.append(last)
            answers.append(Generation(" ".join(WORDS[i] for i in ids), "length", tuple(ids)))
        return answers

    def score(self, pairs):
        return [ContinuationScore(-1.0, 1, False) for _ in pairs]


class TimedCycle(Cycle):
    """The same model with its own clock: the first token at a tenth of the call."""

    def generate_timed(self, prompt, request):
        started = time.perf_counter()
        generation = self.generate([prompt], request)[0]
        total = (time.perf_counter() - started) * 1000
        return TimedGeneration(generation, total / 10, total)


def pytest_modeltests_register_adapters(registry):
    registry.add_adapter(AdapterKind("cycle", CycleParams, lambda params, ctx:
                                     TimedCycle(params) if params.timed else Cycle(params)))
'''
