"""The answer-checking generative kinds on ``builtin:gpt-tiny``, whose corpus is the ground truth:
each number the check reports is computed again here by a greedy loop over the model's logits
(``from_pretrained``, no modeltests code), and the verdicts follow from it (PASS on the
capitals, FAIL against a bar no 100 questions can clear under gate: bound, undecided with the
limit inside the interval)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# pytester's in-process runs drop modules first imported inside them; torch and transformers
# imported again in a later run fail (SystemError), so they load here once.
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

# builtin:gpt-tiny, its corpus and the gpt_tiny_dir fixture come with gen-core's branch.
pytest.importorskip("modeltests.demo.gpt_tiny", reason="builtin:gpt-tiny is not in this checkout")

from modeltests.demo.lm_corpus import capital_questions, sums  # noqa: E402
from modeltests.stats.proportions import wilson_interval  # noqa: E402

pytestmark = pytest.mark.real

HEAD = """model:
  adapter: transformers
  path: {model}
  task: text-generation
datasets:
  capitals:
    path: capitals.jsonl
    prompt_column: prompt
    answer_column: answer
  sums:
    path: sums.jsonl
    prompt_column: prompt
    answer_column: answer
checks:
"""


def greedy(model_dir: Path, prompts: list[str], max_new_tokens: int, cut: bool = True
           ) -> Any:
    """Each prompt's greedy continuation, one token at a time from the logits, cut at the
    end-of-text token and (``cut``) at " .": the reference the checks are held to; without
    ``cut``, (tokens generated, text) per prompt."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    out = []
    for prompt in prompts:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        new: list[int] = []
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                logits = model(torch.tensor([ids + new])).logits[0, -1]
                token = int(logits.argmax())
                if token == tokenizer.eos_token_id:
                    break
                new.append(token)
        text = tokenizer.decode(new, skip_special_tokens=True,
                                clean_up_tokenization_spaces=False)
        out.append(text.split(" .")[0] if cut else (len(new), text))
    return out


def write_data(folder: Path) -> None:
    for name, rows in (("capitals", capital_questions()), ("sums", sums())):
        (folder / f"{name}.jsonl").write_text("".join(
            json.dumps({"prompt": p, "answer": a}) + "\n" for p, a in rows))


def run(pytester: pytest.Pytester, model: Path, checks: str, extra_head: str = ""
        ) -> tuple[pytest.RunResult, dict[str, Any]]:
    folder = pytester.mkdir("suites")
    write_data(folder)
    (folder / "lm.yaml").write_text(extra_head + HEAD.format(model=model) + checks)
    result = pytester.runpytest("suites/lm.yaml", "-p", "no:cacheprovider")
    assert "Traceback" not in result.stdout.str()
    report = json.loads((pytester.path / "reports" / "modeltests.json").read_text())
    return result, {entry["nodeid"]: entry for entry in report["checks"]}


def test_completion_matches_a_greedy_loop_on_the_capitals_and_the_sums(
        pytester: pytest.Pytester, gpt_tiny_dir: Path) -> None:
    capitals = capital_questions()
    total = sums()
    got_capitals = greedy(gpt_tiny_dir, [p for p, _ in capitals], 4)
    got_sums = greedy(gpt_tiny_dir, [p for p, _ in total], 4)
    right_capitals = sum(g.strip() == a for g, (_, a) in zip(got_capitals, capitals))
    right_sums = sum(g.strip() == a for g, (_, a) in zip(got_sums, total))
    low, high = wilson_interval(right_sums, len(total))
    inside = round((low + high) / 2, 3)  # a limit inside the sums' interval: undecided
    result, entries = run(pytester, gpt_tiny_dir, f"""  - kind: completion
    dataset: capitals
    max_new_tokens: 4
    stop: [" ."]
    min_match_rate: 0.8
  - kind: completion
    name: sums-high-bar
    dataset: sums
    max_new_tokens: 4
    stop: [" ."]
    min_match_rate: 0.999
  - kind: completion
    name: sums-undecided
    dataset: sums
    max_new_tokens: 4
    stop: [" ."]
    gate: estimate
    min_match_rate: {inside}
""")
    capitals_entry = entries["suites/lm.yaml::completion[capitals]"]
    assert capitals_entry["metrics"]["match_rate"] == pytest.approx(right_capitals / 18)
    # gate: bound (the default): the verdict is the Wilson lower bound against 0.8.
    passes = wilson_interval(right_capitals, len(capitals))[0] >= 0.8
    assert capitals_entry["outcome"] == ("passed" if passes else "failed")
    high_bar = entries["suites/lm.yaml::completion[sums-high-bar]"]
    assert high_bar["metrics"]["match_rate"] == pytest.approx(right_sums / len(total))
    # gate: bound: no Wilson lower bound of 100 questions reaches 0.999, whatever was right.
    assert wilson_interval(right_sums, len(total))[0] < 0.999
    assert high_bar["outcome"] == "failed"
    undecided = entries["suites/lm.yaml::completion[sums-undecided]"]
    assert [t["state"] for t in undecided["thresholds"]] == ["undecided"]
    assert undecided["thresholds"][0]["interval"] == pytest.approx([low, high])
    result.stdout.fnmatch_lines(["*min_match_rate*"])


