"""The answer-checking generative kinds as a user sees them: completion, format, degeneration,
generation_robustness and availability on a generator written in Python
(:mod:`tests.plugin.generators`), with their exact terminal lines and JSON numbers."""

from __future__ import annotations

import pytest

from .generators import CAPITALS_JSONL, FAKE_GENERATOR_CONFTEST, GEN_HEAD
from .helpers import (assert_no_traceback, checks_by_nodeid, lit, read_report,
                                  write_suite)


def run_generator_suite(pytester: pytest.Pytester, checks: str, head: str = GEN_HEAD,
                        data: str = CAPITALS_JSONL) -> pytest.RunResult:
    """The fake generator's project with ``checks`` appended to ``head``; run, no traceback."""
    pytester.makeconftest(FAKE_GENERATOR_CONFTEST)
    write_suite(pytester, "suites/capitals.jsonl", data)
    write_suite(pytester, "suites/lm.yaml", head + checks)
    result = pytester.runpytest("suites/lm.yaml", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def entry(pytester: pytest.Pytester, name: str) -> dict:  # type: ignore[type-arg]
    return checks_by_nodeid(read_report(pytester))[f"suites/lm.yaml::{name}"]


def test_completion_gates_overall_and_per_slice_with_failing_examples(
        pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, """  - kind: completion
    dataset: capitals
    stop: [" ."]
    min_match_rate: 0.3
    slices:
      - name: america
        column: region
        equals: america
        min_match_rate: 0.9
""")
    result.stdout.fnmatch_lines([
        "completion[[]capitals] failed (suites/lm.yaml:10, n=6)",
        "  america match_rate 0.500 < 0.900 (95% CI 0.095 to 0.905)  [[]america.min_match_rate]",
        "  failing examples (2):",
        "    - 'The capital of Chile is' -> 'London' expected Santiago",
        "    - 'The capital of Egypt is' -> 'London' expected Cairo",
    ])
    result.assert_outcomes(failed=1)
    found = entry(pytester, "completion[capitals]")
    assert found["metrics"]["match_rate"] == pytest.approx(4 / 6)
    assert found["metrics"]["slice.america.match_rate"] == pytest.approx(1 / 2)


def test_completion_normalises_in_the_declared_order(pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, """  - kind: completion
    name: punctuation last
    dataset: capitals
    normalize: [lower, strip, strip_punctuation]
    min_match_rate: 0.01
  - kind: completion
    name: strip last
    dataset: capitals
    normalize: [lower, strip_punctuation, strip]
    min_match_rate: 0.6
""", head=GEN_HEAD.replace("wrong: [Chile, Egypt]", "wrong: []"))
    result.stdout.fnmatch_lines([
        "  match_rate 0.000 < 0.010 (95% upper bound 0.390)  [[]min_match_rate]",
        "    - 'The capital of France is' -> 'Paris .' expected Paris",
    ])
    result.assert_outcomes(passed=1, failed=1)
    assert entry(pytester, "completion[strip last]")["metrics"]["match_rate"] == 1.0


def test_completion_with_samples_reports_unbiased_pass_at_k(pytester: pytest.Pytester) -> None:
    # Chile and Egypt are right on the even seeds only: 2 of 4 samples, pass@2 = 1 - 1/6.
    result = run_generator_suite(pytester, """  - kind: completion
    dataset: capitals
    match: prefix
    samples: 4
    k: 2
    seed: 10
    gate: estimate
    min_pass_at_k: 0.9
    min_match_rate: 0.9
""")
    result.stdout.fnmatch_lines(["  match_rate 0.833 < 0.900 (95% CI *)  [[]min_match_rate]"])
    result.assert_outcomes(failed=1)
    found = entry(pytester, "completion[capitals]")
    assert found["metrics"]["pass_at_k"] == pytest.approx((4 + 2 * (1 - 1 / 6)) / 6)
    assert found["metrics"]["match_rate"] == pytest.approx((4 + 2 * 0.5) / 6)
    methods = {t["metric"]: t["interval_method"] for t in found["thresholds"]}
    assert methods == {"pass_at_k": "bootstrap-percentile", "match_rate": "bootstrap-percentile"}


def test_completion_regex_answers(pytester: pytest.Pytester) -> None:
    data = ('{"prompt": "The capital of France is", "answer": "^par"}\n'
            '{"prompt": "The capital of Chile is", "answer": "santiago|lond"}\n')
    result = run_generator_suite(pytester, """  - kind: completion
    dataset: capitals
    match: regex
    normalize: [lower]
    gate: estimate
    min_match_rate: 1
""", data=data)
    result.assert_outcomes(passed=1)


def test_format_json_schema_and_regex(pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, """  - kind: format
    prompts: ["give json", "more json", "broken json please"]
    min_valid_rate: 0.9
  - kind: format
    name: schema
    prompts: ["give json", "more json"]
    schema: {type: object, required: [city, country]}
    min_valid_rate: 0.5
  - kind: format
    name: regex
    prompts: ["hello there"]
    expect: regex
    pattern: "a [a-z]+ day .*"
    min_valid_rate: 0.01
""")
    result.stdout.fnmatch_lines([
        "format[[]0] failed (suites/lm.yaml:10, n=3)",
        "  valid_rate 0.667 < 0.900 (95% CI 0.208 to 0.939)  [[]min_valid_rate]",
        "    - 'broken json please' -> '{\"city\": ' (not JSON: Expecting value: line 1 column "
        "9 (char 8))",
        "format[[]schema] failed (suites/lm.yaml:13, n=2)",
        "    - 'give json' -> '{\"city\": \"Paris\", \"people\": 2100000}' (breaks the schema "
        "at the document: 'country' is a required property)",
    ])
    result.assert_outcomes(passed=1, failed=2)


def test_format_schema_file_problems_are_located_errors(pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, """  - kind: format
    prompts: ["give json"]
    schema: missing.json
  - kind: format
    prompts: ["give json"]
    schema: {type: objekt}
""")
    result.stdout.fnmatch_lines([
        "*suites/lm.yaml:12: checks[[]0].schema: cannot read the schema file */suites/missing.json: "
        "No such file or directory",
        "*suites/lm.yaml:15: checks[[]1].schema: not a valid JSON Schema: 'objekt' is not valid "
        "under any of the given schemas",
    ])
    result.assert_outcomes(errors=2)


def test_degeneration_loops_early_stops_and_length_band(pytester: pytest.Pytester) -> None:
    write_suite(pytester, "suites/lengths.json", '{"lengths": [9, 9, 9, 9]}')
    result = run_generator_suite(pytester, """  - kind: degeneration
    prompts: ["loop please", "hello there", "more words", "loop again"]
    max_new_tokens: 20
    gate: estimate
    max_loop_rate: 0.1
    min_early_stop_rate: 0.9
    reference_lengths: lengths.json
    min_length_ratio: 0.9
    max_length_ratio: 1.1
""")
    result.stdout.fnmatch_lines([
        "  loop_rate 0.500 > 0.100 (95% CI 0.150 to 0.850)  [[]max_loop_rate]",
        "  early_stop_rate 0.500 < 0.900 (95% CI 0.150 to 0.850)  [[]min_early_stop_rate]",
        "  length_ratio 1.611 > 1.100 (95% CI *)  [[]max_length_ratio]",
        "    - 'loop please' -> 'la la la la la la la la la la la la la la la la l…' (ends "
        "with a 1-word unit repeated 3+ times)",
    ])
    result.assert_outcomes(failed=1)
    found = entry(pytester, "degeneration[0]")
    # Two loops of 20 tokens (one distinct bigram of 19), two sentences of 9: mean 14.5.
    assert found["details"]["lengths"] == [20, 9, 9, 20]
    assert found["metrics"]["mean_length"] == 14.5
    assert found["metrics"]["length_ratio"] == pytest.approx(14.5 / 9)
    assert found["metrics"]["distinct_n"] == pytest.approx((1 / 19 + 1 + 1 + 1 / 19) / 4)


def test_degeneration_reference_lengths_must_match_the_prompts(
        pytester: pytest.Pytester) -> None:
    write_suite(pytester, "suites/lengths.json", "[3, 4]")
    result = run_generator_suite(pytester, """  - kind: degeneration
    prompts: ["hello there"]
    max_new_tokens: 20
    reference_lengths: lengths.json
    max_length_ratio: 1.1
""")
    result.stdout.fnmatch_lines([
        "*suites/lm.yaml:13: checks[[]0].reference_lengths: lengths.json holds 2 lengths for 1 "
        "prompts; save the lengths of a run on the same prompts"])


def test_generation_robustness_gates_each_perturbation(pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, """  - kind: generation_robustness
    dataset: capitals
    match: prefix
    perturbations: [case, homoglyphs]
    max_match_drop: 0.2
""")
    result.stdout.fnmatch_lines([
        "  case match_drop 0.667 > 0.200 (95% CI 0.131 to 0.903)  [[]case.max_match_drop]",
        "    - [[]case] 'The capital of France is' -> 'Paris .' / 'the capital of france is' "
        "-> 'a fine day , with sun and rain .' expected Paris",
    ])
    found = entry(pytester, "generation_robustness[capitals]")
    assert found["metrics"]["case.match_drop"] == pytest.approx(4 / 6)
    assert found["metrics"]["case.unchanged_rate"] == 0.0


AVAILABILITY = """  - kind: availability
    generated_examples: 3
"""


def test_availability_of_a_well_behaved_generator_passes(pytester: pytest.Pytester) -> None:
    result = run_generator_suite(pytester, AVAILABILITY,
                                 head=GEN_HEAD.replace("  wrong:", "  refuse_long: true\n  wrong:"))
    result.assert_outcomes(passed=1)
    found = entry(pytester, "availability[0]")
    assert found["metrics"]["edge_pass_rate"] == 1.0
    assert found["details"]["stop_tests"] == {
        "max_new_tokens 1": True, "max_new_tokens 2": True, "max_new_tokens 5": True,
        "stop string never produced": True, "stop string 'fine'": True, "end-of-text": True}
    assert found["details"]["edge_inputs"][-3:] == [
        "60 tokens (context minus max_new_tokens)", "64 tokens (the whole context)",
        "65 tokens (one past the context)"]


@pytest.mark.parametrize(("option", "lines"), [
    ("refuse_long: true\n  crash_on_empty: true", [
        "  edge_pass_rate 0.857 < 1.000  [[]min_edge_pass_rate]",
        "    - [[]empty prompt] '' error: model raised IndexError in generate: index 0 is out of "
        "bounds for dimension 0 with size 0"]),
    ("refuse_long: true\n  nan_logits: true", [
        "  finite_logprob_rate 0.000 < 1.000  [[]min_finite_logprob_rate]",
        "    - [[]finite log-probabilities] * error: text 0: the next-token log-probabilities "
        "hold NaN or infinite values"]),
    ("refuse_long: true\n  flaky: true", [
        "  determinism_diff 1.000 > 1.00e-06  [[]max_determinism_diff]",
        "    - [[]greedy determinism] * error: 'a * day *' then 'a * day *'"]),
    ("wrong: []", [
        "    - [[]65 tokens (one past the context)] 'the the * error: model raised ValueError "
        "in generate: prompt of 65 tokens is longer than the context"]),
])
def test_availability_names_what_a_generator_gets_wrong(pytester: pytest.Pytester, option: str,
                                                        lines: list[str]) -> None:
    result = run_generator_suite(pytester, AVAILABILITY,
                                 head=GEN_HEAD.replace("  wrong: [Chile, Egypt]", f"  {option}"))
    result.stdout.fnmatch_lines(lines)
    result.assert_outcomes(failed=1)


def test_generator_only_availability_keys_on_a_classifier(pytester: pytest.Pytester) -> None:
    from .helpers import CALLABLE_HEAD, make_project

    make_project(pytester, "name: sentiment\n" + CALLABLE_HEAD
                 + "  - kind: availability\n    max_new_tokens: 8\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "*suites/sentiment.yaml:11: checks[[]0].max_new_tokens: max_new_tokens applies to a "
        "model that generates text; the suite's model (CallableModel) predicts labels"])
    result.assert_outcomes(errors=1)


