"""``modeltests init MODEL [DATA]``: a starter suite for a model, with thresholds measured.

The model's labels come from its config (``id2label``); the text and label columns of DATA are
detected by name, then by shape. One run of the suite (through :class:`modeltests.Session`,
the same path as pytest) measures every check, and each threshold is proposed from what was
measured: the far end of the 95% interval, plus a stated margin (:data:`MARGIN`), so that the
same model on the same data passes (the interval clears the limit: decided, whatever the
undecided policy) and a clearly worse one does not. A limit that could never fail (a minimum
of 0, a rate's maximum of 1) is not written: its comment says why. Timed limits are pinned to
one thread and sit :data:`TIMING_FACTOR` times beyond the measured 95% bound (a shared machine's
noise). Each threshold gets a comment with the measured value, its interval and n, and what the
gate can decide at that n: the true value that passes 80% of runs
(:func:`modeltests.result.power_of`).
"""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from modeltests.errors import ModelTestsError

TEXT_NAMES = ("text", "sentence", "review", "content", "tweet", "body", "document", "utterance",
              "message", "comment", "input", "question")
LABEL_NAMES = ("label", "labels", "target", "class", "sentiment", "category", "y", "gold",
               "answer", "output", "intent")
MARGIN = 0.01
"""Added beyond the interval's far end, so that a rerun of the same model passes."""
TIMING_FACTOR = 10
"""Timed limits: this many times the measured 95% bound. A proposed limit must survive the next
run on the same machine whatever its neighbours do: with 4x, the suite init wrote for the test
model failed on its second run in CI (p50 103.7 ms against a limit of 71, one thread, load
average 9.2 on 2 CPUs), so absolute limits catch a model several times slower, not a busier
machine; a tighter gate belongs on dedicated hardware or against a second model
(``compare_to``)."""
WILSON_METRICS = ("accuracy",)
"""Metrics whose interval is Wilson's over the dataset's n (exact power)."""


@dataclass
class Columns:
    """What was detected in the data file."""

    text: str
    label: str
    label_map: dict[Any, str] | None = None
    notes: list[str] = field(default_factory=list)


def model_labels(model: str) -> list[str]:
    """The labels of a transformers model (a directory or a hub id) from its ``config.json``,
    in output order, without loading the model."""
    path = Path(model).expanduser()
    config_file = path / "config.json" if path.is_dir() else None
    if config_file is None:
        try:
            from huggingface_hub import hf_hub_download

            config_file = Path(hf_hub_download(model, "config.json"))
        except Exception as exc:  # offline, unknown id: say which
            raise ModelTestsError(f"cannot read the config of {model!r}: {exc}") from None
    if not config_file.is_file():
        raise ModelTestsError(f"{model}: no config.json (a transformers model directory holds "
                              "one)")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    id2label = config.get("id2label") or {}
    return [str(id2label[key]) for key in sorted(id2label, key=lambda k: int(k))]


def detect_columns(frame: Any, labels: Sequence[str]) -> Columns:
    """The text column (by name, else the longest strings), the label column (by name, else the
    fewest distinct values) and the ``label_map`` the data needs to speak the model's labels."""
    names = [str(c) for c in frame.columns]
    lowered = {n.lower(): n for n in names}
    text = next((lowered[n] for n in TEXT_NAMES if n in lowered), None)
    if text is None:
        from pandas.api.types import is_object_dtype, is_string_dtype

        strings = [n for n in names if is_string_dtype(frame[n]) or is_object_dtype(frame[n])]
        if not strings:
            raise ModelTestsError(f"no text column found (columns: {', '.join(names)})")
        text = max(strings, key=lambda n: frame[n].astype(str).str.len().mean())
    label = next((lowered[n] for n in LABEL_NAMES if n in lowered and lowered[n] != text), None)
    if label is None:
        candidates = [n for n in names if n != text and 2 <= frame[n].nunique() <= 50]
        if not candidates:
            raise ModelTestsError(f"no label column found (columns: {', '.join(names)})")
        label = min(candidates, key=lambda n: frame[n].nunique())
    columns = Columns(text, label)
    values = sorted({v for v in frame[label].dropna().tolist()}, key=str)
    columns.label_map = _label_map(values, list(labels), columns.notes)
    return columns


