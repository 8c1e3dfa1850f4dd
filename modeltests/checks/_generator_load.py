"""``load`` on a text generator, with the definitions of vLLM's serving benchmark
(``vllm bench serve``; ``benchmarks/benchmark_serving.py`` before it).

Per answered request, from the generator's own clock (:meth:`TextGenerator.generate_timed`; a
served generator's stream):

* ``ttft``: from sending the request to the first non-empty streamed delta;
* ``tpot``: (e2e - ttft) / (output tokens - 1), for requests of at least 2 output tokens;
* ``itl``: every gap between consecutive non-empty deltas (all requests pooled);
* ``e2e``: from sending the request to its last event (the finish and usage chunks included);
* output tokens per second: all answered requests' output tokens over the step's duration.

Goodput is the share of a step's requests that meet every declared objective (``slo:
{ttft_ms, tpot_ms, e2e_ms}``; a request of one token meets any ``tpot_ms``, as in vLLM): failed
requests count as not meeting it. ``min_goodput`` is gated on the lowest step's Wilson interval.
Failed requests (HTTP errors, timeouts, broken streams, answers longer than ``max_new_tokens``)
are errors of their step, kept out of every latency figure. Percentiles follow the project's
rule (:func:`modeltests.measure.timing.summarize`: MLPerf's minimum sample for a p90 / p99
claim). Closed-loop ``concurrency`` steps and open-loop Poisson ``rates`` come from the
classifier load's machinery (:mod:`modeltests.serving.loadgen`), each request on a thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from modeltests.result import CheckResult
from modeltests.serving.loadgen import StepResult, closed_loop, open_loop

if TYPE_CHECKING:
    from modeltests.adapters.generation import GenerationRequest, TextGenerator, TimedGeneration
    from modeltests.checks._load_params import LoadParams
    from modeltests.context import CheckContext
    from modeltests.data.inputs import ModelInput

FIGURES = ("ttft", "tpot", "itl", "e2e")
GENERATOR_ONLY = ("slo", "max_new_tokens", "min_goodput", "max_ttft_p99_ms", "max_tpot_p99_ms",
                  "min_output_tokens_per_s")
CLASSIFIER_ONLY = ("slo_p99_ms", "min_throughput_at_slo", "compare_to", "min_throughput_ratio",
                   "max_p99_ratio", "batch_size", "processes")


@dataclass
class _Records:
    """The timed answers of the current step (appended from the request threads)."""

    timed: list[TimedGeneration] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> list[TimedGeneration]:
        with self.lock:
            taken, self.timed = self.timed, []
        return taken


def refuse_keys(context: CheckContext, params: LoadParams, generator: bool) -> None:
    """A located error for a key the model's task does not load."""
    for key in CLASSIFIER_ONLY if generator else GENERATOR_ONLY:
        if key in params.model_fields_set:
            what = "a text generator (its objectives go under slo:)" if generator else \
                "a classifier (slo:, goodput and token figures load text generators)"
            raise context.error(key, f"does not apply to {what}")


def run_generator_load(context: CheckContext, params: LoadParams,
                       generator: TextGenerator) -> CheckResult:
    from modeltests.adapters.generation import GenerationRequest, is_generator, validate_timed

    loaded = generator.load_client()
    client = loaded if is_generator(loaded) else generator
    prompts = _prompts(context, params)
    request = GenerationRequest(max_new_tokens=params.max_new_tokens)
    records = _Records()

    def call(batch: list[ModelInput]) -> None:
        for text in batch:
            prompt = str(text)
            timed = validate_timed(client.generate_timed(prompt, request), prompt, request)
            with records.lock:
                records.timed.append(timed)

    for number in range(params.warmup_requests):
        call([prompts[number % len(prompts)]])
    records.take()
    steps: list[tuple[StepResult, list[TimedGeneration]]] = []
    for clients in params.concurrency:
        step = closed_loop(call, prompts, clients, params.duration_s,
                           params.max_requests_per_step)
        steps.append((step, records.take()))
    for index, rate in enumerate(params.rates):
        step = open_loop(call, prompts, rate, params.duration_s, context.seed + index,
                         params.max_requests_per_step, params.max_in_flight)
        steps.append((step, records.take()))
    return _result(context, params, [step_figures(step, timed, params) for step, timed in steps],
                   request)


def _prompts(context: CheckContext, params: LoadParams) -> list[ModelInput]:
    from modeltests.checks._load_params import DEFAULT_TEXTS

    if params.dataset is None:
        return list(DEFAULT_TEXTS)
    texts = list(context.dataset(params.dataset).texts)
    if not texts:
        raise context.error("dataset", f"dataset {params.dataset!r} has no prompts to send")
    return texts


def request_figures(timed: TimedGeneration) -> dict[str, Any]:
    """One answered request's ttft, tpot (None under 2 tokens), e2e (ms), its inter-token
    gaps and output tokens, by vLLM's definitions."""
    tokens = timed.generation.new_tokens
    # A stream without a non-empty delta has no first token (an in-process clock always does).
    has_first = bool(timed.chunk_ms) or timed.end_ms is None
    ttft = timed.first_token_ms if has_first else None
    e2e = timed.e2e_ms
    gaps = [b - a for a, b in zip(timed.chunk_ms, timed.chunk_ms[1:])]
    tpot = (e2e - timed.first_token_ms) / (tokens - 1) if has_first and tokens > 1 else None
    return {"ttft": ttft, "tpot": tpot, "e2e": e2e, "itl": gaps, "tokens": tokens}


