"""The demo suite's language-model data as a suite body (perplexity over the stories, choice
over the quiz), shared by the tests that compare modeltests' scores with another's."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "suites" / "data"

PERPLEXITY_AND_CHOICE = f"""datasets:
  stories:
    path: {DATA}/lm_documents.jsonl
    document_column: text
  quiz:
    path: {DATA}/lm_choice.jsonl
    prompt_column: prompt
    choices_column: choices
    answer_column: answer
checks:
  - kind: perplexity
    dataset: stories
  - kind: choice
    dataset: quiz
"""
