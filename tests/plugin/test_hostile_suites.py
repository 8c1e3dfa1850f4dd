"""Hostile and careless suite files: duplicate keys, alias bombs, YAML tags, missing datasets.

Each is refused (or confined) with a located message while the valid sibling suite still passes.
"""

from __future__ import annotations

import sys

import pytest

from .helpers import (CALLABLE_HEAD, CALLABLE_MODEL, checks_by_nodeid, lit, make_project,
                      read_report, write_suite)
from .test_bad_input import run_with_good_suite


def test_a_key_given_twice_is_an_error_naming_both_lines(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, CALLABLE_HEAD + """  - kind: accuracy
    dataset: dev
    min_accuracy: 0.99
    min_accuracy: 0.1
checks: []
""")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:12: checks[[]0].min_accuracy: duplicate key 'min_accuracy' (first at "
        "line 11); the later value would silently replace the earlier one",
        "suites/bad.yaml:13: checks: duplicate key 'checks' (first at line 8); the later value "
        "would silently replace the earlier one",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_an_alias_bomb_is_refused_and_the_other_suites_run(pytester: pytest.Pytester) -> None:
    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = "\n".join(levels) + "\n" + CALLABLE_MODEL + "checks: [*a9]\n"
    result = run_with_good_suite(pytester, bomb)
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:1: the file expands to more than 100,000 values (aliases that repeat "
        "aliases?); a suite must be smaller",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_a_suite_larger_than_a_megabyte_is_refused(pytester: pytest.Pytester) -> None:
    padding = "# " + "x" * 1000 + "\n"
    result = run_with_good_suite(pytester, CALLABLE_HEAD + padding * 1100)
    result.stdout.fnmatch_lines(["suites/bad.yaml:1: the file is 1,*,* bytes; a suite may have "
                                 "at most 1,000,000"])
    result.assert_outcomes(passed=2, errors=1)


def test_yaml_tags_are_refused_on_lists_and_scalars(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, """model:
  adapter: callable
  target: fakemodel:predict
  labels: !!python/object/apply:os.system ["echo owned"]
datasets:
  dev:
    path: !custom data.csv
checks:
  - kind: accuracy
    dataset: dev
""")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:4: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
        "allowed in suite files (only plain strings, numbers, booleans, null, lists and mappings)",
        "suites/bad.yaml:7: YAML tag '!custom' is not allowed in suite files *",
    ])
    assert "owned" not in result.stdout.str()
    result.assert_outcomes(passed=2, errors=1)


def test_merge_keys_say_they_are_not_supported(pytester: pytest.Pytester) -> None:
    result = run_with_good_suite(pytester, """base: &base {adapter: callable}
model:
  <<: *base
  target: fakemodel:predict
checks:
  - kind: availability
""")
    result.stdout.fnmatch_lines(["suites/bad.yaml:3: merge keys ('<<') are not supported in "
                                 "suite files; repeat the keys"])


def test_a_missing_dataset_errors_only_the_checks_that_use_it(pytester: pytest.Pytester) -> None:
    suite = """model:
  adapter: callable
  target: fakemodel:predict
  labels: [negative, positive]
datasets:
  dev:
    path: data.csv
  gone:
    path: missing.csv
checks:
  - kind: accuracy
    dataset: dev
    min_accuracy: 0.5
  - kind: accuracy
    dataset: gone
  - kind: availability
    generated_examples: 0
"""
    result = run_with_good_suite(pytester, suite)
    result.stdout.fnmatch_lines([
        lit("*_ ERROR at setup of accuracy[gone] (accuracy check) _*"),
        "suites/bad.yaml:9: datasets.gone.path: dataset file not found: */suites/missing.csv",
    ])
    result.assert_outcomes(passed=4, errors=1)
    outcomes = {k: v["outcome"] for k, v in checks_by_nodeid(read_report(pytester)).items()}
    assert outcomes["suites/bad.yaml::accuracy[dev]"] == "passed"
    assert outcomes["suites/bad.yaml::availability[2]"] == "passed"


def test_a_missing_dataset_no_check_uses_is_a_warning(pytester: pytest.Pytester) -> None:
    suite = CALLABLE_MODEL.replace("datasets:\n", "datasets:\n  spare:\n    path: nope.csv\n") \
        + "checks:\n  - kind: availability\n    generated_examples: 0\n"
    make_project(pytester)
    write_suite(pytester, "suites/spare.yaml", suite)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*PytestWarning: suites/spare.yaml:7: datasets.spare.path: "
                                 "dataset file not found: */nope.csv (no check uses it)"])
    result.assert_outcomes(passed=3, warnings=1)


UNLABELLED_CSV = 'text,label,topic\ngood movie,positive,film\n"a review\nover two lines",,film\n' \
    "bad movie,negative,film\nawful,,food\n"


