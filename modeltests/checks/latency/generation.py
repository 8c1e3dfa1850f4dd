"""``latency`` on a text generator: time to first token and time per output token.

Every (prompt length, output length) configuration, batch size 1, greedy: a prompt of exactly
``prompt_lengths`` tokens (counted with the model's ``count_tokens``) asks for
``output_lengths`` new tokens. Per call:

* ``ttft`` (time to first token, the prefill): from the call to the first generated token on
  the host: one forward over the prompt that produces it;
* ``tpot`` (time per output token, the decode): (last token - first token) / (tokens - 1),
  over the tokens actually generated (a model may stop early at its end-of-text; the count is
  in the details);
* ``tokens_per_second``: generated tokens / whole-call seconds, over all calls.

The clock is the generator's own :meth:`~modeltests.adapters.generation.TextGenerator.
generate_timed` (a streamer stamping each token as it reaches the host, which waits for a CUDA
device) when it has one; otherwise two :meth:`generate` calls per round (``max_new_tokens`` 1
for the first token, then the whole request), timed with ``time.perf_counter`` on a CPU or CUDA
events after ``torch.cuda.synchronize()`` on a GPU, and the details say so.

Warm-up and stopping follow the check's timing plan (:mod:`modeltests.measure.timing`); with
``compare_to`` both models run in interleaved rounds and ``ttft_ratio`` / ``tpot_ratio`` (this
model's median over the other's, paired bootstrap over rounds) join the metrics. Percentiles
have order-statistic 95% upper bounds, and a gated p90/p99 on fewer calls than MLPerf's minimum
(64 / 662) stays undecided.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from modeltests.result import CheckResult

if TYPE_CHECKING:
    from modeltests.adapters.generation import GenerationRequest, TextGenerator, TimedGeneration
    from modeltests.checks.latency.params import LatencyParams
    from modeltests.context import CheckContext

DEFAULT_LENGTHS = [16]
FILLER = "the cat sat on the mat and".split()
GENERATOR_ONLY = ("prompt_lengths", "output_lengths", "max_ttft_p50_ms", "max_ttft_p90_ms",
                  "max_ttft_p99_ms", "max_tpot_p50_ms", "max_tpot_p90_ms", "max_tpot_p99_ms",
                  "min_tokens_per_second", "max_ttft_ratio", "max_tpot_ratio")
CLASSIFIER_ONLY = ("sequence_lengths", "image_sizes", "min_batch_speedup", "pairs", "dataset", "samples", "mode", "baseline",
                   "max_p50_ms", "max_p90_ms", "max_p95_ms", "max_p99_ms", "max_mean_ms",
                   "min_throughput", "max_cold_start_ms", "max_scaling_exponent",
                   "max_scaling_ratio", "max_ratio_at_longest", "min_ratio_at_longest")
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


def refuse_keys(context: CheckContext, params: LatencyParams, generator: bool) -> None:
    """A located error for a key set in the suite that the model's task does not time."""
    keys = CLASSIFIER_ONLY if generator else GENERATOR_ONLY
    for key in keys:
        if key in params.model_fields_set:
            what = ("a text generator (time it with prompt_lengths, output_lengths and the "
                    "ttft/tpot thresholds)") if generator else \
                "a classifier (prompt and output lengths time text generators)"
            raise context.error(key, f"does not apply to {what}")
    if generator and params.batch_sizes != [1]:
        raise context.error("batch_sizes", "a text generator is timed one prompt at a time "
                            "(batch size 1)")


def prepare_generator(context: CheckContext, params: LatencyParams, adapter: TextGenerator,
                      role: str) -> None:
    """At setup: a prompt plus its output beyond the model's context is a located ERROR."""
    limit = adapter.max_context
    if limit is None:
        return
    longest = max(params.prompt_lengths or DEFAULT_LENGTHS) + \
        max(params.output_lengths or DEFAULT_LENGTHS)
    if longest > limit:
        raise context.error("prompt_lengths", f"the longest prompt plus output is {longest} "
                            f"tokens, beyond the {limit} tokens {role} takes")


