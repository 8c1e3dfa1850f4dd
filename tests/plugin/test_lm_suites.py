"""Generative suites as a user sees them: a generator behind the ``callable`` adapter, prompt
and document datasets, ``perplexity`` and ``choice``; bad prompt files and the wrong kind of
model are located errors."""

from __future__ import annotations

import json

import pytest

from .helpers import assert_no_traceback, lit, make_project, read_report, write_suite

GENERATOR = '''
import math
from modeltests.adapters.generation import (ContinuationScore, DocumentScore, Generation,
                                            TextGenerator)


class Letters(TextGenerator):
    """Every character costs ln 2 nats, except 'x', which costs ln 16."""

    max_context = 100

    def generate(self, prompts, request):
        return [Generation(text="", finish_reason="eos") for _ in prompts]

    def score(self, pairs):
        return [ContinuationScore(-sum(math.log(16 if c == "x" else 2) for c in cont),
                                  max(1, len(cont)), False) for _, cont in pairs]


def make():
    return Letters()


def not_a_generator():
    return [1]
'''

HEAD = """model:
  adapter: callable
  target: fakegen:make
  task: text-generation
datasets:
  docs:
    path: docs.jsonl
    document_column: text
  quiz:
    path: quiz.jsonl
    prompt_column: question
    choices_column: options
    answer_column: answer
checks:
"""


def _project(pytester: pytest.Pytester, suite: str, quiz: list[object] | None = None,
             docs: list[object] | None = None) -> pytest.RunResult:
    make_project(pytester, suite=None)
    pytester.makepyfile(fakegen=GENERATOR)
    docs = docs if docs is not None else [{"text": "ab cd"}, {"text": "abcd"}, {"text": "a b"}]
    quiz = quiz if quiz is not None else [
        {"question": "q1", "options": ["x", "a"], "answer": "a"},
        {"question": "q2", "options": ["aa", "x"], "answer": 0},
        {"question": "q3", "options": ["x", "b"], "answer": "x"}]
    (pytester.path / "suites").mkdir(exist_ok=True)
    for name, rows in (("docs", docs), ("quiz", quiz)):
        (pytester.path / "suites" / f"{name}.jsonl").write_text(
            "".join((json.dumps(r) if not isinstance(r, str) else r) + "\n" for r in rows))
    write_suite(pytester, "suites/lm.yaml", HEAD + suite)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def test_perplexity_of_a_generator_with_known_costs(pytester: pytest.Pytester) -> None:
    # every character costs 1 bit: bits per byte 1, byte perplexity 2
    result = _project(pytester, "  - kind: perplexity\n    dataset: docs\n"
                      "    max_bits_per_byte: 1.5\n")
    result.stdout.fnmatch_lines(["suites/lm.yaml  perplexity[[]docs]  PASS *bits_per_byte "
                                 "1.000 <= 1.500 (95% lower bound 1.000)"])
    check = read_report(pytester)["checks"][0]
    assert check["metrics"]["byte_perplexity"] == pytest.approx(2.0)
    assert check["metrics"]["word_perplexity"] == pytest.approx(2 ** (12 / 5))


def test_choice_accuracy_and_failing_examples(pytester: pytest.Pytester) -> None:
    # "x" is the unlikely choice: q1 and q2 right, q3 (answer x) wrong
    result = _project(pytester, "  - kind: choice\n    dataset: quiz\n"
                      "    min_accuracy: 0.9\n")
    result.stdout.fnmatch_lines(["suites/lm.yaml  choice[[]quiz]  FAIL     accuracy 0.667 < 0.900 "
                                 "(95% CI 0.208 to 0.939)"])
    check = read_report(pytester)["checks"][0]
    assert check["examples"][0]["text"] == "q3"
    assert check["examples"][0]["expected"] == "x"


def test_prompt_file_problems_are_listed_with_their_lines(pytester: pytest.Pytester) -> None:
    result = _project(pytester, "  - kind: choice\n    dataset: quiz\n", quiz=[
        {"question": "q1", "options": ["x", "a"], "answer": "a"},
        {"question": "  ", "options": ["x", "a"], "answer": "a"},
        {"options": ["x", "a"], "answer": "a"},
        {"question": "q4", "options": ["x", "a"], "answer": 2},
        {"question": "q5", "options": "x", "answer": "x"}])
    result.stdout.fnmatch_lines([
        "suites/lm.yaml:11: datasets.quiz.prompt_column: 2 problem(s) in quiz.jsonl:",
        "  line 2: empty prompt",
        "  line 3: no field 'question' (fields: options, answer)",
        "suites/lm.yaml:12: datasets.quiz.choices_column: 1 problem(s) in quiz.jsonl:",
        "  line 5: 'options' must be a list of at least two texts (got 'x')",
        "suites/lm.yaml:13: datasets.quiz.answer_column: 1 problem(s) in quiz.jsonl:",
        "  line 4: answer '2' is neither one of the 2 choices nor an index 0 to 1",
    ])


def test_an_empty_document_is_located(pytester: pytest.Pytester) -> None:
    result = _project(pytester, "  - kind: perplexity\n    dataset: docs\n",
                      docs=[{"text": "ab"}, {"text": ""}])
    result.stdout.fnmatch_lines([
        "suites/lm.yaml:8: datasets.docs.document_column: 1 problem(s) in docs.jsonl:",
        "  line 2: empty document"])


def test_a_classifier_given_to_perplexity_is_refused_at_setup(pytester: pytest.Pytester
                                                              ) -> None:
    make_project(pytester, suite=None)
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "docs.jsonl").write_text('{"text": "ab"}\n')
    write_suite(pytester, "suites/lm.yaml", """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
datasets:
  docs:
    path: docs.jsonl
    document_column: text
checks:
  - kind: perplexity
    dataset: docs
""")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(
        "suites/lm.yaml:10: checks[0].kind: 'perplexity' checks a model that generates text, "
        "and the suite's model predicts labels (CallableModel); load a generator (e.g. "
        "adapter: transformers with task: text-generation)")])


def test_a_callable_generator_factory_must_return_a_generator(pytester: pytest.Pytester
                                                              ) -> None:
    _project(pytester, "  - kind: perplexity\n    dataset: docs\n")
    write_suite(pytester, "suites/lm.yaml", (HEAD + "  - kind: perplexity\n    dataset: docs\n")
                .replace("fakegen:make", "fakegen:not_a_generator"))
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([lit(
        "suites/lm.yaml:3: model.target: 'fakegen:not_a_generator' returned list, not a "
        "TextGenerator") + "*"])