def meets(figures: dict[str, Any], slo: dict[str, float]) -> bool:
    """Whether one request meets every objective (a missing tpot meets any tpot_ms)."""
    for name, limit in slo.items():
        value = figures[name.removesuffix("_ms")]
        if value is not None and value > limit:
            return False
    return True


def step_figures(step: StepResult, timed: Sequence[TimedGeneration], params: LoadParams
                 ) -> dict[str, Any]:
    """One step's row: requests, errors, percentiles of every figure, tokens/s, goodput."""
    from modeltests.measure.timing import summarize
    from modeltests.stats.proportions import wilson_interval

    figures = [request_figures(t) for t in timed]
    total = len(figures) + step.errors
    row: dict[str, Any] = {"mode": step.mode, "level": step.level, "step": step.label(),
                           "requests": total, "answered": len(figures), "errors": step.errors,
                           "elapsed_s": step.elapsed_s,
                           "throughput": len(figures) / step.elapsed_s if step.elapsed_s else 0.0,
                           "output_tokens": sum(f["tokens"] for f in figures),
                           "error_examples": step.error_examples}
    row["output_tokens_per_s"] = row["output_tokens"] / step.elapsed_s if step.elapsed_s else 0.0
    if total:
        row["error_rate"] = step.errors / total
        row["error_interval"] = wilson_interval(step.errors, total)
    for name in FIGURES:
        values = [v for f in figures for v in (f[name] if name == "itl" else [f[name]])
                  if v is not None]
        if values:
            stats = summarize(values, 1)
            row[name] = {key: stats[key] for key in (
                "n", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "p99_upper_ms",
                "p99_supported")}
    slo = _slo(params)
    if slo and total:
        good = sum(meets(f, slo) for f in figures)
        row["good"] = good
        row["goodput"] = good / total
        row["goodput_interval"] = wilson_interval(good, total)
    return row


def _slo(params: LoadParams) -> dict[str, float]:
    if params.slo is None:
        return {}
    return {k: v for k, v in params.slo.model_dump().items() if v is not None}


def _result(context: CheckContext, params: LoadParams, rows: list[dict[str, Any]],
            request: GenerationRequest) -> CheckResult:
    from modeltests.stats.proportions import wilson_interval

    requests = sum(row["requests"] for row in rows)
    errors = sum(row["errors"] for row in rows)
    metrics: dict[str, float] = {
        "throughput": max(row["throughput"] for row in rows),
        "output_tokens_per_s": max(row["output_tokens_per_s"] for row in rows)}
    result = CheckResult(metrics=metrics, sample_size=requests)
    for name in ("throughput", "output_tokens_per_s"):
        result.interval_methods[name] = "single measurement"
    if requests:
        metrics["error_rate"] = errors / requests
        result.intervals["error_rate"] = wilson_interval(errors, requests)
        result.interval_methods["error_rate"] = "wilson"
    for name in FIGURES:
        measured = [row[name] for row in rows if name in row]
        if not measured:
            continue
        worst = max(measured, key=lambda stats: stats["p99_ms"])
        metrics[f"{name}_p50_ms"] = max(stats["p50_ms"] for stats in measured)
        metrics[f"{name}_p99_ms"] = worst["p99_ms"]
        result.interval_methods[f"{name}_p99_ms"] = \
            "order statistic (95% upper bound; MLPerf minimum 662 requests)"
        if worst["p99_upper_ms"] is not None and worst["p99_supported"]:
            result.intervals[f"{name}_p99_ms"] = (worst["p99_ms"], worst["p99_upper_ms"])
    with_goodput = [row for row in rows if "goodput" in row]
    if with_goodput:
        lowest = min(with_goodput, key=lambda row: row["goodput"])
        metrics["goodput"] = lowest["goodput"]
        result.intervals["goodput"] = lowest["goodput_interval"]
        result.interval_methods["goodput"] = "wilson"
    result.thresholds = context.evaluate(metrics, result.intervals,
                                         methods=result.interval_methods)
    result.details.update(
        steps=rows, errors=errors, slo=_slo(params) or None,
        max_new_tokens=request.max_new_tokens,
        definitions="vLLM serving benchmark: ttft to the first non-empty delta; tpot = (e2e - "
        "ttft) / (output tokens - 1); itl = gaps between deltas; e2e to the last event; goodput "
        "= share of requests (failed ones included) meeting every slo objective")
    result.examples = [{"input": row["step"], "text": "", "error": example} for row in rows
                       for example in row["error_examples"]][: context.max_examples]
    unsupported = [row["step"] for row in rows if "e2e" in row and not row["e2e"]["p99_supported"]]
    if unsupported:
        result.warnings.append(
            f"load: {', '.join(unsupported)} answered fewer than MLPerf's 662 requests for a "
            "p99 claim: their p99 is the largest value seen, with no upper bound")
    return result
