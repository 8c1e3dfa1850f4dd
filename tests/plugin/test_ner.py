"""Token classification (NER) in suites: token datasets (JSONL and CoNLL), the ``entities``
check's output, and each bad token input as one located message before any model runs.

The model is a user's own tagger registered from ``conftest.py`` (the extension path of
:mod:`modeltests.data.tags`): it tags a capitalised word that is not the first of its sentence
as a person, and Paris or Berlin as places. On :data:`DATA` it finds 4 of the 6 gold entities
and predicts 6: micro P = R = F1 = 4/6; PER P 2/4, R 2/3, F1 4/7; LOC P 2/2, R 2/3, F1 0.8.
"""

from __future__ import annotations

import json
import os

import pytest

from .helpers import assert_no_traceback, lit, read_report

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TAGGER = '''
from typing import Literal

from modeltests import AdapterKind, AdapterParams, ModelAdapter
from modeltests.data.tags import TagPredictions

PLACES = {"Paris", "Berlin"}


class TaggerParams(AdapterParams):
    adapter: Literal["fake-tagger"] = "fake-tagger"


class Tagger(ModelAdapter):
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

    def predict_tags(self, words):
        rows = []
        for sentence in words:
            tags = []
            for i, word in enumerate(sentence):
                if word in PLACES:
                    tags.append("B-LOC")
                elif word[:1].isupper() and i > 0:
                    tags.append("I-PER" if tags and tags[-1] in ("B-PER", "I-PER") else "B-PER")
                else:
                    tags.append("O")
            rows.append(tags)
        return TagPredictions(tags=rows, label_names=self.labels)


class ShortParams(AdapterParams):
    adapter: Literal["short-tagger"] = "short-tagger"


class ShortTagger(Tagger):
    """Drops the last word's tag of sentences longer than three words."""

    def predict_tags(self, words):
        got = super().predict_tags(words)
        got.tags = [t[:-1] if len(t) > 3 else t for t in got.tags]
        return got


def pytest_modeltests_register_adapters(registry):
    registry.add_adapter(AdapterKind("fake-tagger", TaggerParams, lambda params, ctx: Tagger()))
    registry.add_adapter(AdapterKind("short-tagger", ShortParams,
                                     lambda params, ctx: ShortTagger()))
'''

ROWS = [
    (["Anna", "Schmidt", "moved", "to", "Paris", "."], ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]),
    (["She", "met", "John", "in", "Berlin"], ["O", "O", "B-PER", "O", "B-LOC"]),
    (["Yesterday", "Maria", "Garcia", "visited", "Rome"], ["O", "B-PER", "I-PER", "O", "B-LOC"]),
    (["Nothing", "happened", "."], ["O", "O", "O"]),
]

HEAD = """model:
  adapter: fake-tagger
datasets:
  eval:
    path: eval.jsonl
    tokens_column: tokens
    tags_column: tags
checks:
"""


def jsonl(rows: list[tuple[list[str], list[str]]]) -> str:
    return "".join(json.dumps({"tokens": w, "tags": t}) + "\n" for w, t in rows)


def run(pytester: pytest.Pytester, checks: str, rows: list[tuple[list[str], list[str]]] = ROWS,
        head: str = HEAD) -> pytest.RunResult:
    pytester.makeconftest(TAGGER)
    suites = pytester.mkdir("suites")
    (suites / "eval.jsonl").write_text(jsonl(rows))
    (suites / "ner.yaml").write_text(head + checks)
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    return result


def test_entity_scores_pass_with_the_seqeval_figures(pytester: pytest.Pytester) -> None:
    result = run(pytester, "  - kind: entities\n    dataset: eval\n")
    result.stdout.fnmatch_lines([lit("suites/ner.yaml  entities[eval]  PASS     entity_f1=0.667 "
                                     "(P 0.667, R 0.667; LOC 0.800, PER 0.571)")])
    result.assert_outcomes(passed=1)
    check = read_report(pytester)["checks"][0]
    assert check["metrics"]["entity_f1.PER"] == pytest.approx(4 / 7)
    assert check["metrics"]["gold_entities"] == 6
    assert check["metrics"]["sentences"] == 4
    low, high = check["intervals"]["entity_f1"]
    assert low <= 4 / 6 <= high
    assert "Entity F1 per type" in (pytester.path / "reports" / "modeltests.html").read_text()


