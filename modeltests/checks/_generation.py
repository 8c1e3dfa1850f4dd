"""What the answer-checking generative kinds share: the prompts they read, the request they
generate with, and the located errors about both.

``completion``, ``format``, ``degeneration`` and ``generation_robustness`` read their prompts from
a dataset under ``datasets:`` (its ``text_column``; ``completion`` also its ``label_column`` as the
expected answer) or, for the kinds that need no answer, from an inline ``prompts:`` list. An empty
prompt in a file is a located error naming the rows (a prompt must say something); a
``max_new_tokens`` the model's context cannot hold is a located error before the model runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from modeltests.context import CheckContext
from modeltests.data.inputs import TextPair
from modeltests.errors import DatasetError
from modeltests.result import SeededParams
from modeltests.support.text import clip

if TYPE_CHECKING:
    from modeltests.adapters.generation import Generation, GenerationRequest
    from modeltests.data.datasets import Dataset


class GenerationParams(SeededParams):
    """Parameters of a kind that generates from prompts (greedy unless it samples)."""

    max_new_tokens: int = Field(
        default=32, ge=1, description="Most tokens generated per prompt (at least 1; the "
        "prompt plus these must fit the model's context).")
    stop: list[str] = Field(
        default_factory=list, description="Strings that end a generation early (cut from the "
        "text). A stop string the model never produces is harmless: generation then ends at "
        "end-of-text or max_new_tokens.")


class PromptSource(GenerationParams):
    """Prompts from a dataset (its text column) or listed inline."""

    dataset: str | None = Field(
        default=None, description="Name of a dataset under 'datasets:' whose text column holds "
        "the prompts (one generation per row).")
    prompts: list[str] | None = Field(
        default=None, min_length=1, description="Prompts listed here, instead of a dataset.")


@dataclass(frozen=True)
class Prompts:
    """The prompts a check generates from, the expected answers (None where a row has none;
    empty for inline prompts) and the dataset they came from (None inline)."""

    texts: list[str]
    answers: list[str | None]
    dataset: Dataset | None = None

    def require_answers(self, context: CheckContext) -> list[str]:
        """Every row's expected answer; rows without one are a located error naming them."""
        missing = [i for i, answer in enumerate(self.answers) if answer is None]
        if self.dataset is None or (missing or not self.answers):
            lines = getattr(self.dataset, "lines", None) or range(1, len(self.texts) + 1)
            shown = ", ".join(str(lines[i]) for i in missing[:10])
            raise context.error("dataset", f"this kind compares outputs with expected answers: "
                                f"{len(missing) or len(self.texts)} row(s) have none"
                                + (f" (file lines {shown})" if shown else "")
                                + "; give the dataset an answer column")
        return [str(answer) for answer in self.answers]


def read_prompts(context: CheckContext, dataset: str | None, inline: list[str] | None,
                 ) -> Prompts:
    """The check's prompts: ``inline`` or the named dataset's text column; a dataset of text
    pairs, an empty prompt, or neither source is a located error."""
    if inline is not None and dataset is not None:
        raise context.error("prompts", "set either 'dataset' or 'prompts', not both")
    if inline is not None:
        empty = [i for i, text in enumerate(inline) if not text.strip()]
        if empty:
            raise context.error("prompts", f"prompt(s) {', '.join(map(str, empty[:10]))} are "
                                "empty; a prompt must say something")
        return Prompts(list(inline), [])
    if dataset is None:
        raise context.error("dataset", "name a dataset under 'datasets:' (its text column "
                            "holds the prompts) or list 'prompts:'")
    rows = context.dataset(dataset)
    texts: list[str] = []
    for text in rows.texts:
        if isinstance(text, TextPair):
            raise context.error("dataset", f"dataset {dataset!r} has two text columns; a "
                                "prompt is one text (set text_column to one column)")
        texts.append(text)
    empty = [i for i, text in enumerate(texts) if not text.strip()]
    if empty:
        shown = ", ".join(str(i + 1) for i in empty[:10])
        more = f" and {len(empty) - 10} more" if len(empty) > 10 else ""
        raise DatasetError(f"{context.location('dataset')}: datasets.{dataset}: {len(empty)} "
                           f"prompt(s) of {rows.path.name} are empty (rows {shown}{more}, "
                           f"column {rows.text_columns[0]!r}); a prompt must say something: "
                           "fill them in or remove those rows")
    # A prompt dataset (prompt_column) keeps its answers apart; a labelled one in its labels.
    answers: list[str | None] = list(getattr(rows, "answers", None) or rows.labels)
    return Prompts(texts, answers, rows)


def request_for(context: CheckContext, params: GenerationParams, temperature: float = 0.0,
                seed: int | None = None) -> GenerationRequest:
    """The request of ``params`` (greedy unless ``temperature`` > 0), after checking that
    ``max_new_tokens`` leaves room in the model's context for a prompt."""
    from modeltests.adapters.generation import GenerationRequest

    limit = context.generator().max_context
    if limit is not None and params.max_new_tokens >= limit:
        raise context.error("max_new_tokens", f"{params.max_new_tokens} tokens do not fit the "
                            f"model's context of {limit} tokens with any prompt; set it below "
                            f"{limit}")
    return GenerationRequest(max_new_tokens=params.max_new_tokens, stop=tuple(params.stop),
                             temperature=temperature, seed=seed)


def generation_example(prompt: str, generation: Generation, **extra: Any) -> dict[str, Any]:
    """A report example: the prompt, what the model wrote and why it stopped."""
    return {"prompt": clip(prompt, 200), "output": clip(generation.text, 300),
            "finish_reason": generation.finish_reason, **extra}