def _label_map(values: list[Any], labels: list[str], notes: list[str]) -> dict[Any, str] | None:
    if not labels or all(str(v) in labels for v in values):
        return None
    if all(_integer(v) is not None and 0 <= int(_integer(v) or 0) < len(labels) for v in values):
        notes.append("the data's labels are indices: label_map names them in the model's order")
        return {int(_integer(v) or 0): labels[int(_integer(v) or 0)] for v in values}
    folded = {label.lower(): label for label in labels}
    by_case = {v: folded.get(str(v).lower()) for v in values}
    if all(by_case.values()):
        return {v: str(name) for v, name in by_case.items()}
    by_prefix = {v: next((l for l in labels if l.lower().startswith(str(v).lower()[:3])), None)
                 for v in values}
    if all(by_prefix.values()) and len(set(by_prefix.values())) == len(values):
        notes.append("label_map was matched on the first letters: check it")
        return {v: str(name) for v, name in by_prefix.items()}
    notes.append(f"the data's labels {values} are not the model's {labels}: set label_map")
    return None


def _integer(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


# -- the suite ----------------------------------------------------------------------------------

@dataclass
class Threshold:
    """A proposed limit and the comment that says where it comes from; a ``value`` of None is a
    limit not proposed (it could not fail), the comment saying so."""

    key: str
    value: float | None
    why: str


Proposer = Callable[[dict[str, Any]], list[Threshold]]


def suite_text(name: str, model_path: str, data: tuple[str, Columns] | None,
               measured: dict[str, dict[str, Any]] | None, labels: Sequence[str],
               schema: str = "") -> str:
    """The YAML of the starter suite; ``measured`` maps ``kind[label]`` to its JSON entry and
    ``schema`` is the path of the suite JSON Schema for editors."""
    lines = [
        *([f"# yaml-language-server: $schema={schema}"] if schema else []),
        f"# Starter release gate for {model_path}, written by `modeltests init`.",
        *(["# Thresholds were proposed from one measured run: the far end of each 95% interval",
           f"# plus a margin of {MARGIN:g}, so that this model passes and a clearly worse one "
           "fails;", f"# timed limits are {TIMING_FACTOR}x the measured 95% bound, on one "
           "thread. Each comment says what the gate", "# can decide at this n: the true value "
           "that passes 80% of runs. Review each one: a gate should", "# say what the release "
           "needs, not only what the model does."] if measured is not None else
          ["# No thresholds yet (written with --no-measure): add min_* / max_* keys, or run "
           "`modeltests init` again", "# without --no-measure to have them proposed from a "
           "measured run."]),
        f"name: {_scalar(name)}",
        "model:",
        "  adapter: transformers",
        f"  path: {_scalar(model_path)}",
        f"  # labels (from config.json, in output order): {', '.join(labels) or 'unknown'}",
        "  batch_size: 32",
        "  device: cpu",
    ]
    if data is not None:
        path, columns = data
        lines += ["datasets:", "  eval:", f"    path: {_scalar(path)}",
                  f"    text_column: {_scalar(columns.text)}",
                  f"    label_column: {_scalar(columns.label)}"]
        if columns.label_map:
            mapping = ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in
                                columns.label_map.items())
            lines.append(f"    label_map: {{{mapping}}}")
        lines += [f"    # {note}" for note in columns.notes]
    lines += ["defaults:", "  seed: 0",
              "  # The 95% interval's far end decides: a threshold passes when its whole "
              "interval clears", "  # the limit. (The default undecided policy fails an "
              "interval that contains its limit", "  # under any gate.)",
              "  gate: bound", "checks:"]
    for block in _checks(data is not None, labels):
        lines += _check_lines(block, (measured or {}).get(block.ident))
    return "\n".join(lines) + "\n"


@dataclass
class CheckBlock:
    """One check of the starter suite: its fixed keys, its comment, how to propose limits, and
    the lines that follow them (the accuracy check's slices, with their own limits)."""

    ident: str
    comment: str
    keys: list[str]
    propose: Proposer | None = None
    commented_out: bool = False
    tail: Callable[[dict[str, Any] | None], list[str]] | None = None


