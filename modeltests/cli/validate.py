"""``modeltests validate``: every configuration problem of suite files, without a model.

Reads each suite as a run would (the strict loader, the registry filled by the same hooks) and
reads its datasets (pandas), then tries every slice on its dataset. No model is loaded and
nothing imports torch: a CI job can check a suite in seconds before the expensive run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from modeltests.errors import ModelTestsError
from modeltests.extend.registry import Registry

if TYPE_CHECKING:
    from modeltests.suite.errors import Problem
    from modeltests.suite.loader import CheckEntry, Suite

SUFFIXES = (".yaml", ".yml")


@dataclass
class Validation:
    """What validating some paths found: located problems and warnings, and what was read."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    power: list[str] = field(default_factory=list)
    """What each threshold can decide at its dataset's n (:func:`power_lines`)."""
    suites: int = 0
    checks: int = 0


def validate_paths(paths: Sequence[Path], registry: Registry, rootdir: Path) -> Validation:
    """Validate the suite files at ``paths`` (folders: every suite-shaped YAML file in them)."""
    found = Validation()
    for path in paths:
        named = path.is_file() or path.suffix in SUFFIXES
        for file in [path] if named else _yaml_files(path):
            _validate_file(file, registry, rootdir, found, named)
    found.problems = list(dict.fromkeys(found.problems))  # each problem once, however found
    return found


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def _validate_file(file: Path, registry: Registry, rootdir: Path, found: Validation,
                   named: bool) -> None:
    from modeltests.suite.loader import NotASuiteError, load_suite

    try:
        suite = load_suite(file.resolve(), registry, rootdir)
    except NotASuiteError as exc:
        if named:
            found.problems.append(str(exc))
        return
    except ModelTestsError as exc:
        found.suites += 1
        found.problems.extend(str(exc).splitlines())
        return
    found.suites += 1
    found.checks += len(suite.checks)
    found.problems.extend(shared_once(suite))
    found.warnings.extend(suite.warnings)
    _validate_data(suite, found)


def shared_once(suite: Suite) -> list[str]:
    """The suite's problems, each once in line order; a problem several checks share (a missing
    dataset file they all read) names them instead of repeating itself per check."""
    users: dict[Problem, list[str]] = {problem: [] for problem in suite.problems}
    for entry in suite.checks:
        for problem in entry.problems:
            users.setdefault(problem, []).append(f"{entry.kind}[{entry.label}]")
    ordered = sorted(users, key=lambda p: (str(p.path), p.line))
    return [problem.render(suite.rootdir)
            + (f" (checks: {', '.join(users[problem])})" if len(users[problem]) > 1 else "")
            for problem in ordered]


def _locator(suite: Suite, name: str) -> Callable[[str], str]:
    return lambda key: suite.location("datasets", name, key)


def _validate_data(suite: Suite, found: Validation) -> None:
    """Read each dataset the suite declares; try each check's slices on its dataset."""
    from modeltests.data.datasets import load_dataset, slice_indices

    datasets = {}
    for name, spec in suite.datasets.items():
        full = Path(spec.path).expanduser()
        if not (full if full.is_absolute() else suite.base_dir / full).is_file():
            continue  # reported by the loader for the checks that use it
        try:
            datasets[name] = load_dataset(name, spec, suite.base_dir,
                                          suite.location("datasets", name),
                                          locate=_locator(suite, name))
        except ModelTestsError as exc:
            found.problems.extend(str(exc).splitlines())
    for entry in suite.checks:
        dataset = datasets.get(getattr(entry.params, "dataset", None) or "")
        sizes: dict[str, int] = {}
        for index, spec in enumerate(getattr(entry.params, "slices", None) or []):
            if dataset is None:
                continue
            try:
                sizes[spec.name] = len(slice_indices(
                    dataset, spec, suite.location("checks", entry.index, "slices", index)))
            except ModelTestsError as exc:
                found.problems.extend(str(exc).splitlines())
        if dataset is not None and entry.params is not None:
            found.power.extend(power_lines(suite, entry, len(dataset), sizes))


WILSON_GATED = {"accuracy": ("accuracy", "f1_micro")}
"""Per check kind, the metrics gated by a Wilson interval over the dataset's rows: their power
is known before a run, from n alone."""


def power_lines(suite: Suite, entry: CheckEntry, n: int, slice_sizes: dict[str, int]
                ) -> list[str]:
    """For each threshold of a check on a dataset of ``n`` rows, what it can decide: for a
    Wilson-gated rate (overall, or a slice of known size) the true value that passes 80% of
    runs and the n a 2-point margin needs (exact); the others are named, their power following
    from the interval a run measures (the report's "passes 80% at")."""
    from modeltests.result import power_of, power_text

    params = entry.params
    assert params is not None
    where = f"{suite.location('checks', entry.index)}: {entry.kind}[{entry.label}]"
    gated = WILSON_GATED.get(entry.kind, ())
    lines, later = [], []
    for metric, operator, limit in params.threshold_limits():
        if metric in gated:
            power = power_of(limit, operator, n, "wilson", limit, (limit, limit))
            lines.append(f"{where}: {power_text(metric, f'min_{metric}', operator, power)}")
        else:
            later.append(("min_" if operator == ">=" else "max_") + metric)
    for spec in getattr(params, "slices", None) or []:
        least = getattr(spec, "min_accuracy", None)
        if entry.kind in WILSON_GATED and least is not None and spec.name in slice_sizes:
            power = power_of(float(least), ">=", slice_sizes[spec.name], "wilson", float(least),
                             (float(least), float(least)))
            text = power_text(f"{spec.name} accuracy", "min_accuracy", ">=", power)
            lines.append(f"{where}: {text}")
    if later:
        lines.append(f"{where}: {', '.join(later)}: power follows from the interval a run "
                     "measures (the report's 'passes 80% at')")
    return lines
