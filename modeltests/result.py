"""The vocabulary of a verdict: check parameters, thresholds, and what a check returns.

Every check kind's parameters derive from :class:`CheckParams`; its ``run(context, params)``
returns a :class:`CheckResult`. Thresholds are parameters named ``min_<metric>`` or
``max_<metric>`` declared with :func:`threshold`: ``min_accuracy: 0.9`` passes when the metric
``accuracy`` is at least 0.9. :func:`evaluate_thresholds` applies them to a result's metrics, and
the runner applies every declared threshold a check did not evaluate itself
(:func:`gate_declared_thresholds`), so a new check only has to compute metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modeltests.stats.proportions import threshold_resolved
from modeltests.support.text import format_number

GateMode = Literal["estimate", "bound"]
ThresholdState = Literal["held", "broken", "undecided"]

POINT_METHODS = ("exact", "single measurement")
"""Methods of metrics that have no interval by nature: their value decides under any gate."""

LIMIT_TOLERANCE = 1e-9
"""Relative tolerance of every comparison with a limit: a drop of exactly 4 of 400 is 0.01 even
when floating point computes 0.010000000000000009 (``|x - limit| <= 1e-9 * max(1, |limit|)``
counts as equal)."""
THRESHOLD_MARK = "x-modeltests-threshold"


def threshold(
    description: str, ge: float | None = None, le: float | None = None, gt: float | None = None,
    default: float | None = None,
) -> Any:
    """Declare a ``min_<metric>`` / ``max_<metric>`` parameter as a threshold (default unset).

    >>> class Params(CheckParams):
    ...     min_accuracy: float | None = threshold("Lowest accuracy that passes.", ge=0, le=1)
    """
    return Field(
        default=default, ge=ge, le=le, gt=gt, description=description,
        json_schema_extra={THRESHOLD_MARK: True},
    )


DYNAMIC_KINDS = ("latency", "load")
DYNAMIC_METRIC = re.compile(r"(_ms|_seconds|_s)$|throughput|per_second|speedup|slowdown|"
                            r"rate_at_slo|scaling|cold_start")


PASSING_OUTCOMES = ("passed", "xfailed", "skipped")
"""A check's outcomes that do not fail a run (nor make it a run that is no baseline)."""


def is_dynamic(kind: str | None, metric: str) -> bool:
    """Latency, throughput and speed figures (dynamic indicators): they depend on the machine
    they ran on, and compare only between runs on the same machine kind."""
    return kind in DYNAMIC_KINDS or bool(DYNAMIC_METRIC.search(metric))


HISTORY_GATE_KEY = "history_gate"
LAST_PASSING = "last-passing"


class HistoryGate(BaseModel):
    """A gate against an earlier recorded run of the same check (``history_gate:``): each metric
    named under ``max_drop`` (a metric with a ``min_`` threshold: higher is better) or
    ``max_rise`` (one with a ``max_`` threshold: lower is better) may move the wrong way by at
    most that much since the ``baseline`` run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline: str = Field(
        default=LAST_PASSING, min_length=1,
        description="The run to compare with, from the run history: 'last-passing' (the latest "
        "run in which this check held every other threshold), 'last', a run id, or a git "
        "commit (7+ hex digits) or branch recorded with a run (its latest run).")
    max_drop: dict[str, float] = Field(
        default_factory=dict,
        description="Per metric with a min_ threshold: the largest drop (baseline - now) that "
        "passes, e.g. {accuracy: 0.02}.")
    max_rise: dict[str, float] = Field(
        default_factory=dict,
        description="Per metric with a max_ threshold: the largest rise (now - baseline) that "
        "passes, e.g. {p95_ms: 5}.")

    @field_validator("baseline", mode="before")
    @classmethod
    def _run_id(cls, value: Any) -> Any:
        """``baseline: 12`` (a run id, which YAML reads as a number) reads as ``"12"``."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def limits(self) -> list[tuple[str, str, float]]:
        """``(metric, "drop" | "rise", limit)`` for every metric this gate names."""
        return ([(m, "drop", float(v)) for m, v in self.max_drop.items()]
                + [(m, "rise", float(v)) for m, v in self.max_rise.items()])