def _dataset_suite(pytester: pytest.Pytester, csv_text: str | bytes, extra: str = "",
                   checks: str = "  - kind: accuracy\n    dataset: dev\n") -> pytest.RunResult:
    make_project(pytester)
    data = pytester.path / "suites" / "other.csv"
    data.write_bytes(csv_text if isinstance(csv_text, bytes) else csv_text.encode())
    write_suite(pytester, "suites/bad.yaml", CALLABLE_MODEL.replace("data.csv", "other.csv")
                .replace("    path: other.csv\n", "    path: other.csv\n" + extra)
                + "checks:\n" + checks)
    return pytester.runpytest("suites/", "-p", "no:cacheprovider")


def test_an_empty_dataset_is_a_located_error(pytester: pytest.Pytester) -> None:
    result = _dataset_suite(pytester, "text,label\n")
    result.stdout.fnmatch_lines(["suites/bad.yaml:7: datasets.dev: other.csv has no rows to "
                                 "test on"])
    result.assert_outcomes(passed=2, errors=1)
    assert "Traceback" not in result.stdout.str()


def test_unlabelled_rows_are_counted_with_their_file_lines(pytester: pytest.Pytester) -> None:
    result = _dataset_suite(pytester, UNLABELLED_CSV)
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:6: datasets.dev: 2 row(s) of other.csv have no 'label' (file lines 4, "
        "6); label them, or set datasets.dev.unlabelled: drop to leave them out",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_unlabelled_rows_can_be_dropped_and_the_report_says_how_many(
        pytester: pytest.Pytester) -> None:
    result = _dataset_suite(pytester, UNLABELLED_CSV, extra="    unlabelled: drop\n")
    result.assert_outcomes(passed=3)
    document = read_report(pytester)
    (dataset,) = [d for d in document["run"]["datasets"] if d["suite"] == "suites/bad.yaml"]
    assert dataset["rows"] == 2 and dataset["dropped_unlabelled"] == 2
    assert dataset["path"] == str(pytester.path / "suites" / "other.csv")
    assert len(dataset["sha256"]) == 64
    bad = checks_by_nodeid(document)["suites/bad.yaml::accuracy[dev]"]
    assert bad["sample_size"] == 2


def test_a_latin1_file_names_the_encoding_option(pytester: pytest.Pytester) -> None:
    latin1 = "text,label\ncaf\u00e9 good,positive\nbad,negative\n".encode("latin-1")
    result = _dataset_suite(pytester, latin1)
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:6: datasets.dev.encoding: other.csv is not utf-8 (invalid continuation "
        "byte); set encoding, e.g. latin-1 or cp1252",
    ])
    assert _dataset_suite(pytester, latin1, extra="    encoding: latin-1\n").ret == 0