def exact_prompt(context: CheckContext, adapter: TextGenerator, length: int) -> str:
    """A prompt of exactly ``length`` tokens for ``adapter`` (filler words, counted)."""
    from modeltests.errors import UnsupportedCapabilityError

    def count(text: str) -> int:
        return context.call_model(adapter, "count_tokens", 1,
                                  lambda: int(adapter.count_tokens(text)), "counting tokens")

    words: list[str] = []
    try:
        while True:
            text = " ".join(words)
            found = count(text) if words else 0
            if found == length:
                return text
            if found > length or len(words) > 4 * length + 8:
                raise context.error("prompt_lengths", f"no filler prompt of exactly {length} "
                                    f"tokens for this tokenizer ({len(words)} words make "
                                    f"{found})")
            words.append(FILLER[len(words) % len(FILLER)])
    except UnsupportedCapabilityError as exc:
        raise context.error("prompt_lengths", f"exact prompt lengths need a generator that "
                            f"counts tokens ({exc})") from None


@dataclass
class Recorder:
    """A :class:`~modeltests.measure.timing.Timer` over calls that return a
    :class:`TimedGeneration`: it keeps every result per function, and times by its total."""

    records: dict[int, list[TimedGeneration]]

    def time_call(self, fn: Callable[[], Any]) -> float:
        timed: TimedGeneration = fn()
        self.records.setdefault(id(fn), []).append(timed)
        return timed.total_ms

    def now(self) -> float:
        return time.perf_counter()


def timed_call(context: CheckContext, adapter: TextGenerator, prompt: str,
               request: GenerationRequest, device: str) -> tuple[Callable[[], Any], str]:
    """One timed generation of ``prompt``, and how it is timed."""
    from dataclasses import replace

    from modeltests.adapters.generation import TextGenerator, TimedGeneration, validate_timed

    def own() -> TimedGeneration:
        return context.call_model(adapter, "generate_timed", 1,
                                  lambda: validate_timed(adapter.generate_timed(prompt, request),
                                                         prompt, request), "timing")

    if type(adapter).generate_timed is not TextGenerator.generate_timed:
        return own, "generate_timed (the generator's own clock per token)"
    from modeltests.measure.timing import CpuTimer, CudaTimer

    timer = CudaTimer() if device == "cuda" else CpuTimer()
    first = replace(request, max_new_tokens=1)

    def two_calls() -> TimedGeneration:
        ttft = timer.time_call(lambda: context.generate([prompt], first, adapter=adapter,
                                                        description="timing"))
        out: list[Any] = []
        total = timer.time_call(lambda: out.extend(context.generate(
            [prompt], request, adapter=adapter, description="timing")))
        return TimedGeneration(out[0], min(ttft, total), total)

    method = "CUDA events" if device == "cuda" else "time.perf_counter"
    return two_calls, (f"two generate calls per round ({method}): max_new_tokens 1 for the "
                       "first token, then the whole request (the generator has no "
                       "generate_timed)")


def _summary(values: list[float]) -> dict[str, Any]:
    from modeltests.measure.timing import summarize

    return summarize(values, 1) if values else {"n": 0}


def _config_json(records: list[TimedGeneration], prompt_tokens: int, output: int,
                 run: Any) -> dict[str, Any]:
    tokens = [r.generation.new_tokens for r in records]
    return {"prompt_tokens": prompt_tokens, "max_new_tokens": output, "calls": len(records),
            "new_tokens": {"min": min(tokens), "max": max(tokens),
                           "mean": sum(tokens) / len(tokens)},
            "stopped_early": sum(t < output for t in tokens),
            "ttft": _summary([r.first_token_ms for r in records]),
            "tpot": _summary([t for r in records if (t := r.tpot_ms) is not None]),
            "total": _summary([r.total_ms for r in records]),
            "tokens_per_second": 1000.0 * sum(tokens) / sum(r.total_ms for r in records),
            "warmup_calls": run.warmup.iterations, "warmup_stable": run.warmup.stable,
            "stop_reason": run.stop_reason}