class CheckParams(BaseModel):
    """Parameters every check accepts; a kind's own model adds fields and thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="The check kind.")
    name: str | None = Field(default=None, description="Shown in the test id: kind[name].")
    description: str | None = Field(default=None, description="Free text shown in the report.")
    xfail: str | None = Field(
        default=None,
        description="Expect this check to fail, with this reason (a strict xfail: a pass fails).",
    )
    gate: GateMode | None = Field(
        default=None,
        description="'estimate' compares the measured value with each threshold; 'bound' "
        "requires the confidence interval to clear it. Defaults to the suite's defaults.gate.",
    )
    history_gate: HistoryGate | None = Field(
        default=None,
        description="Gate against an earlier recorded run of this check (the run history): "
        "{baseline: last-passing, max_drop: {accuracy: 0.02}}. With no such run yet the gate "
        "is undecided.",
    )

    @field_validator(HISTORY_GATE_KEY)
    @classmethod
    def _gated_metrics(cls, gate: HistoryGate | None) -> HistoryGate | None:
        """Each metric under ``max_drop`` has a ``min_`` threshold in this kind, each under
        ``max_rise`` a ``max_`` one: the direction in which a metric gets worse is the one its
        threshold guards."""
        if gate is None:
            return gate
        if not (gate.max_drop or gate.max_rise):
            raise ValueError("names no metric: add max_drop: {metric: limit} (a metric with a "
                             "min_ threshold) or max_rise: {metric: limit} (one with a max_ "
                             "threshold)")
        fields = threshold_fields(cls)
        allowed = {"drop": sorted(k[4:] for k in fields if k.startswith("min_")),
                   "rise": sorted(k[4:] for k in fields if k.startswith("max_"))}
        for metric, way, limit in gate.limits():
            if metric not in allowed[way]:
                other = "rise" if way == "drop" else "drop"
                hint = (f"; {metric} gets worse as it {'rises' if way == 'drop' else 'drops'}: "
                        f"use max_{other}" if metric in allowed[other] else "")
                raise ValueError(f"max_{way}.{metric}: not a metric this kind gates with a "
                                 f"{'min' if way == 'drop' else 'max'}_ threshold (allowed: "
                                 f"{', '.join(allowed[way]) or 'none'}){hint}")
            if not limit >= 0:
                raise ValueError(f"max_{way}.{metric}: must be a number >= 0 (got {limit!r})")
        return gate

    def label(self, index: int) -> str:
        """The part of the test id in brackets: the name, else the dataset, else the index."""
        if self.name:
            return self.name
        dataset = getattr(self, "dataset", None)
        return str(dataset) if isinstance(dataset, str) and dataset else str(index)

    def threshold_limits(self) -> list[tuple[str, str, float]]:
        """``(metric, operator, limit)`` for every threshold field that is set."""
        return threshold_limits(self)


MAX_SEED = 2**32 - 1
"""The largest seed numpy's generators take: a seed is checked at load, not deep in a check."""


class SeededParams(CheckParams):
    """Parameters of a check that samples or generates inputs: adds its own ``seed``."""

    seed: int | None = Field(default=None, ge=0, le=MAX_SEED,
                             description="Defaults to the suite's defaults.seed (0 to 2**32-1).")


def threshold_fields(model: type[BaseModel]) -> list[str]:
    """The names of the fields of ``model`` declared with :func:`threshold`."""
    return [key for key, info in model.model_fields.items()
            if isinstance(info.json_schema_extra, dict)
            and info.json_schema_extra.get(THRESHOLD_MARK)]


def threshold_limits(params: BaseModel) -> list[tuple[str, str, float]]:
    """``(metric, operator, limit)`` for every field of ``params`` declared with :func:`threshold`.

    ``min_accuracy: 0.9`` gives ``("accuracy", ">=", 0.9)``; ``max_p95_ms: 50`` gives
    ``("p95_ms", "<=", 50.0)``.
    """
    limits = []
    for key, info in type(params).model_fields.items():
        extra = info.json_schema_extra
        if not (isinstance(extra, dict) and extra.get(THRESHOLD_MARK)):
            continue
        value = getattr(params, key)
        if value is None:
            continue
        if key.startswith("min_"):
            limits.append((key[4:], ">=", float(value)))
        elif key.startswith("max_"):
            limits.append((key[4:], "<=", float(value)))
    return limits


