"""``load``: the model under concurrent load, closed-loop client steps and open-loop arrivals.

Per step: throughput (answered requests/s), p50 / p90 / p99 latency with the order-statistic
95% upper bound of p99 and MLPerf's minimum sample (662 requests for a p99 claim), the error
rate (HTTP errors, timeouts, invalid answers) with a Wilson interval, and the retries. With
``slo_p99_ms``, the best throughput among the steps whose p99 meets it. The generator's own
ceiling, measured against a null endpoint on this machine, is reported with every result, and a
step that comes near it is flagged: there the generator, not the model, may be the limit.

Absolute limits (``min_throughput``, ``max_p99_ms``, ``min_throughput_at_slo``) fit a machine
you own and keep quiet (a release box, a dedicated runner). On a shared or busy machine use
``compare_to`` and the ratio limits (``min_throughput_ratio``, ``max_p99_ratio``): see
:mod:`modeltests.checks._load_compare`.

A text generator (e.g. ``adapter: openai``) is loaded by :mod:`modeltests.checks._generator_load`
instead: vLLM's TTFT, TPOT, inter-token latency, e2e latency, output tokens per second and
goodput under ``slo:``.
"""

from __future__ import annotations

from typing import Any, Sequence


from modeltests.context import CheckContext
from modeltests.data.inputs import ModelInput
from modeltests.checks._load_compare import (RATIO_METHOD, Rounds, interleaved_step,
                                             one_at_a_time, ratios)
from modeltests.serving.loadgen import (AsyncRequests, Call, Requests, StepResult, Workers,
                                        closed_loop, event_loop_name, null_endpoint,
                                        open_loop, worker_processes)
from modeltests.extend.registry import CheckKind
from modeltests.checks._load_params import DEFAULT_TEXTS, LoadParams
from modeltests.result import CheckResult

NEAR_CEILING = 0.5
"""A step above this share of the generator's ceiling is flagged."""
PRELOAD = ("modeltests.adapters.http",)
"""Modules a load worker process imports before the first step (the http adapter's sender)."""
P99_METHOD = "order statistic (95% upper bound; MLPerf minimum 662 requests)"


def run_load(context: CheckContext, params: LoadParams) -> CheckResult:
    from modeltests.adapters.generation import is_generator
    from modeltests.checks._generator_load import refuse_keys, run_generator_load

    model = context.model()
    refuse_keys(context, params, is_generator(model))
    if is_generator(model):
        return run_generator_load(context, params, model)
    client = model.load_client()
    texts: list[ModelInput] = (list(context.dataset(params.dataset).texts) if params.dataset
                               else list(DEFAULT_TEXTS))
    if not texts:
        raise context.error("dataset", f"dataset {params.dataset!r} has no texts to send")
    requests = client.load_requests()
    compared = _compared(context, params, texts)
    # Interleaved rounds run in this process: their ratios compare like with like.
    spread = compared is None and isinstance(requests, AsyncRequests) \
        and requests.spec is not None
    steps: list[tuple[StepResult, int]] = []
    interleaved: list[Rounds] = []
    with worker_processes(params.processes if spread else 1, PRELOAD) as workers:
        ceiling = _ceiling(model, texts, params, workers) if compared is None else 0.0
        for number in range(params.warmup_requests):
            client.predict([texts[number % len(texts)]])
        with null_endpoint() as url:
            null = model.null_twin(url) or (lambda batch: None)
            for clients in params.concurrency:
                before = client.counters().get("retries", 0)
                if compared is None:
                    step = closed_loop(requests, texts, clients, params.duration_s,
                                       params.max_requests_per_step, params.batch_size, workers)
                else:
                    interleaved.append(interleaved_step(
                        requests, compared, null, texts, clients, params.duration_s,
                        params.rounds, params.ceiling_duration_s, params.max_requests_per_step,
                        params.batch_size))
                    step = interleaved[-1].merged()
                steps.append((step, _retries(client.counters(), before, step)))
        comparison = ratios(interleaved, context.seed) if interleaved else None
        if comparison is not None:
            ceiling = comparison["ceiling"]
        for index, rate in enumerate(params.rates):
            before = client.counters().get("retries", 0)
            step = open_loop(requests, texts, rate, params.duration_s, context.seed + index,
                             params.max_requests_per_step, params.max_in_flight,
                             params.batch_size, workers)
            steps.append((step, _retries(client.counters(), before, step)))
    result = _result(context, params, steps, ceiling, comparison)
    result.details["load_generator"] = _generator(requests, workers is not None, params)
    return result


def _compared(context: CheckContext, params: LoadParams, texts: Sequence[ModelInput]
              ) -> Call | None:
    """The compare_to model's predict, one call at a time, warmed up; None without it."""
    if params.compare_to is None:
        return None
    other = context.model(params.compare_to)
    compared = one_at_a_time(lambda batch: other.predict(batch))
    for number in range(params.warmup_requests):
        compared([texts[number % len(texts)]])
    return compared


def _retries(counters: dict[str, int], before: int, step: StepResult) -> int:
    """Retries during a step: of this process, and of its worker processes."""
    return counters.get("retries", 0) - before + step.worker_counters.get("retries", 0)


def _generator(requests: Requests, spread: bool, params: LoadParams) -> dict[str, Any]:
    """How the requests were sent, for the report."""
    how = requests.description if isinstance(requests, AsyncRequests) else "threads"
    return {"requests": how, "event_loop": event_loop_name(),
            "processes": params.processes if spread else 1}


