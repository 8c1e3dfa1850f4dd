"""``generation_robustness``: does a generator still answer right when the prompt is perturbed?

For each perturbation (typos, case, whitespace, punctuation, contractions, homoglyphs, WordNet
synonyms: :mod:`modeltests.perturb.prompts`), every prompt it applies to is generated greedily
twice, as written and perturbed. ``match_drop`` is the match rate on the prompts as written
minus that on their perturbed copies (the same prompts: a paired difference, with Newcombe's
interval, :func:`modeltests.stats.paired.paired_difference_interval`); ``unchanged_rate`` the
share of prompts whose normalised output did not change at all (Wilson). Each perturbation is
gated on its own (scope: its name): one prompt's perturbations are not independent of each
other, so they are never pooled.

A kind of its own rather than ``robustness`` dispatching on the model: ``robustness`` searches
for adversarial examples against a classifier's labels with TextAttack (recipes, goal functions,
query budgets), none of which applies to generated text, and its keys would mean nothing here.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from modeltests.checks._generation import read_prompts, request_for
from modeltests.checks.completion import AnswerParams, answer_matcher, normalise
from modeltests.context import CheckContext
from modeltests.extend.registry import CheckKind
from modeltests.perturb.prompts import NEEDS_WORDNET, PromptPerturbation, perturb_prompt
from modeltests.result import CheckResult, threshold
from modeltests.support.text import clip


class GenerationRobustnessParams(AnswerParams):
    """The drop in match rate, and the share of unchanged answers, under perturbed prompts."""

    kind: str = "generation_robustness"
    perturbations: list[PromptPerturbation] = Field(
        default_factory=lambda: list[PromptPerturbation](["typos", "case", "whitespace",
                                                           "homoglyphs"]),
        min_length=1, description="Perturbations applied, each gated on its own: typos (two "
        "neighbouring letters swapped), case (all lower, or upper), whitespace (a space "
        "doubled), punctuation (final mark removed or added), contractions, homoglyphs (one "
        "letter in ten for a look-alike of another script), synonyms (one word for a WordNet "
        "synonym; needs WordNet).")
    wordnet_dir: str | None = Field(
        default=None, description="With synonyms: a folder of WordNet 3.0 dict files, when "
        "NLTK has no WordNet (default: $WNSEARCHDIR, else /usr/share/wordnet).")
    max_match_drop: float | None = threshold(
        "Largest drop in match rate under each perturbation (as written minus perturbed, on "
        "the prompts it applies to).", ge=-1, le=1)
    min_unchanged_rate: float | None = threshold(
        "Lowest share of prompts whose normalised greedy output is the same under each "
        "perturbation.", ge=0, le=1)

    @field_validator("perturbations")
    @classmethod
    def _once_each(cls, value: list[PromptPerturbation]) -> list[PromptPerturbation]:
        repeated = sorted({p for p in value if value.count(p) > 1})
        if repeated:
            raise ValueError(f"perturbation(s) listed twice: {', '.join(repeated)}")
        return value


def run_generation_robustness(context: CheckContext, params: GenerationRobustnessParams
                              ) -> CheckResult:
    from modeltests.stats.paired import paired_difference_interval
    from modeltests.stats.proportions import wilson_interval

    prompts = read_prompts(context, params.dataset, None)
    assert prompts.dataset is not None
    answers = prompts.require_answers(context)
    matches = answer_matcher(context, params, answers)
    request = request_for(context, params)
    original = context.generate(prompts.texts, request, description="prompts as written")
    right = [matches(i, g.text) for i, g in enumerate(original)]
    n = len(original)
    result = CheckResult(sample_size=n, metrics={"match_rate": sum(right) / n},
                         intervals={"match_rate": wilson_interval(sum(right), n)},
                         interval_methods={"match_rate": "wilson"})
    result.details = {"perturbations": {}, "match": params.match,
                      "normalize": list(params.normalize)}
    for name in params.perturbations:
        changed = {i: text for i, text in ((i, perturb_prompt(t, name, context.seed))
                                           for i, t in enumerate(prompts.texts))
                   if text is not None}
        rows = sorted(changed)
        entry: dict[str, Any] = {"applied": len(rows)}
        result.details["perturbations"][name] = entry
        if not rows:
            result.warnings.append(f"{name}: applies to none of the {n} prompts")
            continue
        after = context.generate([changed[i] for i in rows], request, description=name)
        before_right = [right[i] for i in rows]
        after_right = [matches(i, g.text) for i, g in zip(rows, after)]
        same = [normalise(original[i].text, params.normalize) == normalise(g.text,
                                                                           params.normalize)
                for i, g in zip(rows, after)]
        gain_low, gain_high = paired_difference_interval(before_right, after_right)
        metrics = {"match_drop": (sum(before_right) - sum(after_right)) / len(rows),
                   "unchanged_rate": sum(same) / len(rows), "prompts": float(len(rows))}
        intervals = {"match_drop": (-gain_high, -gain_low),
                     "unchanged_rate": wilson_interval(sum(same), len(rows))}
        methods = {"match_drop": "newcombe", "unchanged_rate": "wilson", "prompts": "exact"}
        thresholds = context.evaluate(metrics, intervals, scope=name, methods=methods)
        result.warn_unresolved(thresholds, len(rows))
        result.thresholds.extend(thresholds)
        for metric, value in metrics.items():
            if metric != "prompts":
                result.metrics[f"{name}.{metric}"] = value
                result.intervals[f"{name}.{metric}"] = intervals[metric]
                result.interval_methods[f"{name}.{metric}"] = methods[metric]
        entry.update(metrics, broke=sum(b and not a for b, a in zip(before_right, after_right)),
                     fixed=sum(a and not b for b, a in zip(before_right, after_right)))
        for i, g, ok_before, ok_after in zip(rows, after, before_right, after_right):
            if ok_before and not ok_after and len(result.examples) < context.max_examples:
                result.examples.append({
                    "input": name, "prompt": clip(prompts.texts[i], 200),
                    "perturbed": clip(changed[i], 200), "output": clip(original[i].text, 200),
                    "perturbed_output": clip(g.text, 200),
                    "expected": answers[i]})
    return result


def prepare_generation_robustness(context: CheckContext, params: GenerationRobustnessParams
                                  ) -> None:
    """Setup: the prompts, max_new_tokens and (for synonyms) WordNet, before the model runs."""
    read_prompts(context, params.dataset, None).require_answers(context)
    request_for(context, params)
    if any(p in NEEDS_WORDNET for p in params.perturbations):
        from modeltests.errors import MissingResourceError
        from modeltests.perturb.textattack.offline import require_wordnet

        folder = context.resolve_path(params.wordnet_dir) if params.wordnet_dir else None
        try:
            require_wordnet("perturbation 'synonyms'", folder)
        except MissingResourceError as exc:
            raise context.error("perturbations", str(exc)) from None


CHECK_KINDS = [CheckKind("generation_robustness", GenerationRobustnessParams,
                         run_generation_robustness,
                         "drop in match rate and unchanged answers under perturbed prompts "
                         "(typos, case, whitespace, homoglyphs, synonyms)",
                         prepare=prepare_generation_robustness, task="generation")]