def generator_latency(context: CheckContext, params: LatencyParams, adapter: TextGenerator,
                      device: str, threads: int, other: TextGenerator | None) -> CheckResult:
    """Time every (prompt, output) configuration (both models interleaved with
    ``compare_to``); gate on the largest."""
    from modeltests.adapters.generation import GenerationRequest
    from modeltests.measure.timing import time_interleaved

    models = [adapter] if other is None else [adapter, other]
    prompts = {length: exact_prompt(context, adapter, length)
               for length in params.prompt_lengths or DEFAULT_LENGTHS}
    outputs = params.output_lengths or DEFAULT_LENGTHS
    configs: list[list[dict[str, Any]]] = [[] for _ in models]
    samples: list[list[TimedGeneration]] = []
    methods: list[str] = []
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    for length, prompt in prompts.items():
        for output in outputs:
            request = GenerationRequest(max_new_tokens=output)
            calls = [timed_call(context, model, prompt, request, device) for model in models]
            methods = [method for _, method in calls]
            recorder = Recorder({})
            runs = time_interleaved([fn for fn, _ in calls], recorder, params.plan())
            samples = [recorder.records[id(fn)][run.warmup.iterations:]
                       for (fn, _), run in zip(calls, runs)]
            for index, (records, run) in enumerate(zip(samples, runs)):
                configs[index].append(_config_json(records, length, output, run))
    memory = _peak_memory(device, calls[0][0])  # the last configuration is the headline
    return _result(context, params, configs, samples, memory, device, threads, methods)


def _peak_memory(device: str, headline: Callable[[], Any]) -> dict[str, Any]:
    """Peak memory: torch's peak allocation over the sweep on a GPU; on a CPU, process RSS
    sampled every 2 ms over a few extra headline calls (as for classifiers)."""
    mb = 1024 * 1024
    if device == "cuda":
        import torch

        return {"peak_cuda_mb": torch.cuda.max_memory_allocated() / mb,
                "method": "torch.cuda.max_memory_allocated over the sweep"}
    from modeltests.checks.latency.measure import MEMORY_CALLS
    from modeltests.measure.timing import RssSampler

    with RssSampler() as sampler:
        for _ in range(MEMORY_CALLS):
            headline()
    return {"peak_rss_mb": sampler.peak_bytes / mb,
            "method": f"process RSS (psutil) sampled every 2 ms over {MEMORY_CALLS} headline "
                      "calls"}