def test_pass_at_k_with_samples_on_the_sums(pytester: pytest.Pytester,
                                             gpt_tiny_dir: Path) -> None:
    _, entries = run(pytester, gpt_tiny_dir, """  - kind: completion
    dataset: sums
    max_new_tokens: 4
    stop: [" ."]
    samples: 4
    k: 4
    temperature: 1.0
    seed: 3
""")
    entry = entries["suites/lm.yaml::completion[sums]"]
    metrics = entry["metrics"]
    # pass@4 of 4 samples is the share of prompts with any right sample: at least pass@1.
    assert 0 < metrics["match_rate"] <= metrics["pass_at_k"] <= 1
    low, high = entry["intervals"]["pass_at_k"]
    assert low <= metrics["pass_at_k"] <= high


def test_degeneration_against_the_same_model_as_reference(pytester: pytest.Pytester,
                                                          gpt_tiny_dir: Path) -> None:
    """The reference run is the same model under another name: the same greedy lengths, a
    ratio of exactly 1 (inside MLPerf's band), and lengths that match the greedy loop."""
    prompts = [p for p, _ in capital_questions()][:6]
    quoted = ", ".join(json.dumps(p) for p in prompts)
    checks = f"""  - kind: degeneration
    prompts: [{quoted}]
    max_new_tokens: 12
    reference_model: again
    min_length_ratio: 0.9
    max_length_ratio: 1.1
"""
    models = f"models:\n  again:\n    adapter: transformers\n    path: {gpt_tiny_dir}\n" \
             "    task: text-generation\n"
    _, entries = run(pytester, gpt_tiny_dir, checks, extra_head=models)
    entry = entries["suites/lm.yaml::degeneration[0]"]
    expected = greedy(gpt_tiny_dir, prompts, 12, cut=False)
    assert entry["details"]["lengths"] == [n for n, _ in expected]
    assert entry["metrics"]["length_ratio"] == 1.0
    assert entry["outcome"] == "passed"


def test_generation_robustness_on_the_capitals(pytester: pytest.Pytester,
                                               gpt_tiny_dir: Path) -> None:
    """The paired drop under each perturbation equals the greedy loop's on the same perturbed
    prompts (gpt-tiny's tokenizer lower-cases, so ``case`` changes nothing; typos make unknown
    words)."""
    from modeltests.perturb.prompts import PromptPerturbation, perturb_prompt

    capitals = capital_questions()
    before = [g.strip() == a for g, (_, a) in
              zip(greedy(gpt_tiny_dir, [p for p, _ in capitals], 4), capitals)]
    _, entries = run(pytester, gpt_tiny_dir, """  - kind: generation_robustness
    dataset: capitals
    max_new_tokens: 4
    stop: [" ."]
    seed: 0
    perturbations: [case, typos]
    max_match_drop: 0.2
""")
    entry = entries["suites/lm.yaml::generation_robustness[capitals]"]
    names: list[PromptPerturbation] = ["case", "typos"]
    for name in names:
        changed = {i: perturb_prompt(p, name, 0) for i, (p, _) in enumerate(capitals)}
        rows = [i for i, text in changed.items() if text is not None]
        after = greedy(gpt_tiny_dir, [str(changed[i]) for i in rows], 4)
        drop = sum(before[i] for i in rows) - sum(
            g.strip() == capitals[i][1] for i, g in zip(rows, after))
        assert entry["metrics"][f"{name}.match_drop"] == pytest.approx(drop / len(rows))
    assert entry["metrics"]["case.match_drop"] == 0.0
    assert entry["metrics"]["case.unchanged_rate"] == 1.0


def test_availability_of_gpt_tiny(pytester: pytest.Pytester, gpt_tiny_dir: Path) -> None:
    result, entries = run(pytester, gpt_tiny_dir, """  - kind: availability
    generated_examples: 5
""")
    entry = entries["suites/lm.yaml::availability[0]"]
    assert entry["outcome"] == "passed", result.stdout.str()
    assert entry["metrics"]["batch_agreement"] == 1.0
    assert entry["details"]["stop_tests"]["stop string never produced"] is True
    assert any("one past the context" in name for name in entry["details"]["edge_inputs"])