def _checks(with_data: bool, labels: Sequence[str]) -> list[CheckBlock]:
    first = labels[0] if labels else "LABEL"
    blocks = [
        CheckBlock("availability[smoke]", "Loads, answers odd inputs (empty, 20,000 characters, "
                   "emoji...) with valid probabilities, deterministically.",
                   ["kind: availability", "name: smoke"], _availability),
    ]
    if with_data:
        blocks += [
            CheckBlock("accuracy[eval]", "Quality overall, for the worst class, and on short "
                       "texts (a slice: add your own hard cases).",
                       ["kind: accuracy", "dataset: eval"], _accuracy, tail=_slices),
            CheckBlock("calibration[eval]", "Do the probabilities mean what they say? The gated "
                       "ECE is the debiased root-mean-square calibration error (its interval "
                       "covers the truth); the plain ECE (torchmetrics') is reported beside it.",
                       ["kind: calibration", "dataset: eval"], _calibration),
            CheckBlock("coverage[eval]", "Selective prediction: the risk-coverage curve of "
                       "answering only confident rows (AURC: lower is better).",
                       ["kind: coverage", "dataset: eval"], _rate("aurc", "max")),
            CheckBlock("robustness[deepwordbug]", "A character-level adversarial attack "
                       "(TextAttack's DeepWordBug, offline) on 20 sampled examples.",
                       ["kind: robustness", "name: deepwordbug", "dataset: eval",
                        "recipe: deepwordbug", "num_examples: 20", "query_budget: 500",
                        "time_budget_s: 300"], _robustness),
            CheckBlock("invariance[neutral-edits]", "Edits that must not change the label "
                       "(CheckList INV).",
                       ["kind: invariance", "name: neutral-edits", "dataset: eval",
                        "perturbations: [punctuation, case, whitespace, names, locations, "
                        "numbers, append_url]", "samples: 100"], _rate("pass_rate", "min")),
            CheckBlock("property_search[typos]", "hypothesis searches for a few typos that flip "
                       "the label, shrunk to the fewest edits.",
                       ["kind: property_search", "name: typos", "dataset: eval", "samples: 10",
                        "edits: [typos]", "max_edits: 2", "budget: 50"],
                       _rate("flip_rate", "max")),
            CheckBlock("quantization[int8]", "int8 dynamic quantization of a copy: accuracy "
                       "drop (paired), agreement, size.",
                       ["kind: quantization", "name: int8", "dataset: eval",
                        "scheme: int8_dynamic", "speed_examples: 32", "speed_rounds: 1"],
                       _compression),
            CheckBlock("pruning[l1-30%]", "30% of every Linear weight zeroed by magnitude.",
                       ["kind: pruning", "name: l1-30%", "dataset: eval", "sparsity: 0.3",
                        "speed_examples: 0"], _compression),
            CheckBlock("directional[example]", "DIR needs to know what your labels mean: "
                       "write the text to append and the direction, then uncomment.",
                       ["kind: directional", "name: example", "dataset: eval",
                        f"only_label: {_scalar(first)}", "append: \"<a sentence that should not "
                        f"make {first} more likely>\"",
                        f"expect: {{label: {_scalar(first)}, direction: not_increase, "
                        "tolerance: 0.05}", "min_pass_rate: 0.9"], commented_out=True),
        ]
    blocks += [
        CheckBlock("behavior[example]", "MFT: template sentences that must all get one label "
                   "({name}, {thing}, {pos_adj}... are built-in lexicons, or give your own under "
                   "lexicons:); write yours, then uncomment.",
                   ["kind: behavior", "name: example",
                    f"template: \"<a sentence with {{name}} or {{thing}} that is always "
                    f"{first}>\"", f"expected: {_scalar(first)}", "min_pass_rate: 0.9"],
                   commented_out=True),
        CheckBlock("footprint[size]", "Parameters and GFLOPs per input at 128 tokens: counted, "
                   "not sampled, so a model that grows is caught exactly.",
                   ["kind: footprint", "name: size", "sequence_lengths: [128]"], _footprint),
        CheckBlock("latency[cpu]", "Per-call latency on the CPU, batch 1 and 8, 32 and 128 "
                   "tokens, on one thread (timings on a shared machine vary with its load); "
                   "gated on the largest configuration.",
                   ["kind: latency", "name: cpu", "device: cpu", "threads: 1",
                    "batch_sizes: [1, 8]", "sequence_lengths: [32, 128]", "mode: end_to_end",
                    "min_iterations: 20", "min_seconds: 0.5", "max_seconds: 5"], _latency),
    ]
    return blocks