# -- bad input ---------------------------------------------------------------------------------

COMPLETION = "  - kind: completion\n    dataset: capitals\n"


@pytest.mark.parametrize(("data", "checks", "option", "line", "outcome"), [
    (CAPITALS_JSONL + '{"prompt": "  ", "answer": "x"}\n', COMPLETION, "",
     "*suites/lm.yaml:11: datasets.capitals: 1 prompt(s) of capitals.jsonl are empty (rows 7, "
     "column 'prompt'); a prompt must say something: fill them in or remove those rows",
     "errors"),
    ('{"prompt": "The capital of France is"}\n{"prompt": "x", "answer": "y"}\n', COMPLETION, "",
     "*datasets.capitals: 1 row(s) of capitals.jsonl have no 'answer' (file lines 1)*",
     "errors"),
    ('{"prompt": "The capital of France is", "answer": "par(is"}\n',
     COMPLETION + "    match: regex\n", "",
     "*suites/lm.yaml:12: datasets.capitals: row 1: expected answer 'par(is' is not a regular "
     "expression (missing ), unterminated subpattern at position 3); match: regex reads each "
     "answer as one", "errors"),
    (CAPITALS_JSONL, COMPLETION, "  surrogate: true\n",
     "suites/lm.yaml:11: prompt 0: the generated text is not valid UTF-8 (surrogates not "
     "allowed at character 3)", "failed"),
])
def test_bad_prompts_and_outputs_are_located(pytester: pytest.Pytester, data: str, checks: str,
                                             option: str, line: str, outcome: str) -> None:
    """Empty prompts, rows without an answer, an answer that is no regex (ERRORs at setup);
    a generator's non-UTF-8 text (the check FAILs with the located reason)."""
    result = run_generator_suite(pytester, checks, data=data,
                                 head=GEN_HEAD.replace("  wrong:", option + "  wrong:"))
    result.stdout.fnmatch_lines([line])
    result.assert_outcomes(**{outcome: 1})