def _result(context: CheckContext, params: LatencyParams, configs: list[list[dict[str, Any]]],
            head: list[list[TimedGeneration]], memory: dict[str, Any], device: str, threads: int,
            methods: list[str]) -> CheckResult:
    """Headline (the last, largest configuration) metrics, intervals, ratios, thresholds."""
    from modeltests.measure.timing import BOUND_CONFIDENCE
    from modeltests.stats.percentiles import min_samples_for_percentile, percentile_upper_bound

    mine = configs[0][-1]
    metrics: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    interval_methods: dict[str, str] = {}
    series = {"ttft": [r.first_token_ms for r in head[0]],
              "tpot": [ms for r in head[0] if (ms := r.tpot_ms) is not None]}
    for name, values in series.items():
        if not values:
            continue
        for label, q in PERCENTILES.items():
            key = f"{name}_{label}_ms"
            metrics[key] = float(mine[name][f"{label}_ms"])
            upper = percentile_upper_bound(values, q, BOUND_CONFIDENCE)
            if upper is not None:
                intervals[key] = (metrics[key], upper)
            interval_methods[key] = "order-statistic"
    metrics["tokens_per_second"] = float(mine["tokens_per_second"])
    metrics.update({k: float(v) for k, v in memory.items() if k != "method"})
    compare = _compare(head, context.seed, metrics, intervals, interval_methods) \
        if len(head) == 2 else None
    for key in metrics:
        interval_methods.setdefault(key, "single measurement")
    result = CheckResult(metrics=metrics, sample_size=len(head[0]), intervals=intervals,
                         interval_methods=interval_methods, torch_threads=threads)
    result.thresholds = context.evaluate(metrics, intervals, methods=interval_methods)
    for t in result.thresholds:
        label = t.metric.split("_")[1] if t.metric.count("_") == 2 else ""
        if label in ("p90", "p99"):
            needed = min_samples_for_percentile(PERCENTILES[label])
            n = len(series[t.metric.split("_")[0]])
            if n < needed:
                t.passed, t.resolved = False, False
                t.note = f"{n} timed calls; MLPerf requires {needed} for a {label} claim"
                result.warnings.append(f"{t.metric}: {t.note}; set min_iterations to at least "
                                       f"{needed}")
    if not series["tpot"]:
        for t in result.thresholds:
            if t.metric.startswith("tpot_"):
                # No decode to time: a missing figure is no verdict, neither pass nor fail.
                t.passed, t.resolved = False, False
                t.note = (f"none of the {len(head[0])} headline calls generated 2 or more "
                          "tokens: no time per output token (ask for output_lengths of 2 or "
                          "more, with prompts the model continues)")
    if mine["stopped_early"]:
        result.warnings.append(f"{mine['stopped_early']} of {mine['calls']} headline calls "
                               "stopped before max_new_tokens (end of text): tpot is over the "
                               "tokens actually generated")
    if device == "cpu" and params.threads is None:
        result.warnings.append(f"threads not pinned: torch used {threads} (set threads: for "
                               "comparable runs)")
    result.details = {
        "model": params.model, "device": device, "threads": threads, "timing": methods[0],
        "headline": {"prompt_tokens": mine["prompt_tokens"],
                     "max_new_tokens": mine["max_new_tokens"]},
        "configs": configs[0], "memory": memory,
        "compare": None if compare is None else {"model": params.compare_to,
                                                 "timing": methods[1], "configs": configs[1],
                                                 **compare}}
    result.headline = (f"TTFT p50 {metrics['ttft_p50_ms']:.1f} ms" +
                       (f", TPOT p50 {metrics['tpot_p50_ms']:.2f} ms" if "tpot_p50_ms" in metrics
                        else "") +
                       f", {metrics['tokens_per_second']:.1f} tokens/s at prompt "
                       f"{mine['prompt_tokens']} x output {mine['max_new_tokens']} tokens "
                       f"({threads} threads, {device})")
    return result


def _compare(head: list[list[TimedGeneration]], seed: int, metrics: dict[str, float],
             intervals: dict[str, tuple[float, float]], methods: dict[str, str]
             ) -> dict[str, Any]:
    """``ttft_ratio`` and ``tpot_ratio``: this model's median over the other's, on the rounds
    of the headline configuration (interleaved, so paired)."""
    import numpy as np

    from modeltests.checks.latency.compare import RATIO_METHOD, RATIO_METHOD_TEXT
    from modeltests.stats.intervals import bootstrap_median_ratio

    out: dict[str, Any] = {"ratio": "this model's median / the compare_to model's median",
                           "interval_method": RATIO_METHOD_TEXT}
    for name in ("ttft", "tpot"):
        pairs = [(a.first_token_ms, b.first_token_ms) if name == "ttft" else (a.tpot_ms, b.tpot_ms)
                 for a, b in zip(head[0], head[1])]
        kept = [(a, b) for a, b in pairs if a is not None and b is not None]
        if not kept:
            continue
        mine = np.asarray([a for a, _ in kept], dtype=np.float64)
        theirs = np.asarray([b for _, b in kept], dtype=np.float64)
        if not np.median(theirs) > 0:  # under the clock's resolution: no ratio, and a gate on
            out[f"{name}_ratio_note"] = (  # it fails as not measured (never inf or NaN)
                "the compare_to model's median is 0 ms, under the clock's resolution")
            continue
        ratio = float(np.median(mine) / np.median(theirs))
        metrics[f"{name}_ratio"] = ratio
        methods[f"{name}_ratio"] = RATIO_METHOD
        interval = bootstrap_median_ratio(mine, theirs, seed)
        if interval is not None:
            intervals[f"{name}_ratio"] = (float(interval[0]), float(interval[1]))
        out[f"{name}_ratio"] = ratio
        out[f"{name}_rounds"] = len(kept)
    return out
