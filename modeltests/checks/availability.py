"""``availability``: the model loads, answers, gives valid outputs on odd inputs, repeatably.

Classifiers (texts or pairs) are checked here; token classifiers in
:mod:`modeltests.checks._tag_availability`, text generators in
:mod:`modeltests.checks._generator_availability`, image classifiers (given a ``dataset`` of
images whose shape the odd images take) in :mod:`modeltests.checks._image_availability`."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from pydantic import Field

from modeltests.adapters.base import Predictions
from modeltests.adapters.generation import is_generator
from modeltests.context import CheckContext
from modeltests.errors import ModelTestsError
from modeltests.data.inputs import SIDES, ModelInput, Side, TextPair, as_display
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold
from modeltests.data.tags import is_tagger

GENERATOR_ONLY = ("max_new_tokens", "context_prompts", "min_batch_agreement",
                  "min_stop_pass_rate", "min_finite_logprob_rate")
"""Parameters that apply to a text generator only."""

SMOKE_INPUTS = [
    "This is a perfectly ordinary sentence.",
    "I really enjoyed it.",
    "It was a complete waste of time.",
]

EDGE_INPUTS: dict[str, str] = {
    "empty string": "",
    "whitespace only": " \t\n  ",
    "20,000 characters": ("The service was fine and the food arrived on time. " * 400)[:20000],
    "single character": "a",
    "digits and symbols": "1234567890 !@#$%^&*() <>?/\\|{}[]",
    "Chinese": "这部电影非常好看，我很喜欢。",
    "Arabic": "كان الفيلم رائعا جدا",
    "Russian": "Фильм был просто ужасен.",
    "Hindi": "यह फिल्म बहुत अच्छी थी।",
    "emoji": "😍🔥👍 loved it 🎉🎉",
    "control characters": "bad\x00input\x07with\x1bcontrol\x7fchars",
    "HTML markup": "<script>alert('x')</script><b>great</b>",
    "repeated token": "good " * 3000,
    "mixed scripts": "Great 很好 отлично ممتاز 👍",
}


class AvailabilityParams(SeededParams):
    """Load, smoke, validity, edge inputs, determinism, batch invariance, generated texts."""

    kind: str = "availability"
    smoke_inputs: list[str] = Field(default_factory=lambda: list(SMOKE_INPUTS), min_length=1)
    extra_edge_inputs: list[str] = Field(default_factory=list,
                                         description="More odd inputs to try, besides the built-in ones.")
    pairs: bool = Field(
        default=False, description="The model classifies text pairs: smoke inputs are paired "
        "with an ordinary sentence, each edge input is tried on the sides in edge_sides, and "
        "generated texts are paired.")
    edge_sides: list[Side] = Field(
        default_factory=lambda: list(SIDES), min_length=1,
        description="With pairs: the sides each edge input is put on (the other side gets an "
        "ordinary sentence; both: the edge input on each side).")
    generated_examples: int = Field(default=40, ge=0, le=2000,
                                    description="Hypothesis-generated texts to try (an image "
                                    "classifier: seeded random images; 0 disables).")
    dataset: str | None = Field(
        default=None, description="An image classifier: a dataset of images under "
        "'datasets:'; its first images are the smoke inputs and the odd images (all black, all "
        "white, NaN pixels, the other channel count, other sizes...) take its shape and "
        "normalisation. Required for an image classifier, an error for any other model.")
    batch_tolerance: float = Field(default=1e-4, ge=0, description="Allowed probability difference "
                                   "between batched and one-by-one outputs when counting agreement.")
    max_load_seconds: float | None = threshold("Slowest acceptable load.", gt=0)
    max_server_cold_start_seconds: float | None = threshold(
        "Slowest acceptable cold start of the suite's serve: server (start to ready).", gt=0)
    min_server_ready: float | None = threshold(
        "1: the serve: server's ready_url must still answer 200 when the check runs.", ge=0, le=1)
    max_parameters: float | None = threshold("Largest parameter count.", gt=0)
    max_size_on_disk_mb: float | None = threshold("Largest size on disk, MB.", gt=0)
    max_load_rss_mb: float | None = threshold("Largest resident memory taken by the load, MB.", gt=0)
    min_smoke_pass_rate: float | None = threshold("Share of smoke inputs answered validly.",
                                                  ge=0, le=1, default=1.0)
    min_edge_pass_rate: float | None = threshold("Share of edge inputs answered validly.",
                                                 ge=0, le=1, default=1.0)
    max_determinism_diff: float | None = threshold(
        "Largest probability change between two identical calls (a generator: the share of "
        "prompts whose greedy tokens differ between two identical calls).", ge=0, default=1e-6)
    max_batch_diff: float | None = threshold(
        "Largest probability difference between batched and one-by-one outputs (a generator: "
        "the largest next-token log-probability change of a text scored alone and inside a "
        "padded batch, in nats).", ge=0, default=1e-4)
    max_new_tokens: int = Field(default=16, ge=1, le=4096, description="A generator: most "
                                "tokens generated per prompt.")
    context_prompts: bool = Field(
        default=True, description="A generator: try prompts that fill its context but "
        "max_new_tokens, exactly fill it, and go one token past it (needs the generator's "
        "max_context and count_tokens; slow on a model with a long context).")
    min_batch_agreement: float | None = threshold(
        "A generator: share of prompts whose greedy tokens are the same alone and inside a "
        "padded batch (default 1).", ge=0, le=1)
    min_stop_pass_rate: float | None = threshold(
        "A generator: share of the stopping tests passed: max_new_tokens of 1, 2 and 5 "
        "respected, a stop string ends the output there, one never produced changes nothing, "
        "no end-of-text text left in the output (default 1).", ge=0, le=1)
    min_finite_logprob_rate: float | None = threshold(
        "A generator: share of texts whose next-token log-probabilities are all finite (no NaN "
        "or infinity; needs token_logprobs; default 1).", ge=0, le=1)
    min_generated_pass_rate: float | None = threshold("Share of generated texts answered validly.",
                                                      ge=0, le=1, default=1.0)


def run_availability(context: CheckContext, params: AvailabilityParams) -> CheckResult:
    """Each aspect is a metric; failures keep the input and the reason as examples."""
    model = context.model()
    record = context.load_record()
    facts = model.describe()
    metrics: dict[str, float] = {"load_seconds": record.seconds}
    if record.server_start_seconds is not None:
        metrics["server_cold_start_seconds"] = record.server_start_seconds
    if record.server is not None:
        from modeltests.serving.server import answers_200

        metrics["server_ready"] = float(answers_200(str(record.server["ready_url"])))
    for source, target, scale in (("parameters", "parameters", 1),
                                  ("size_on_disk_bytes", "size_on_disk_mb", 1e-6)):
        if isinstance(facts.get(source), (int, float)):
            metrics[target] = facts[source] * scale
    if record.rss_delta_bytes is not None:
        metrics["load_rss_mb"] = record.rss_delta_bytes / 1e6
    failures: list[dict[str, Any]] = []
    if is_tagger(model):  # token classification: sentences of words in, tags out
        return _tagger_availability(context, params, metrics, failures, facts)
    if is_generator(model):  # text generation: prompts in, text out
        return _generator_availability(context, params, metrics, failures, facts)
    if getattr(model, "inputs", "text") == "image":  # pixels in, labels out
        return _image_availability(context, params, metrics, failures, facts)
    predict = lambda texts: context.run_model(model, texts)  # noqa: E731
    smoke_inputs = _as_pairs(params.smoke_inputs) if params.pairs else list(params.smoke_inputs)
    smoke = _try_each(predict, {f"smoke {i}": t for i, t in enumerate(smoke_inputs)},
                      model.labels, failures)
    metrics["smoke_pass_rate"] = smoke
    singles = dict(EDGE_INPUTS)
    singles.update({f"extra {i}": t for i, t in enumerate(params.extra_edge_inputs)})
    edges: dict[str, ModelInput] = (_on_sides(singles, params.edge_sides) if params.pairs
                                    else dict(singles))
    metrics["edge_pass_rate"] = _try_each(predict, edges, model.labels, failures)
    texts = smoke_inputs + list(edges.values())[:6]
    metrics.update(_repeatability(predict, texts, params.batch_tolerance, failures))
    generated: list[ModelInput] = list(_generated_texts(params.generated_examples, context.seed))
    if params.pairs:
        generated = [TextPair(str(t), str(generated[-1 - i])) for i, t in enumerate(generated)]
    if generated:
        named = {f"generated {i}": t for i, t in enumerate(generated)}
        metrics["generated_pass_rate"] = _try_each(predict, named, model.labels, failures,
                                                   batched=True)
    result = CheckResult(metrics=metrics, sample_size=len(smoke_inputs) + len(edges)
                         + len(generated))
    _decide(context, params, result, failures, bool(generated))
    result.details = {"model": facts, "edge_inputs": list(edges)}
    if record.server is not None:
        result.details["server"] = record.server
    return result


def _tagger_availability(context: CheckContext, params: AvailabilityParams,
                         metrics: dict[str, float], failures: list[dict[str, Any]],
                         facts: dict[str, Any]) -> CheckResult:
    """The same gates on a token-classification model (:mod:`modeltests.checks._tag_availability`)."""
    from modeltests.checks._tag_availability import tag_validity

    generated = _generated_texts(params.generated_examples, context.seed)
    model = context.model()
    assert is_tagger(model)
    found, details, count = tag_validity(lambda words: context.run_tagger(model, words, locate=False),
                                         list(params.smoke_inputs),
                                         list(params.extra_edge_inputs), generated, failures)
    metrics.update(found)
    result = CheckResult(metrics=metrics, sample_size=count)
    result.interval_methods["bio_valid_rate"] = "exact"
    _decide(context, params, result, failures, bool(generated))
    result.details = {"model": facts, **details}
    return result


def _image_availability(context: CheckContext, params: AvailabilityParams,
                        metrics: dict[str, float], failures: list[dict[str, Any]],
                        facts: dict[str, Any]) -> CheckResult:
    """The same gates on an image classifier (:mod:`modeltests.checks._image_availability`)."""
    from modeltests.checks._image_availability import image_validity
    from modeltests.checks.adversarial import image_dataset

    model = context.model()
    dataset = image_dataset(context, params.dataset or "")
    found, details, count = image_validity(
        dataset, lambda images: context.run_model(model, images), params.generated_examples,
        context.seed, _try_each, _repeatability, model.labels, params.batch_tolerance, failures)
    metrics.update(found)
    result = CheckResult(metrics=metrics, sample_size=count)
    _decide(context, params, result, failures, params.generated_examples > 0)
    result.details = {"model": facts, **details}
    return result


def _generator_availability(context: CheckContext, params: AvailabilityParams,
                            metrics: dict[str, float], failures: list[dict[str, Any]],
                            facts: dict[str, Any]) -> CheckResult:
    """The gates on a text generator (:mod:`modeltests.checks._generator_availability`), with
    its own defaults for the gates only a generator measures."""
    from modeltests.checks._generator_availability import (GENERATOR_DEFAULTS,
                                                           generator_validity)

    model = context.generator()
    generated = _generated_texts(params.generated_examples, context.seed)
    found, details, count = generator_validity(
        context, model, list(params.smoke_inputs), list(params.extra_edge_inputs), generated,
        params.max_new_tokens, params.context_prompts, failures)
    metrics.update(found)
    result = CheckResult(metrics=metrics, sample_size=count)
    for metric in ("batch_diff", "finite_logprob_rate"):
        if metric not in metrics:
            result.waived[metric] = details.get("logprobs", "not measured")
    extra = [(metric, operator, limit) for metric, (operator, limit) in GENERATOR_DEFAULTS.items()
             if getattr(params, ("min_" if operator == ">=" else "max_") + metric) is None
             and metric not in result.waived]
    _decide(context, params, result, failures, bool(generated), extra)
    result.details = {"model": facts, **details}
    return result


def _decide(context: CheckContext, params: AvailabilityParams, result: CheckResult,
            failures: list[dict[str, Any]], generated: bool,
            extra: list[tuple[str, str, float]] | None = None) -> None:
    """Evaluate ``result``'s thresholds (the generated-input ones waived when no generated
    input ran; ``extra`` limits besides the declared ones) and keep the first failing inputs as
    its examples."""
    _declare_methods(result)
    if not generated:
        _waive_generated(context, params, result)
    limits = [limit for limit in params.threshold_limits() if limit[0] not in result.waived]
    limits += extra or []
    result.thresholds = context.evaluate(result.metrics, result.intervals, limits=limits,
                                         methods=result.interval_methods)
    result.examples = failures[: max(context.max_examples, 1) * 3]


ORDINARY_SIDE = "The weather was mild and the streets were quiet."
"""The other side of a pair whose one side is an edge input or a smoke input."""


def _as_pairs(texts: Sequence[str]) -> list[ModelInput]:
    """Each text as the first side of a pair whose second side is an ordinary sentence."""
    return [TextPair(text, ORDINARY_SIDE) for text in texts]


def _on_sides(edges: dict[str, str], sides: Sequence[Side]) -> dict[str, ModelInput]:
    """Each edge input on each side asked for: ``"emoji (second)"`` is an ordinary first side
    and the emoji text as the second; ``(both)`` puts the edge input on both sides."""
    named: dict[str, ModelInput] = {}
    for name, text in edges.items():
        for side in sides:
            first = text if side in ("first", "both") else ORDINARY_SIDE
            second = text if side in ("second", "both") else ORDINARY_SIDE
            named[f"{name} ({side})"] = TextPair(first, second)
    return named


def _declare_methods(result: CheckResult) -> None:
    """No metric here estimates a population: the pass rates are shares of a fixed, enumerated
    (or seeded) set of inputs, the differences maxima over those inputs, the load facts single
    measurements. Their values decide under any gate."""
    for metric in ("smoke_pass_rate", "edge_pass_rate", "generated_pass_rate", "server_ready",
                   "parameters", "size_on_disk_mb", "determinism_diff", "batch_diff",
                   "batch_agreement", "stop_pass_rate", "finite_logprob_rate"):
        result.interval_methods[metric] = "exact"
    for metric in ("load_seconds", "load_rss_mb", "server_cold_start_seconds"):
        result.interval_methods[metric] = "single measurement"


def _try_each(predict: Callable[[list[ModelInput]], Predictions], named: dict[str, ModelInput],
              labels: list[str],
              failures: list[dict[str, Any]], batched: bool = False) -> float:
    """Share of inputs answered validly; batched mode tries one call first, then each text."""
    if not named:
        return 1.0
    if batched:
        try:
            predict(list(named.values()))
            return 1.0
        except ModelTestsError:
            pass  # find out which inputs fail
    passed = 0
    for name, text in named.items():
        try:
            predict([text])
            passed += 1
        except ModelTestsError as exc:
            failures.append({"input": name, "text": as_display(text, 300), "error": str(exc)})
    return passed / len(named)


def _repeatability(predict: Callable[[list[ModelInput]], Predictions], texts: list[ModelInput],
                   tolerance: float,
                   failures: list[dict[str, Any]]) -> dict[str, float]:
    import numpy as np

    try:
        first, second = predict(texts), predict(texts)
        singles = [predict([t]) for t in texts]
    except ModelTestsError as exc:
        failures.append({"input": "repeatability", "text": "", "error": str(exc)})
        return {"determinism_diff": float("inf"), "batch_diff": float("inf")}
    metrics = {"label_agreement_repeat": float(first.labels == second.labels)}
    if first.probabilities is None:
        same = first.labels == second.labels
        batch_same = [s.labels[0] for s in singles] == first.labels
        return {"determinism_diff": 0.0 if same else 1.0, "batch_diff": 0.0 if batch_same else 1.0}
    determinism = float(np.abs(first.probabilities - second.probabilities).max())
    stacked = np.vstack([s.probabilities for s in singles if s.probabilities is not None])
    per_text = np.abs(first.probabilities - stacked).max(axis=1)
    for index in np.flatnonzero(per_text > tolerance):
        failures.append({"input": "batch invariance", "text": as_display(texts[index], 300),
                         "error": f"batched vs single differ by {per_text[index]:.2e}"})
    metrics.update(determinism_diff=determinism, batch_diff=float(per_text.max()))
    return metrics


def _waive_generated(context: CheckContext, params: AvailabilityParams,
                     result: CheckResult) -> None:
    """With generated texts turned off, the default gate on them does not apply; a gate the
    suite set on them explicitly cannot apply, and that is an error in the suite."""
    if "min_generated_pass_rate" in params.model_fields_set:
        raise context.error("min_generated_pass_rate", "cannot apply: generated_examples is 0, "
                            "so no generated text is tried (remove the threshold or set "
                            "generated_examples above 0)")
    result.waived["generated_pass_rate"] = "generated_examples is 0"


def _generated_texts(count: int, seed: int) -> list[str]:
    """``count`` texts from hypothesis, reproducible for a given seed."""
    if count <= 0:
        return []
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    from modeltests.strategies import texts

    collected: list[str] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, derandomize=False, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(texts())
    def collect(text: str) -> None:
        collected.append(text)

    collect()
    return collected[:count]



def prepare_availability(context: CheckContext, params: AvailabilityParams) -> None:
    """Setup: ``edge_sides`` belongs to a text-pair model, the generator parameters to a
    generator (an ERROR in the suite)."""
    if "edge_sides" in params.model_fields_set and not params.pairs:
        raise context.error("edge_sides", "edge_sides applies to a text-pair model: set "
                            "pairs: true, or remove edge_sides")
    model = context.model()
    images = getattr(model, "inputs", "text") == "image"
    if images and params.dataset is None:
        raise context.error("kind", "availability on an image classifier needs 'dataset': a "
                            "dataset of images whose first images are the smoke inputs and "
                            "whose shape the odd images take")
    if params.dataset is not None and not images:
        raise context.error("dataset", "dataset applies to an image classifier (its odd "
                            f"images take the dataset's shape); the suite's model "
                            f"({type(model).__name__}) reads texts: remove dataset")
    if images:
        for key in ("pairs", "smoke_inputs", "extra_edge_inputs", "edge_sides"):
            if key in params.model_fields_set:
                raise context.error(key, f"{key} gives the model texts; the suite's model "
                                    "classifies images (its smoke inputs are the dataset's "
                                    "first images)")
    if is_generator(model):
        if params.pairs:
            raise context.error("pairs", "pairs applies to a text-pair classifier; the "
                                "suite's model generates text")
        return
    for key in GENERATOR_ONLY:
        if key in params.model_fields_set:
            raise context.error(key, f"{key} applies to a model that generates text; the "
                                f"suite's model ({type(model).__name__}) predicts labels")


CHECK_KINDS = [CheckKind("availability", AvailabilityParams, run_availability,
                         "loads, answers, valid outputs on odd inputs, repeatable",
                         prepare=prepare_availability, task="any", inputs="any")]