@dataclass
class ThresholdResult:
    """One threshold applied to one metric."""

    metric: str
    operator: str
    limit: float
    value: float | None
    passed: bool
    interval: tuple[float, float] | None = None
    resolved: bool = True
    scope: str = ""
    note: str = ""
    gate: GateMode = "estimate"
    method: str | None = None
    """How ``interval`` was computed (``wilson``, ``bootstrap-percentile``, ``newcombe``...)."""
    needed_n: int | None = None
    """For an undecided threshold: about how many examples would decide it."""
    name: str = ""
    """The suite key when it is not ``min_<metric>`` / ``max_<metric>`` (a history gate's
    ``history_gate.max_drop.accuracy``)."""
    power: dict[str, Any] | None = None
    """What this gate can decide at its n (:func:`attach_power`): ``passing_value``, the true
    value that passes 80% of runs, and ``n_for_margin``, the n at which a true value ``margin``
    beyond the limit does."""

    @property
    def state(self) -> ThresholdState:
        """``undecided`` when the 95% interval contains the limit (the sample cannot tell on
        which side the true value lies), else ``held`` or ``broken``."""
        if not self.resolved:
            return "undecided"
        return "held" if self.passed else "broken"

    @property
    def decisive(self) -> float | None:
        """The number the gate compared with the limit: the estimate, or under ``gate: bound``
        the interval's far side."""
        if self.gate == "bound" and self.interval is not None and self.value is not None:
            return self.interval[0] if self.operator == ">=" else self.interval[1]
        return self.value

    @property
    def key(self) -> str:
        """The suite key that set it, e.g. ``min_accuracy`` (prefixed by a slice scope)."""
        if self.name:
            return self.name
        prefix = "min_" if self.operator == ">=" else "max_"
        return f"{self.scope + '.' if self.scope else ''}{prefix}{self.metric}"

    def describe(self) -> str:
        """``accuracy 0.812 < 0.850 (min_accuracy)``-style one-liner."""
        scope = self.scope + " " if self.scope else ""
        shown = "n/a" if self.value is None else format_number(self.value)
        number = self.decisive
        # The relation printed is true of the number printed.
        holds = number is not None and _holds(number, self.operator, self.limit)
        relation = self.operator if holds else {">=": "<", "<=": ">"}[self.operator]
        if self.gate == "bound" and self.interval is not None and self.value is not None:
            # The relation printed holds for the number printed: the bound that decided.
            side = "lower" if self.operator == ">=" else "upper"
            text = (f"{scope}{self.metric} {shown}, 95% {side} bound "
                    f"{format_number(self.decisive or 0.0)} {relation} "
                    f"{format_number(self.limit)} (gate: bound; {self.describe_interval()})")
        else:
            text = f"{scope}{self.metric} {shown} {relation} {format_number(self.limit)}"
            if self.interval is not None:
                text += f" ({self.describe_interval()})"
        if holds and not self.passed:
            text += ", but undecided: it does not pass"
        if self.note:
            text += f" ({self.note})"
        return text

    def describe_undecided(self, n: int | None) -> str:
        """``n=400 cannot separate 0.920 from 0.900 at 95%; about n=865 would``."""
        scope = self.scope + " " if self.scope else ""
        value = "n/a" if self.value is None else format_number(self.value)
        text = (f"{scope}{self.metric}: n={n if n is not None else '?'} cannot separate {value} "
                f"from {format_number(self.limit)} at 95%")
        if self.needed_n is not None:
            text += f"; about n={self.needed_n:,} would"
        elif self.value is not None and _equal(self.value, self.limit):
            text += "; no sample size separates a value equal to its limit"
        return text

    def describe_interval(self) -> str:
        """``95% CI 0.81 to 0.86``; a one-sided interval (one end is the estimate itself, as for
        latency percentiles) reads as the bound it is."""
        if self.interval is None:
            return "no interval"
        low, high = self.interval
        if self.value is not None and low == self.value and high != low:
            return f"95% upper bound {format_number(high)}"
        if self.value is not None and high == self.value and low != high:
            return f"95% lower bound {format_number(low)}"
        return f"95% CI {format_number(low)} to {format_number(high)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "key": self.key,
            "operator": self.operator,
            "limit": self.limit,
            "value": self.value,
            "held": self.passed,
            "interval": list(self.interval) if self.interval else None,
            "resolved": self.resolved,
            "scope": self.scope or None,
            "note": self.note or None,
            "state": self.state,
            "gate": self.gate,
            "interval_method": self.method,
            "decided_by": "bound" if self.gate == "bound" and self.interval is not None
            else "estimate",
            "needed_sample_size": self.needed_n,
            "power": self.power,
        }

    def describe_power(self) -> str | None:
        """What this gate can decide at its n (:func:`power_text`), or None without a power
        estimate."""
        if not self.power:
            return None
        return power_text((self.scope + " " if self.scope else "") + self.metric, self.key,
                          self.operator, self.power)


