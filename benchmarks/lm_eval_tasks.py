"""lm-evaluation-harness (``lm-eval`` 0.4.13) on local JSONL files, in-process: the task files
and the call that the anchor test (tests/real/test_lm_eval_anchor.py) and the benchmark
(benchmarks/lm_eval_compare.py) share.

Three tasks over the same files modeltests reads: ``mt_docs`` (``loglikelihood_rolling``:
word_perplexity, byte_perplexity, bits_per_byte), ``mt_choice`` (``multiple_choice``: acc,
acc_norm) and ``mt_answers`` (``generate_until`` with the stop string, greedy: exact_match).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TASKS = ("mt_docs", "mt_choice", "mt_answers")


def write_tasks(folder: Path, documents: Path, choice: Path, answers: Path, stop: str,
                max_new_tokens: int) -> Path:
    """The three task files (JSON is YAML) in ``folder``; returns it (lm-eval's include_path)."""
    folder.mkdir(parents=True, exist_ok=True)

    def data(path: Path) -> dict[str, Any]:
        return {"dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(path)}},
                "test_split": "test"}

    tasks = {
        "mt_docs": {**data(documents), "output_type": "loglikelihood_rolling",
                    "doc_to_text": "", "doc_to_target": "{{text}}",
                    "metric_list": [{"metric": m} for m in
                                    ("word_perplexity", "byte_perplexity", "bits_per_byte")]},
        "mt_choice": {**data(choice), "output_type": "multiple_choice",
                      "doc_to_text": "{{prompt}}", "doc_to_choice": "{{choices}}",
                      "doc_to_target": "{{answer}}",
                      "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]},
        "mt_answers": {**data(answers), "output_type": "generate_until",
                       "doc_to_text": "{{prompt}}", "doc_to_target": "{{answer}}",
                       "generation_kwargs": {"until": [stop], "max_gen_toks": max_new_tokens,
                                             "do_sample": False},
                       "metric_list": [{"metric": "exact_match"}]},
    }
    for name, body in tasks.items():
        (folder / f"{name}.yaml").write_text(json.dumps({"task": name, **body}, indent=1))
    return folder


def run_lm_eval(model_dir: Path, folder: Path, tasks: tuple[str, ...] = TASKS,
                batch_size: int = 16) -> dict[str, dict[str, float]]:
    """``lm_eval.simple_evaluate`` with ``model="hf"`` on ``model_dir`` (CPU, float32): each
    task's metrics by name (lm-eval's ``"acc,none"`` keys cut at the comma)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    output = simple_evaluate(model="hf", model_args=f"pretrained={model_dir},dtype=float32",
                             tasks=list(tasks), task_manager=TaskManager(include_path=str(folder)),
                             batch_size=batch_size, device="cpu", log_samples=False)
    assert output is not None
    return {task: {key.split(",")[0]: float(value) for key, value in metrics.items()
                   if isinstance(value, (int, float)) and not key.split(",")[0].endswith("stderr")}
            for task, metrics in output["results"].items()}