def _ceiling(model: Any, texts: Sequence[ModelInput], params: LoadParams,
             workers: Workers | None) -> float:
    """Requests/s the generator reaches against a null endpoint (an HTTP server answering
    ``{}`` at once, in a process of its own), with as many clients as the largest step uses
    and the same processes."""
    clients = max([*params.concurrency, min(params.max_in_flight, 8)])
    with null_endpoint() as url:
        twin = model.null_twin(url) or (lambda batch: None)
        step = closed_loop(twin, texts, clients, params.ceiling_duration_s,
                           params.max_requests_per_step, params.batch_size, workers)
    return step.throughput


def _summary(step: StepResult, retries: int, ceiling: float) -> dict[str, Any]:
    from modeltests.stats.proportions import wilson_interval
    from modeltests.measure.timing import summarize

    row: dict[str, Any] = {"mode": step.mode, "level": step.level, "step": step.label(),
                           "requests": step.requests, "answered": len(step.latencies_ms),
                           "errors": step.errors, "retries": retries,
                           "elapsed_s": step.elapsed_s, "throughput": step.throughput,
                           "near_ceiling": step.throughput > NEAR_CEILING * ceiling}
    if step.requests:
        row["error_rate"] = step.errors / step.requests
        row["error_interval"] = wilson_interval(step.errors, step.requests)
    if step.latencies_ms:
        stats = summarize(step.latencies_ms, 1)
        for key in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "p99_upper_ms",
                    "p99_supported", "p99_min_samples"):
            row[key] = stats[key]
    row["error_examples"] = step.error_examples
    return row


def _result(context: CheckContext, params: LoadParams, steps: list[tuple[StepResult, int]],
            ceiling: float, comparison: dict[str, Any] | None) -> CheckResult:
    from modeltests.stats.proportions import wilson_interval

    rows = [_summary(step, retries, ceiling) for step, retries in steps]
    requests = sum(row["requests"] for row in rows)
    errors = sum(row["errors"] for row in rows)
    answered = [row for row in rows if "p99_ms" in row]
    metrics: dict[str, float] = {"throughput": max(row["throughput"] for row in rows),
                                 "generator_ceiling_throughput": ceiling,
                                 "retries": float(sum(row["retries"] for row in rows))}
    result = CheckResult(metrics=metrics, sample_size=requests)
    if requests:
        metrics["error_rate"] = errors / requests
        result.intervals["error_rate"] = wilson_interval(errors, requests)
        result.interval_methods["error_rate"] = "wilson"
    if answered:
        worst = max(answered, key=lambda row: row["p99_ms"])
        metrics["p99_ms"] = worst["p99_ms"]
        result.interval_methods["p99_ms"] = P99_METHOD
        if worst["p99_upper_ms"] is not None and worst["p99_supported"]:
            result.intervals["p99_ms"] = (worst["p99_ms"], worst["p99_upper_ms"])
    if params.slo_p99_ms is not None:
        meeting = [row for row in answered if row["p99_ms"] <= params.slo_p99_ms]
        metrics["throughput_at_slo"] = max((row["throughput"] for row in meeting), default=0.0)
        rates = [row["level"] for row in meeting if row["mode"] == "open"]
        result.details["max_rate_at_slo"] = max(rates, default=None)
    for name in ("throughput", "throughput_at_slo", "generator_ceiling_throughput", "retries"):
        result.interval_methods[name] = "single measurement"
    if comparison is not None:
        _add_ratios(result, comparison, params)
    result.thresholds = context.evaluate(metrics, result.intervals,
                                         methods=result.interval_methods)
    result.details.update(steps=rows, generator_ceiling_rps=ceiling,
                          near_ceiling_share=NEAR_CEILING, slo_p99_ms=params.slo_p99_ms)
    _warn(result, rows, ceiling)
    result.examples = [{"input": row["step"], "text": "", "error": example} for row in rows
                       for example in row["error_examples"]][: context.max_examples]
    result.details["errors"] = errors
    return result


def _add_ratios(result: CheckResult, comparison: dict[str, Any], params: LoadParams) -> None:
    """The headline ratios and their intervals, and the per-step comparison in the details."""
    for name in ("throughput_ratio", "p99_ratio"):
        row = comparison[name]
        result.metrics[name] = row[name]
        result.interval_methods[name] = RATIO_METHOD
        if row[f"{name}_interval"] is not None:
            low, high = row[f"{name}_interval"]
            result.intervals[name] = (low, high)
    result.details["compare"] = {
        "model": params.compare_to, "rounds": params.rounds, "interval_method": RATIO_METHOD,
        "throughput_ratio": "served / compare_to throughput, the lowest over the steps",
        "p99_ratio": "served / compare_to p99, the highest over the steps",
        "steps": comparison["steps"]}


def _warn(result: CheckResult, rows: list[dict[str, Any]], ceiling: float) -> None:
    near = [row["step"] for row in rows if row["near_ceiling"]]
    if near:
        result.warnings.append(
            f"load: {', '.join(near)} reached over {NEAR_CEILING:.0%} of the load generator's "
            f"own ceiling ({ceiling:.0f} requests/s against a null endpoint): the generator may "
            "be the limit there, not the model")
    unsupported = [row["step"] for row in rows if "p99_ms" in row and not row["p99_supported"]]
    if unsupported:
        result.warnings.append(
            f"load: {', '.join(unsupported)} answered fewer than MLPerf's 662 requests for a "
            "p99 claim: their p99 is the largest latencies seen, with no upper bound")


CHECK_KINDS = [CheckKind("load", LoadParams, run_load,
                         "throughput, tail latency and errors under concurrent load (text "
                         "generators: TTFT, TPOT, inter-token latency, goodput)", task="any")]