@dataclass
class CheckResult:
    """What a check measured. ``passed`` follows from the thresholds."""

    metrics: dict[str, float] = field(default_factory=dict)
    thresholds: list[ThresholdResult] = field(default_factory=list)
    sample_size: int | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    interval_methods: dict[str, str] = field(default_factory=dict)
    """How each metric's interval is computed; ``exact`` marks a metric with no sampling
    uncertainty (a parameter count, a file size, a maximum over all inputs)."""
    skip_reason: str | None = None
    headline: str | None = None
    waived: dict[str, str] = field(default_factory=dict)
    """Declared thresholds that do not apply to this run, by metric, with the reason (e.g. the
    suite turned that measurement off); every other declared threshold gates."""
    outcomes: dict[str, list[bool]] = field(default_factory=dict)
    """Per-example outcomes whose mean is a metric (accuracy: each row right or wrong), in the
    order of the dataset whose sha256 is ``outcomes_digest``: a later run on the same data
    compares with them pair by pair (``history_gate``)."""
    outcomes_digest: str | None = None
    torch_threads: int | None = None
    """torch's intra-op threads the check ran with: set by a check that pins its own (latency's
    ``threads:``); otherwise the runner reads them after the check (None without torch)."""

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.thresholds)

    def warn_unresolved(self, thresholds: list[ThresholdResult], n: int) -> None:
        """Warn for each threshold whose 95% interval contains its limit, with about how many
        examples would decide it (see :func:`modeltests.stats.intervals.needed_sample_size`)."""
        from modeltests.stats.intervals import needed_sample_size

        for t in thresholds:
            if not t.resolved and t.interval is not None:
                if t.needed_n is None and t.value is not None:
                    t.needed_n = needed_sample_size(t.value, t.limit, t.interval, n, t.method)
                self.warnings.append(
                    f"{t.describe_undecided(n)} (95% interval {t.interval[0]:.3f}-"
                    f"{t.interval[1]:.3f} contains the threshold {t.limit:g})")

    def undecided(self) -> list[ThresholdResult]:
        """Thresholds the sample could not decide."""
        return [t for t in self.thresholds if t.state == "undecided"]

    def failed_thresholds(self) -> list[ThresholdResult]:
        return [t for t in self.thresholds if not t.passed]

    def key_metric(self) -> str:
        """A one-line summary for the terminal table."""
        if self.headline:
            return self.headline
        shown = self.failed_thresholds() or self.thresholds
        if shown:
            return "; ".join(t.describe() for t in shown[:2])
        return ", ".join(f"{k}={format_number(v)}" for k, v in list(self.metrics.items())[:3])


def evaluate_thresholds(
    params: BaseModel,
    metrics: dict[str, float],
    intervals: dict[str, tuple[float, float]] | None = None,
    gate: GateMode = "estimate",
    scope: str = "",
    limits: list[tuple[str, str, float]] | None = None,
    methods: dict[str, str] | None = None,
) -> list[ThresholdResult]:
    """Apply ``params``' ``min_*``/``max_*`` limits to ``metrics``.

    The rules, for each threshold:

    * a metric that is missing (None or absent) fails: a gate never passes on a number it could
      not measure;
    * with an interval, the threshold is *undecided* when the interval contains the limit;
      ``gate="estimate"`` compares the estimate with the limit, ``gate="bound"`` the interval's
      far side (so an undecided threshold fails under ``bound``);
    * a metric whose method is in :data:`POINT_METHODS` (``exact``, ``single measurement``)
      has no interval by nature: its value decides;
    * a metric with a method but no interval (too few samples for one) is undecided, and fails
      under ``bound``;
    * a metric with neither, under ``gate="bound"``, cannot be gated by its bound:
      :func:`unboundable` finds these so that the runner reports a configuration error.
    """
    intervals = intervals or {}
    methods = methods or {}
    results = []
    for metric, operator, limit in limits if limits is not None else threshold_limits(params):
        value = metrics.get(metric)
        interval = intervals.get(metric)
        method = methods.get(metric)
        passed = value is not None and _holds(value, operator, limit)
        resolved = True
        if interval is not None and value is not None:
            resolved = threshold_resolved(interval[0], interval[1], limit) \
                or _equal(interval[0], limit) or _equal(interval[1], limit)
            if gate == "bound":
                passed = _holds(interval[0] if operator == ">=" else interval[1], operator, limit)
        note = ""
        if interval is None and value is not None and method is not None \
                and method not in POINT_METHODS:
            resolved = False
            passed = passed and gate == "estimate"
            note = f"no {method} interval: too few samples (at least 2 are needed)"
        results.append(ThresholdResult(metric, operator, limit, value, passed, interval,
                                       resolved, scope, note=note, gate=gate, method=method))
    return results