def test_a_per_type_threshold_fails_with_the_sentences_and_their_spans(
        pytester: pytest.Pytester) -> None:
    result = run(pytester, "  - kind: entities\n    dataset: eval\n"
                           "    min_entity_f1_per_type: {PER: 0.7}\n")
    result.stdout.fnmatch_lines([
        lit("entities[eval] failed (suites/ner.yaml:9, n=4)"),
        lit("  entity_f1.PER 0.571 < 0.700 (95% CI 0.000 to 1.000)  [min_entity_f1.PER]"),
        "  failing examples (2 of 2):",
        "    - 'Anna Schmidt moved to Paris .' expected Anna Schmidt/PER; Paris/LOC predicted "
        "Schmidt/PER; Paris/LOC",
        "    - 'Yesterday Maria Garcia visited Rome' expected Maria Garcia/PER; Rome/LOC predicted "
        "Maria Garcia/PER; Rome/PER",
    ])
    result.assert_outcomes(failed=1)


def test_an_unknown_entity_type_in_a_per_type_threshold(pytester: pytest.Pytester) -> None:
    result = run(pytester, "  - kind: entities\n    dataset: eval\n"
                           "    min_entity_f1_per_type: {ORG: 0.7}\n")
    result.stdout.fnmatch_lines([
        lit("*_ ERROR at setup of entities[eval] (entities check) _*"),
        "suites/ner.yaml:11: checks[[]0].min_entity_f1_per_type: unknown entity type(s) 'ORG' "
        "(the model's types: LOC, PER)"])
    result.assert_outcomes(errors=1)


def test_an_i_tag_after_o_is_not_iob2(pytester: pytest.Pytester) -> None:
    rows = [ROWS[0], (ROWS[1][0], ["O", "O", "I-PER", "O", "B-LOC"]), *ROWS[2:]]
    result = run(pytester, "  - kind: entities\n    dataset: eval\n", rows)
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:7: datasets.eval: 1 problem(s) in eval.jsonl (tags must be strict IOB2: "
        "O, B-TYPE, I-TYPE after B-TYPE or I-TYPE; one tag per token):",
        "  row 2 (line 2): tag 'I-PER' at word 2 follows 'O' (an I- tag must continue B-PER or "
        "I-PER)"])
    result.assert_outcomes(errors=1)


def test_token_and_tag_counts_differ(pytester: pytest.Pytester) -> None:
    rows = [*ROWS[:2], (ROWS[2][0], ROWS[2][1][:4]), (ROWS[3][0], ["O", "X-PER", "O"])]
    result = run(pytester, "  - kind: entities\n    dataset: eval\n", rows)
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:7: datasets.eval: 2 problem(s) in eval.jsonl *",
        "  row 3 (line 3): 5 tokens but 4 tags",
        "  row 4 (line 4): tag 'X-PER' at word 1 is not O, B-TYPE or I-TYPE"])
    result.assert_outcomes(errors=1)


def test_a_conll_word_without_a_tag(pytester: pytest.Pytester) -> None:
    head = HEAD.replace("eval.jsonl\n    tokens_column: tokens\n    tags_column: tags",
                        "eval.conll\n    format: conll")
    pytester.makeconftest(TAGGER)
    suites = pytester.mkdir("suites")
    (suites / "eval.conll").write_text("-DOCSTART- O\n\nAnna B-PER\nmoved O\n\nShe O\nmet O\n"
                                       "Paris\n")
    (suites / "ner.yaml").write_text(head + "  - kind: entities\n    dataset: eval\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:5: datasets.eval: 1 problem(s) in eval.conll (tags must be strict IOB2: "
        "O, B-TYPE, I-TYPE after B-TYPE or I-TYPE; one tag per token):",
        "  sentence 2 (line 6): 3 tokens but 2 tags"])
    result.assert_outcomes(errors=1)


def test_dataset_tags_the_model_lacks_name_both_sets(pytester: pytest.Pytester) -> None:
    rows = [*ROWS, (["Acme", "hired", "Tom"], ["B-ORG", "O", "B-PER"])]
    result = run(pytester, "  - kind: entities\n    dataset: eval\n", rows)
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:4: datasets.eval: tag(s) 'B-ORG' are not labels of the model (dataset "
        "tags: B-LOC, B-ORG, B-PER, I-PER, O; model labels: O, B-PER, I-PER, B-LOC, I-LOC)"])
    result.assert_outcomes(errors=1)


def test_tokens_column_needs_tags_column(pytester: pytest.Pytester) -> None:
    head = HEAD.replace("    tags_column: tags\n", "")
    result = run(pytester, "  - kind: entities\n    dataset: eval\n", head=head)
    result.stdout.fnmatch_lines([
        "*suites/ner.yaml:4: datasets.eval: a token dataset needs both 'tokens_column' and "
        "'tags_column'*"])
    result.assert_outcomes(errors=1)