def _check_lines(block: CheckBlock, entry: dict[str, Any] | None) -> list[str]:
    prefix = "  # " if block.commented_out else "  "
    lines = [f"  # {line}" for line in textwrap.wrap(block.comment, 94, break_on_hyphens=False)]
    for i, key in enumerate(block.keys):
        lines.append(f"{prefix}{'- ' if i == 0 else '  '}{key}")
    if block.propose is None or block.commented_out:
        return lines
    if entry is not None and (entry.get("outcome") in ("error", "skipped")
                              or not entry.get("metrics")):
        reason = (entry.get("message") or entry.get("outcome") or "").splitlines()
        lines.append(f"    # not measured here: {reason[-1] if reason else 'no metrics'}")
        entry = None
    for t in block.propose(entry) if entry is not None else []:
        lines += [f"    # {line}" for line in textwrap.wrap(t.why, 92, break_on_hyphens=False)]
        if t.value is not None:
            lines.append(f"    {t.key}: {_scalar(t.value)}")
    if block.tail is not None:
        lines += block.tail(entry)
    return lines


SHORT = {"name": "short", "max_words": 5, "min_samples": 20}


def _slices(entry: dict[str, Any] | None) -> list[str]:
    """The accuracy check's slice, with a limit proposed from the slice's own interval."""
    fields: dict[str, Any] = dict(SHORT)
    lines = ["    slices:"]
    measured = next((s for s in ((entry or {}).get("details") or {}).get("slices", [])
                     if s.get("name") == "short" and s.get("interval")), None)
    if measured is not None and measured.get("n", 0) >= SHORT["min_samples"]:
        low = measured["interval"][0]
        limit = _floor(low - MARGIN)
        if limit > 0:
            fields["min_accuracy"] = limit
            power = _power({"metrics": {"accuracy": measured["accuracy"]},
                            "intervals": {"accuracy": measured["interval"]}},
                           "accuracy", ">=", limit, int(measured["n"]))
            why = (f"short: measured {measured['accuracy']:.3f} (95% lower bound {low:.3f}, "
                   f"n={measured['n']}); limit {MARGIN:g} below the bound; {power}")
            lines += [f"      # {line}" for line in textwrap.wrap(why, 90,
                                                                   break_on_hyphens=False)]
    shown = ", ".join(f"{key}: {_scalar(value)}" for key, value in fields.items())
    return lines + [f"      - {{{shown}}}"]


# -- proposals ----------------------------------------------------------------------------------

def _floor(value: float, digits: int = 2) -> float:
    scale = 10.0 ** digits
    return math.floor(value * scale + 1e-9) / scale


def _ceil(value: float, digits: int = 2) -> float:
    scale = 10.0 ** digits
    return math.ceil(value * scale - 1e-9) / scale


def _power(entry: dict[str, Any], metric: str, operator: str, limit: float,
           n: int | None = None) -> str:
    """What the gate can decide at its n (:func:`modeltests.result.power_text`)."""
    from modeltests.result import power_of, power_text

    value = entry["metrics"].get(metric)
    interval = (entry.get("intervals") or {}).get(metric)
    size = n if n is not None else int(entry.get("sample_size") or 0)
    if not isinstance(value, (int, float)) or not interval or not size:
        return "no interval: the measured value decides"
    method = (entry.get("interval_methods") or {}).get(metric) or \
        ("wilson" if metric in WILSON_METRICS else None)
    power = power_of(limit, operator, size, method, float(value),
                     (float(interval[0]), float(interval[1])))
    key = ("min_" if operator == ">=" else "max_") + metric
    return power_text("this gate", key, operator, power).removeprefix("this gate: ")


def _lower_limit(entry: dict[str, Any], metric: str, key: str) -> Threshold | None:
    value = entry["metrics"].get(metric)
    if not isinstance(value, (int, float)):
        return None
    low = (entry.get("intervals") or {}).get(metric, [value, value])[0]
    limit = _floor(low - MARGIN)
    n = int(entry.get("sample_size") or 0)
    measured = f"measured {value:.3f} (95% lower bound {low:.3f}, n={n})"
    if limit <= 0:
        return Threshold(key, None, f"{key}: not proposed: {measured}, and a minimum of 0 "
                                    "cannot fail; set one the release needs")
    return Threshold(key, limit, f"{measured}; limit {MARGIN:g} below the bound; "
                                 f"{_power(entry, metric, '>=', limit)}")