def attach_power(result: CheckResult) -> None:
    """Give each threshold with an interval its power figures (see
    :func:`modeltests.stats.intervals.passing_value`): what the gate can decide at this n under
    the default (an undecided threshold fails). A scoped threshold (a slice, a class) has its
    own n, unknown here: it gets the half-width approximation and no ``n_for_margin``."""
    from modeltests.stats.intervals import (POWER, margin_sample_size, passing_value,
                                            power_margin)

    for t in result.thresholds:
        if t.interval is None or t.value is None or t.method in POINT_METHODS:
            continue
        n = None if t.scope else result.sample_size
        t.power = power_of(t.limit, t.operator, n, t.method if n else None, t.value, t.interval)


def power_of(limit: float, operator: str, n: int | None, method: str | None, value: float,
             interval: tuple[float, float]) -> dict[str, Any]:
    """The power figures of one threshold (JSON-ready): ``passing_value``, ``n_for_margin`` for
    a true value ``margin`` beyond the limit (its ``target``), and how they were computed."""
    from modeltests.stats.intervals import (POWER, margin_sample_size, passing_value,
                                            power_margin)

    margin = power_margin(limit)
    exact = method == "wilson" and 0 <= limit <= 1 and bool(n)
    return {
        "probability": POWER, "n": n,
        "passing_value": passing_value(limit, operator, n, method, value, interval),
        "margin": margin, "target": limit + margin if operator == ">=" else limit - margin,
        "n_for_margin": margin_sample_size(limit, operator, n, method, value, interval),
        "method": "exact binomial (Wilson gate)" if exact
        else "normal approximation from the interval's half-width",
    }


def power_text(metric: str, key: str, operator: str, power: dict[str, Any]) -> str:
    """``accuracy: passes 80% of runs only at a true value >= 0.939 (n=400); a true 0.92 would
    need about n=1,660``."""
    n = power.get("n")
    at = f" (n={n:,})" if n else ""
    passing = power.get("passing_value")
    if passing is None:
        text = f"{metric}: no true value passes {key} 80% of runs{at}"
    else:
        text = (f"{metric}: passes 80% of runs only at a true value {operator} "
                f"{format_number(passing)}{at}")
    needed = power.get("n_for_margin")
    if needed is not None:
        text += f"; a true {format_number(power['target'])} would need about n={needed:,}"
    return text


def unboundable(thresholds: list[ThresholdResult]) -> list[ThresholdResult]:
    """Thresholds under ``gate: bound`` whose metric has no interval and is not exact: the rule
    cannot apply, which is an error in the suite, never a silent fall back to the estimate."""
    return [t for t in thresholds if t.gate == "bound" and t.value is not None
            and t.interval is None and t.method is None]


def _holds(value: float, operator: str, limit: float) -> bool:
    """``value >= limit`` (or ``<=``), a value within :data:`LIMIT_TOLERANCE` being equal."""
    if _equal(value, limit):
        return True
    return value >= limit if operator == ">=" else value <= limit


def _equal(value: float, limit: float) -> bool:
    return abs(value - limit) <= LIMIT_TOLERANCE * max(1.0, abs(limit))


def gate_declared_thresholds(params: CheckParams, result: CheckResult, gate: GateMode) -> None:
    """Evaluate every threshold ``params`` declares that ``result`` did not evaluate itself.

    A check that declares ``min_*`` / ``max_*`` fields but forgets to gate on them must not pass
    silently: the missing ones are applied to ``result.metrics`` (and ``result.intervals``), and a
    declared threshold whose metric is absent fails with a message that names it.
    """
    # A check may evaluate a declared threshold under a scope (latency: the headline
    # configuration); the metric, direction and limit identify it.
    evaluated = {(t.metric, t.operator, t.limit) for t in result.thresholds}
    missing = [limit for limit in params.threshold_limits()
               if limit not in evaluated and limit[0] not in result.waived]
    for added in evaluate_thresholds(params, result.metrics, result.intervals, gate,
                                     limits=missing, methods=result.interval_methods):
        if added.value is None:
            added.note = f"not measured: the check returned no '{added.metric}' metric"
        result.thresholds.append(added)


def refuse_empty(result: CheckResult) -> None:
    """A check that measured nothing (zero samples, or no metric and no threshold) fails: a gate
    never passes on nothing."""
    if result.skip_reason is None and (result.sample_size == 0
                                       or not (result.metrics or result.thresholds)):
        result.thresholds.append(ThresholdResult(
            "sample_size", ">=", 1, result.sample_size or 0, False,
            note="the check measured nothing; a gate never passes on zero samples"))