def test_entities_on_a_sentence_dataset_names_the_dataset_keys(
        pytester: pytest.Pytester) -> None:
    head = HEAD.replace("eval.jsonl\n    tokens_column: tokens\n    tags_column: tags",
                        "eval.csv\n    text_column: text\n    label_column: label")
    pytester.makeconftest(TAGGER)
    suites = pytester.mkdir("suites")
    (suites / "eval.csv").write_text("text,label\nAnna moved,O\n")
    (suites / "ner.yaml").write_text(head + "  - kind: entities\n    dataset: eval\n")
    result = pytester.runpytest("suites/", "-p", "no:cacheprovider")
    assert_no_traceback(result.stdout.str())
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:10: checks[[]0].dataset: 'eval' is not a token dataset (set "
        "tokens_column and tags_column, or format: conll, under datasets)"])
    result.assert_outcomes(failed=1)


def test_entity_invariance_keeps_spans_of_swapped_places(pytester: pytest.Pytester) -> None:
    result = run(pytester, "  - kind: entity_invariance\n    dataset: eval\n"
                           "    swaps: {LOC: [Berlin, Paris]}\n    min_pass_rate: 0.9\n")
    # Paris <-> Berlin keep their spans; Rome was tagged PER, its swap is tagged LOC: a change.
    result.stdout.fnmatch_lines([
        lit("entity_invariance[eval] failed (suites/ner.yaml:9, n=3)"),
        lit("  pass_rate 0.667 < 0.900 (95% CI 0.208 to 0.939)  [min_pass_rate]"),
        "  failing examples (1 of 1):",
        "    - 'Yesterday Maria Garcia visited Rome' -> 'Yesterday Maria Garcia visited *' "
        "expected Maria Garcia/PER; Rome/PER predicted Maria Garcia/PER; */LOC"])
    result.assert_outcomes(failed=1)


def test_availability_on_a_tagger_tries_edge_sentences(pytester: pytest.Pytester) -> None:
    result = run(pytester, "  - kind: availability\n    generated_examples: 5\n")
    result.stdout.fnmatch_lines([lit("suites/ner.yaml  availability[0]  PASS     "
                                     "smoke_pass_rate 1.000 >= 1.000; edge_pass_rate 1.000 >= "
                                     "1.000")])
    check = read_report(pytester)["checks"][0]
    assert "punctuation only" in check["details"]["edge_inputs"]
    assert check["metrics"]["determinism_diff"] == 0.0


def test_build_demo_names_the_built_in_models(pytester: pytest.Pytester) -> None:
    import subprocess
    import sys
    from pathlib import Path

    repository = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "modeltests", "build-demo", "ner-tny"],
                          cwd=pytester.path, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(repository)))
    assert done.returncode == 2
    assert done.stderr == ("modeltests: error: unknown built-in model(s) 'ner-tny' (allowed: "
                           "bert-wide-tiny, bigbird-tiny, digits-cnn, digits-timm, digits-vit, "
                           "gpt-tiny, ner-tiny, nli-tiny, sentiment-minilm, smollm2-135m)\n")


def test_label_map_renames_dataset_tags(pytester: pytest.Pytester) -> None:
    rows = [(w, [t.replace("PER", "PERSON") for t in tags]) for w, tags in ROWS]
    head = HEAD.replace("    tags_column: tags\n",
                        "    tags_column: tags\n    label_map: {B-PERSON: B-PER, I-PERSON: I-PER}\n")
    result = run(pytester, "  - kind: entities\n    dataset: eval\n", rows, head)
    result.stdout.fnmatch_lines([lit("suites/ner.yaml  entities[eval]  PASS     entity_f1=0.667 "
                                     "(P 0.667, R 0.667; LOC 0.800, PER 0.571)")])


def test_a_tagger_answering_too_few_tags_is_named(pytester: pytest.Pytester) -> None:
    head = HEAD.replace("fake-tagger", "short-tagger")
    result = run(pytester, "  - kind: entities\n    dataset: eval\n"
                           "  - kind: availability\n    generated_examples: 0\n", head=head)
    result.stdout.fnmatch_lines([
        "suites/ner.yaml:9: sentence 0: 5 tags for 6 words",
        lit("availability[1] failed (suites/ner.yaml:11, n=14)"),
        "  smoke_pass_rate 0.000 < 1.000  [min_smoke_pass_rate]",
        "  edge_pass_rate 0.455 < 1.000  [min_edge_pass_rate]",
        "  determinism_diff inf > 1.00e-06  [max_determinism_diff]",
        lit("    - [1,800 words (past max_length)] 'Anna met John in Berlin and they talked . "
            "Anna met John in Berlin and…' error: ModelOutputError: sentence 0: 1799 tags for "
            "1800 words")])
    result.assert_outcomes(failed=2)