@pytest.mark.parametrize(("value", "line"), [
    ("0", "*checks[[]0].max_new_tokens: must be an integer >= 1 (got 0)*"),
    ("-3", "*checks[[]0].max_new_tokens: must be an integer >= 1 (got -3)*"),
    ("64", "*suites/lm.yaml:12: checks[[]0].max_new_tokens: 64 tokens do not fit the model's "
     "context of 64 tokens with any prompt; set it below 64"),
])
def test_max_new_tokens_out_of_range(pytester: pytest.Pytester, value: str, line: str) -> None:
    result = run_generator_suite(pytester, f"""  - kind: completion
    dataset: capitals
    max_new_tokens: {value}
""")
    result.stdout.fnmatch_lines([line])
    result.assert_outcomes(errors=1)


def test_a_classifier_given_to_completion_is_a_located_error(pytester: pytest.Pytester) -> None:
    from .helpers import CALLABLE_HEAD, make_project

    make_project(pytester, "name: sentiment\n" + CALLABLE_HEAD
                 + "  - kind: completion\n    dataset: dev\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([lit(
        "suites/sentiment.yaml:10: checks[0].kind: 'completion' checks a model that generates "
        "text, and the suite's model predicts labels (CallableModel); load a generator (e.g. "
        "adapter: transformers with task: text-generation)")])
    result.assert_outcomes(errors=1)