def test_a_check_that_measured_nothing_never_passes(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
from modeltests import CheckParams, CheckResult


class NothingParams(CheckParams):
    kind: str = "nothing"


def pytest_modeltests_register_checks(registry):
    @registry.check("nothing", params=NothingParams, needs_model=False)
    def run(context, params):
        return CheckResult(sample_size=0)
""")
    result = _dataset_suite(pytester, "text,label\ngood,positive\n", checks="  - kind: nothing\n")
    result.stdout.fnmatch_lines([
        "nothing[[]0] failed (suites/bad.yaml:9, n=0)",
        "  sample_size 0 < 1 (the check measured nothing; a gate never passes on zero "
        "samples)  [[]min_sample_size]",
    ])
    result.assert_outcomes(passed=2, failed=1)


def test_dataset_column_and_label_map_mistakes_are_reported_at_once(
        pytester: pytest.Pytester) -> None:
    result = _dataset_suite(pytester, "txt,lbl\ngood,1\nbad,0\n",
                            extra="    label_map: {0: negative, 1: positive, 2: neutral}\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:6: datasets.dev.text_column: column 'text' not found in other.csv; "
        "did you mean 'txt'? (columns: txt, lbl)",
        "suites/bad.yaml:6: datasets.dev.label_column: column 'label' not found in other.csv; "
        "did you mean 'lbl'? (columns: txt, lbl)",
    ])
    result = _dataset_suite(pytester, "text,label\ngood,1\nbad,0\n",
                            extra="    label_map: {0: negative, 1: positive, 2: neutral}\n")
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:8: datasets.dev.label_map: key(s) '2' match no label in column 'label' "
        "of other.csv (labels found: 0, 1)",
    ])
    result.assert_outcomes(passed=2, errors=1)


def test_a_huge_input_is_clipped_in_the_reports(pytester: pytest.Pytester) -> None:
    huge = "x" * 1_000_000 + " not good"
    result = _dataset_suite(pytester, f"text,label\n{huge},negative\nbad,negative\n",
                            checks="  - kind: accuracy\n    dataset: dev\n    min_accuracy: 0.9\n")
    result.assert_outcomes(passed=2, failed=1)
    entry = checks_by_nodeid(read_report(pytester))["suites/bad.yaml::accuracy[dev]"]
    (example,) = entry["examples"]
    assert example["text"].endswith("… [clipped: 1,000,009 characters in all]")
    assert len(example["text"]) < 1100
    assert (pytester.path / "reports" / "modeltests.html").stat().st_size < 200_000


def test_suites_outside_the_suite_folders_are_named_with_how_to_collect_them(
        pytester: pytest.Pytester) -> None:
    make_project(pytester)
    write_suite(pytester, "gates/extra.yaml", CALLABLE_HEAD + "  - kind: availability\n")
    write_suite(pytester, "gates/not_a_suite.yaml", "name: something else\nitems: [1, 2]\n")
    result = pytester.runpytest(".", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "modeltests: gates/extra.yaml look(s) like suites but were not collected: their folder "
        "is not in modeltests_suite_dirs (suites). Add it there in your pytest configuration, "
        "or name the file on the command line.",
    ])
    assert "not_a_suite" not in result.stdout.str()
    result.assert_outcomes(passed=2)


def test_lone_surrogates_and_bidi_overrides_are_inert_and_visible_in_every_report(
        pytester: pytest.Pytester) -> None:
    """Issue 25, case 5: a lone surrogate (a YAML ``\\ud800`` escape) and a right-to-left
    override (U+202E) in a check name and a behaviour template: pytest sets the item up, the
    HTML is written and shows both as escapes (no raw override reverses a cell), the JSON keeps
    the tested text, and the terminal shows escapes."""
    make_project(pytester, CALLABLE_HEAD + """  - kind: behavior
    name: "odd\\ud800name\\u202Eevil"
    template: "a \\ud800 {pos_adj} \\u202Egood movie"
    lexicons: {pos_adj: [great]}
    expected: negative
    min_pass_rate: 0.9
""", name="odd")
    result = pytester.runpytest("suites/")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        lit("behavior[odd\\ud800name\\u202eevil] failed (suites/odd.yaml:9, n=1)"),
        lit("    - 'a \\ud800 great \\u202egood movie' expected negative predicted positive (p=0.80)"),
        lit("suites/odd.yaml  behavior[odd\\ud800name\\u202eevil]  FAIL*"),
    ])
    html = (pytester.path / "reports" / "modeltests.html").read_text(encoding="utf-8")
    assert "\u202e" not in html
    assert "a \\ud800 great \\u202egood movie" in html
    assert "behavior[odd\\ud800name\\u202eevil]" in html
    (entry,) = read_report(pytester)["checks"]
    assert entry["examples"][0]["text"] == "a \ud800 great \u202egood movie"


def test_a_jsonl_lone_surrogate_is_refused_with_its_line(pytester: pytest.Pytester) -> None:
    """pandas would drop ``\\ud800`` silently, so the tested text would differ from the file."""
    make_project(pytester, CALLABLE_HEAD.replace("data.csv", "rows.jsonl") + """  - kind: accuracy
    dataset: dev
""", name="lone")
    (pytester.path / "suites" / "rows.jsonl").write_text(
        '{"text": "good \\ud83d\\ude00", "label": "positive"}\n'
        '{"text": "bad \\ud800 movie", "label": "negative"}\n', encoding="utf-8")
    result = pytester.runpytest("suites/")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "suites/lone.yaml:7: datasets.dev.path: rows.jsonl file line(s) 2: a lone surrogate "
        "escape (e.g. \\ud800) is not a character, and the JSON reader would drop it, so the "
        "text tested would differ from the file; remove it or write the character it stands for",
    ])


def test_a_seed_out_of_numpys_range_is_a_located_error_at_load(pytester: pytest.Pytester) -> None:
    """Issue 25, case 7: ``seed: -1`` used to reach numpy inside a check (an internal error
    with no suite line), and ``2**70`` was accepted silently."""
    result = run_with_good_suite(pytester, CALLABLE_MODEL + """defaults:
  seed: -1
checks:
  - kind: behavior
    template: "a {pos_adj} movie"
    expected: positive
    seed: 1180591620717411303424
""")
    # Under pytest the check's own problem comes first, then the suite's (issue 26, item 10).
    result.stdout.fnmatch_lines([
        "suites/bad.yaml:14: checks[[]0].seed: must be an integer in [[]0, 4294967295] "
        "(got 1180591620717411303424)",
        "suites/bad.yaml:9: defaults.seed: must be an integer in [[]0, 4294967295] (got -1)",
    ])
    result.assert_outcomes(passed=2, errors=1)
    validate = pytester.run(sys.executable, "-m", "modeltests", "validate", "suites/bad.yaml")
    assert validate.ret != 0
    validate.stdout.fnmatch_lines(["suites/bad.yaml:9: defaults.seed: must be an integer in *"])