def _upper_limit(entry: dict[str, Any], metric: str, key: str, cap: float = 1.0
                 ) -> Threshold | None:
    value = entry["metrics"].get(metric)
    if not isinstance(value, (int, float)):
        return None
    high = (entry.get("intervals") or {}).get(metric, [value, value])[1]
    limit = _ceil(high + MARGIN)
    n = int(entry.get("sample_size") or 0)
    measured = f"measured {value:.3f} (95% upper bound {high:.3f}, n={n})"
    if limit >= cap:
        return Threshold(key, None, f"{key}: not proposed: {measured}, and a maximum of "
                                    f"{cap:g} cannot fail; set one as the model improves")
    return Threshold(key, limit, f"{measured}; limit {MARGIN:g} above the bound; "
                                 f"{_power(entry, metric, '<=', limit)}")


def _rate(metric: str, side: str) -> Proposer:
    def propose(entry: dict[str, Any]) -> list[Threshold]:
        found = (_lower_limit(entry, metric, f"min_{metric}") if side == "min"
                 else _upper_limit(entry, metric, f"max_{metric}"))
        return [found] if found else []
    return propose


def _availability(entry: dict[str, Any]) -> list[Threshold]:
    metrics = entry["metrics"]
    found = []
    if isinstance(metrics.get("load_seconds"), (int, float)):
        limit = max(30.0, math.ceil(metrics["load_seconds"] * 3))
        found.append(Threshold("max_load_seconds", limit, f"loaded in "
                               f"{metrics['load_seconds']:.1f} s here; 3x for slower CI machines"))
    if isinstance(metrics.get("size_on_disk_mb"), (int, float)):
        limit = _ceil(metrics["size_on_disk_mb"] * 1.1, 1)
        found.append(Threshold("max_size_on_disk_mb", limit, f"{metrics['size_on_disk_mb']:.1f} "
                               "MB now: a release that grows by more than 10% is noticed"))
    return found


def _accuracy(entry: dict[str, Any]) -> list[Threshold]:
    return [t for t in (_lower_limit(entry, "accuracy", "min_accuracy"),
                        _lower_limit(entry, "worst_class_recall", "min_worst_class_recall"),
                        _lower_limit(entry, "f1_macro", "min_f1_macro")) if t is not None]


def _calibration(entry: dict[str, Any]) -> list[Threshold]:
    return [t for t in (_upper_limit(entry, "ece", "max_ece"),
                        _upper_limit(entry, "brier", "max_brier", cap=2.0)) if t is not None]


def _footprint(entry: dict[str, Any]) -> list[Threshold]:
    metrics = entry["metrics"]
    found = []
    if isinstance(metrics.get("parameters"), (int, float)):
        found.append(Threshold("max_parameters", float(metrics["parameters"]),
                               f"{metrics['parameters']:,.0f} parameters now (counted: any "
                               "growth fails)"))
    if isinstance(metrics.get("gflops"), (int, float)):
        found.append(Threshold("max_gflops", _ceil(metrics["gflops"] * 1.1, 3),
                               f"{metrics['gflops']:.4g} GFLOPs per input at 128 tokens now "
                               "(counted); 10% of headroom"))
    return found


def _robustness(entry: dict[str, Any]) -> list[Threshold]:
    found = [t for t in (_upper_limit(entry, "attack_success_rate", "max_attack_success_rate"),)
             if t is not None]  # not proposed at 1: a maximum of 1 cannot fail
    attacked = entry["metrics"].get("examples_attacked")
    if isinstance(attacked, (int, float)) and attacked:
        found.append(Threshold("min_examples_attacked", float(math.floor(attacked * 0.75)),
                               f"{attacked:.0f} examples were attacked here (the others were "
                               "misclassified already); fewer means the budget ran out"))
    return found


def _compression(entry: dict[str, Any]) -> list[Threshold]:
    found = []
    drop = _upper_limit(entry, "accuracy_drop", "max_accuracy_drop")
    if drop is not None and drop.value is not None and drop.value < 0.02:
        drop.value = 0.02
        drop.why += "; raised to 0.02, the least drop worth gating"
    if drop is not None:
        found.append(drop)
    agreement = _lower_limit(entry, "agreement", "min_agreement")
    if agreement is not None:
        found.append(agreement)
    return found


