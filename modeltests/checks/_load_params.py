"""The ``load`` kind's parameters (:mod:`modeltests.checks.load`), shared by the classifier
and the text-generator load (:mod:`modeltests.checks._generator_load`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from modeltests.result import SeededParams, threshold

DEFAULT_TEXTS = [
    "I really enjoyed it.",
    "It was a complete waste of time.",
    "The service was fine and the food arrived on time.",
    "Not bad at all, I would come back.",
]
class SloParams(BaseModel):
    """A text generator's per-request objectives (vLLM's goodput): a request meets the SLO when
    it meets every objective given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_ms: float | None = Field(default=None, gt=0, description="Time to first token, ms.")
    tpot_ms: float | None = Field(default=None, gt=0, description="Time per output token "
                                  "after the first, ms.")
    e2e_ms: float | None = Field(default=None, gt=0, description="Whole request, ms.")

    @model_validator(mode="after")
    def _some_objective(self) -> SloParams:
        if self.ttft_ms is None and self.tpot_ms is None and self.e2e_ms is None:
            raise ValueError("give at least one of ttft_ms, tpot_ms, e2e_ms")
        return self


class LoadParams(SeededParams):
    """Closed-loop ``concurrency`` steps and open-loop Poisson ``rates``, each ``duration_s``."""

    kind: str = "load"
    concurrency: list[int] = Field(default_factory=list, description="Closed-loop steps: "
                                   "clients sending back to back, e.g. [1, 2, 4].")
    rates: list[float] = Field(default_factory=list, description="Open-loop steps: mean "
                               "Poisson arrival rates, requests per second.")
    duration_s: float = Field(default=5.0, gt=0, le=600, description="Seconds per step.")
    dataset: str | None = Field(default=None, description="Texts to send (default: a few "
                                "built-in sentences), cycled.")
    batch_size: int = Field(default=1, ge=1, le=1024, description="Texts per request (a "
                            "request is split by the model's own batch_size when larger).")
    warmup_requests: int = Field(default=4, ge=0, le=1000,
                                 description="Requests sent before the first step, not counted.")
    max_requests_per_step: int = Field(default=20000, ge=1, le=1_000_000,
                                       description="Requests sent in one step at most (a step "
                                       "also ends after duration_s).")
    max_in_flight: int = Field(default=32, ge=1, le=1024, description="Open loop: requests "
                               "sent at once at most (later arrivals queue, their wait counted).")
    ceiling_duration_s: float = Field(default=2.0, gt=0, le=60, description="Seconds spent "
                                      "measuring the generator's ceiling.")
    processes: int = Field(default=1, ge=1, le=64, description="Processes sending the "
                           "requests of a served (http://) model, each with its own event "
                           "loop: more raise the generator's ceiling, and take CPU from a "
                           "server on the same machine.")
    slo_p99_ms: float | None = Field(default=None, gt=0, description="The latency objective: "
                                     "a step meets it when its p99 is at most this.")
    min_throughput: float | None = threshold("Lowest best-step throughput, requests/s.", ge=0)
    max_p99_ms: float | None = threshold("Highest p99 latency of any step, ms.", gt=0)
    max_error_rate: float | None = threshold("Highest share of failed requests, all steps.",
                                             ge=0, le=1)
    min_throughput_at_slo: float | None = threshold(
        "Lowest throughput of the best step meeting slo_p99_ms, requests/s.", ge=0)
    compare_to: str | None = Field(
        default=None, description="A model under 'models:' (e.g. the same weights in-process) "
        "timed in the same window: each closed-loop step alternates rounds of the served model, "
        "this model and the generator's null endpoint, so that ratios survive a busy machine.")
    rounds: int = Field(default=4, ge=2, le=50, description="With compare_to: alternating "
                        "rounds per closed-loop step (each duration_s / rounds).")
    min_throughput_ratio: float | None = threshold(
        "Lowest served / compare_to throughput at any closed-loop step.", gt=0)
    max_p99_ratio: float | None = threshold(
        "Highest served / compare_to p99 at any closed-loop step.", gt=0)

    max_new_tokens: int = Field(default=32, ge=1, le=100000, description="Text generators: "
                                "tokens each request asks for (max_tokens).")
    slo: SloParams | None = Field(default=None, description="Text generators: per-request "
                                  "objectives {ttft_ms, tpot_ms, e2e_ms}; goodput is the share "
                                  "of requests meeting all of them.")
    min_goodput: float | None = threshold(
        "Text generators: lowest share of a step's requests meeting every slo objective (failed "
        "requests count as missing it); gated on its Wilson interval.", ge=0, le=1)
    max_ttft_p99_ms: float | None = threshold("Text generators: highest p99 time to first "
                                              "token of any step, ms.", gt=0)
    max_tpot_p99_ms: float | None = threshold("Text generators: highest p99 time per output "
                                              "token of any step, ms.", gt=0)
    min_output_tokens_per_s: float | None = threshold(
        "Text generators: lowest best-step output tokens per second.", ge=0)

    @model_validator(mode="after")
    def _steps_and_slo(self) -> LoadParams:
        if not self.concurrency and not self.rates:
            raise ValueError("give 'concurrency' (closed-loop clients) or 'rates' (open-loop "
                             "requests/s), or both")
        if any(c < 1 or c > 256 for c in self.concurrency):
            raise ValueError("'concurrency' steps must be between 1 and 256 clients")
        if any(r <= 0 or r > 100000 for r in self.rates):
            raise ValueError("'rates' must be above 0 and at most 100000 requests/s")
        if self.min_goodput is not None and self.slo is None:
            raise ValueError("'min_goodput' needs 'slo' (the objectives a good request meets)")
        if self.min_throughput_at_slo is not None and self.slo_p99_ms is None:
            raise ValueError("'min_throughput_at_slo' needs 'slo_p99_ms'")
        ratios = self.min_throughput_ratio is not None or self.max_p99_ratio is not None
        if ratios and self.compare_to is None:
            raise ValueError("'min_throughput_ratio' and 'max_p99_ratio' need 'compare_to' (a "
                             "model under 'models:' timed in the same window)")
        if self.compare_to is not None and not self.concurrency:
            raise ValueError("'compare_to' times closed-loop steps in alternating rounds: give "
                             "'concurrency'")
        return self