def _latency(entry: dict[str, Any]) -> list[Threshold]:
    metrics, intervals = entry["metrics"], entry.get("intervals") or {}
    found = []
    p50 = metrics.get("p50_ms")
    if isinstance(p50, (int, float)):
        high = float((intervals.get("p50_ms") or [p50, p50])[1])
        found.append(Threshold("max_p50_ms", float(math.ceil(high * TIMING_FACTOR)),
                               f"p50 {p50:.1f} ms here (95% upper bound {high:.1f}), one thread; "
                               f"{TIMING_FACTOR}x the bound, to survive a loaded CI machine "
                               "(tighten on dedicated hardware, or gate against a second model "
                               "with compare_to)"))
    throughput = metrics.get("throughput")
    if isinstance(throughput, (int, float)) and throughput > 0:
        low = float((intervals.get("throughput") or [throughput, throughput])[0])
        limit = _floor(low / TIMING_FACTOR, 1)
        if limit > 0:
            found.append(Threshold("min_throughput", limit,
                                   f"{throughput:.1f} examples/s here (95% lower bound "
                                   f"{low:.1f}), one thread; 1/{TIMING_FACTOR} of the bound"))
    return found


def _scalar(value: Any) -> str:
    import yaml

    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


# -- the command --------------------------------------------------------------------------------

def suite_name(model: str) -> str:
    """A file-friendly name for the suite of ``model`` (a directory or a hub id)."""
    local = Path(model).expanduser()
    raw = local.resolve().name if local.is_dir() else model.rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-.") or "model"


def init(model: str, data: Path | None, output: Path | None, rootdir: Path,
         measure: bool = True, echo: Callable[[str], None] = print) -> Path:
    """Write the starter suite for ``model`` (and ``data``) to ``output`` (default
    ``suites/<model name>.yaml``); measure it first unless ``measure`` is False."""
    from modeltests.data.datasets import read_table

    name = suite_name(model)
    output = output or Path("suites") / f"{name}.yaml"
    if output.exists():
        raise ModelTestsError(f"{output} exists: choose another path with -o")
    local = Path(model).expanduser()
    model_path = _relative(local.resolve(), output.parent) if local.is_dir() else model
    labels = model_labels(model)
    echo(f"modeltests: labels of {model}: {', '.join(labels) or 'none in its config'}")
    found = None
    if data is not None:
        if not data.is_file():
            raise ModelTestsError(f"data file not found: {data}")
        columns = detect_columns(read_table(data), labels)
        echo(f"modeltests: {data}: text column {columns.text!r}, label column {columns.label!r}"
             + (f", label_map {columns.label_map}" if columns.label_map else ""))
        found = (_relative(data.resolve(), output.parent), columns)
    measured = _measure(output, name, model_path, found, labels, rootdir, echo) if measure \
        else None
    output.parent.mkdir(parents=True, exist_ok=True)
    schema = _relative(Path(__file__).resolve().parents[1] / "schema" / "suite.schema.json",
                       output.parent)
    output.write_text(suite_text(name, model_path, found, measured, labels, schema),
                      encoding="utf-8")
    return output


def _measure(output: Path, name: str, model_path: str, data: tuple[str, Columns] | None,
             labels: Sequence[str], rootdir: Path, echo: Callable[[str], None]
             ) -> dict[str, dict[str, Any]]:
    """Run the suite without thresholds once; the JSON entries by ``kind[label]``."""
    from modeltests.api import Session

    draft = output.with_name(f".{output.stem}.measuring.yaml")
    output.parent.mkdir(parents=True, exist_ok=True)
    draft.write_text(suite_text(name, model_path, data, None, labels), encoding="utf-8")
    echo("modeltests: measuring every check once to propose thresholds (a few minutes; "
         "--no-measure skips it)")
    try:
        with Session(rootdir, paths=[draft]) as session:
            run = session.run(draft)
    finally:
        draft.unlink(missing_ok=True)
    for check in run.checks:
        echo(f"  {check.name}: {check.outcome}")
    return {check.name: check.entry for check in run.checks}


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path, folder.resolve())).as_posix()
