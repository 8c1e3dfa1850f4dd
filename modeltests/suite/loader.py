"""YAML file -> validated suite: every problem in the file is found in one pass.

The result keeps going as far as it can: a broken check entry does not hide the valid ones, so
the plugin can run the good checks and report each bad one with its own located message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Collection
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from modeltests.adapters.base import AdapterParams, LoadContext
from modeltests.errors import SuiteError
from modeltests.extend.registry import Registry
from modeltests.result import CheckParams
from modeltests.suite.errors import Problem, problem_at, problems_from_validation, render_problems
from modeltests.data.spec import DatasetSpec
from modeltests.serving.spec import ServeSpec
from modeltests.suite.schema import Defaults, SuiteHeader
from modeltests.suite.source import KeyPath, YamlSource, YamlSyntaxError, load_yaml
from modeltests.support.text import shown_path, unknown_name_message

M = TypeVar("M", bound=BaseModel)

DEFAULT_ADAPTER = "transformers"
SUITE_KEYS = ("model", "checks")


@dataclass
class CheckEntry:
    """One item of ``checks:``: its parameters when valid, else the problems found."""

    index: int
    kind: str
    line: int
    params: CheckParams | None
    problems: list[Problem] = field(default_factory=list)
    written_label: str | None = None
    """The label the entry's YAML gives (its ``name``, else its ``dataset``), read before
    validation: a check's id stays ``accuracy[eval]`` when its parameters fail to parse."""

    @property
    def label(self) -> str:
        if self.params is not None:
            return self.params.label(self.index)
        return self.written_label or str(self.index)


@dataclass
class Suite:
    """A suite file after validation."""

    path: Path
    source: YamlSource
    name: str
    model: AdapterParams | None
    models: dict[str, AdapterParams]
    datasets: dict[str, DatasetSpec]
    defaults: Defaults
    checks: list[CheckEntry]
    problems: list[Problem]
    rootdir: Path | None = None
    warnings: list[str] = field(default_factory=list)
    serve: ServeSpec | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def line_of(self, *key: Any) -> int:
        return self.source.line_of(tuple(key))

    def location(self, *key: Any) -> str:
        """``suites/x.yaml:12`` for messages raised after validation (e.g. at load time).

        The path is shown relative to the rootdir, as in collection errors.
        """
        return f"{self.shown_path}:{self.line_of(*key)}"

    @property
    def shown_path(self) -> str:
        """The suite file as messages and reports show it: relative to the rootdir."""
        return shown_path(self.path, self.rootdir)

    def render_problems(self, problems: list[Problem] | None = None) -> str:
        """The suite's problems (or ``problems``), one located line each."""
        return render_problems(self.problems if problems is None else problems, self.rootdir)

    def require_valid(self) -> Suite:
        """This suite, or a :class:`SuiteError` listing every problem in it."""
        problems = self.problems + [p for entry in self.checks for p in entry.problems]
        if problems:
            raise SuiteError(self.render_problems(problems))
        return self


class NotASuiteError(SuiteError):
    """A YAML file that is not a modeltests suite (no ``model`` or ``checks`` key)."""


def load_suite(path: Path, registry: Registry, rootdir: Path) -> Suite:
    """Read and validate the suite file at ``path``: the one way from YAML to a suite.

    Raises :class:`SuiteError` (located) when the file is missing or is not valid YAML, and
    :class:`NotASuiteError` when it is YAML but not a suite. Problems inside a suite do not
    raise: they stay on the returned :class:`Suite` (and its entries) so that the valid checks
    can still run; :meth:`Suite.require_valid` turns them into an error.
    """
    shown = shown_path(path, rootdir)
    if not path.is_file():
        raise SuiteError(f"suite file not found: {shown}")
    try:
        source = load_yaml(path)
    except YamlSyntaxError as exc:
        lines = "\n".join(f"{shown}:{line}: {message}" for line, message in exc.problems)
        raise SuiteError(lines, exc.line) from None
    if not looks_like_suite(source.data):
        raise NotASuiteError(f"{shown}:1: not a modeltests suite: a suite is a mapping with the "
                             "keys 'model' and 'checks'", 1)
    suite = build_suite(source, registry, rootdir)
    if not suite.checks:
        problems = suite.problems or [Problem(path, suite.line_of("checks"), ("checks",),
                                              "the suite has no checks")]
        raise SuiteError(render_problems(problems, rootdir), min(p.line for p in problems))
    return suite


def looks_like_suite(data: Any) -> bool:
    """True when the YAML document is a mapping with a ``model`` or ``checks`` key."""
    return isinstance(data, dict) and any(key in data for key in SUITE_KEYS)


def build_suite(source: YamlSource, registry: Registry, rootdir: Path) -> Suite:
    """Validate a parsed suite file against the registry; collect every problem."""
    data = source.data if isinstance(source.data, dict) else {}
    problems: list[Problem] = []
    if not isinstance(source.data, dict):
        problems.append(problem_at(source, (), "a suite file must be a mapping with "
                                   "'model' and 'checks' keys"))
    header = _validate_header(source, data, problems)
    context = LoadContext(base_dir=source.path.parent, rootdir=rootdir,
                          builtin_names=tuple(registry.builtin_model_names))
    model = _validate_model(source, ("model",), data.get("model"), registry, context, problems)
    models = {
        name: spec
        for name, raw in (data.get("models") or {}).items()
        if isinstance(data.get("models"), dict)
        and (spec := _validate_model(source, ("models", name), raw, registry, context, problems))
    }
    if data.get("serve") is None:
        named = [(("model",), model), *((("models", n), m) for n, m in models.items())]
        problems.extend(_placeholders_without_server(source, named))
    datasets = dict(header.datasets) if header else {}
    raw_checks: list[Any] = data["checks"] if isinstance(data.get("checks"), list) else []
    # Declared names count as known even when their own entry is invalid (reported once there).
    declared = {str(k): v for k, v in data["datasets"].items()} \
        if isinstance(data.get("datasets"), dict) else datasets
    deprecated: list[Problem] = []
    checks = [
        _validate_check(source, index, raw, registry, declared, set(models), deprecated)
        for index, raw in enumerate(raw_checks)
    ]
    warnings = [p.render(rootdir) for p in deprecated]
    warnings += _attach_missing_datasets(source, datasets, checks, raw_checks, rootdir)
    _dedupe_labels(checks)
    return Suite(
        path=source.path,
        source=source,
        name=(header.name if header and header.name else source.path.stem),
        model=model,
        models=models,
        datasets=datasets,
        defaults=header.defaults if header else Defaults(),
        checks=checks,
        problems=problems,
        rootdir=rootdir,
        warnings=warnings,
        serve=header.serve if header else None,
    )


def _validate_header(source: YamlSource, data: dict[str, Any], problems: list[Problem]
                     ) -> SuiteHeader | None:
    try:
        return SuiteHeader.model_validate(data)
    except ValidationError as error:
        problems.extend(problems_from_validation(source, (), data, SuiteHeader, error))
    # Keep what is valid (each part on its own) so that the rest of the file can be checked.
    salvage: dict[str, Any] = {"model": {}, "checks": []}
    for key in ("defaults", "name", "serve"):
        try:
            SuiteHeader.model_validate({**salvage, key: data.get(key)})
            salvage[key] = data.get(key)
        except ValidationError:
            pass
    raw_datasets = data.get("datasets")
    if isinstance(raw_datasets, dict):
        salvage["datasets"] = {}
        for name, raw in raw_datasets.items():
            try:
                salvage["datasets"][name] = DatasetSpec.model_validate(raw)
            except ValidationError:
                pass
    try:
        return SuiteHeader.model_validate(salvage)
    except ValidationError:
        return None


def _validate_model(
    source: YamlSource,
    key: KeyPath,
    raw: Any,
    registry: Registry,
    context: LoadContext,
    problems: list[Problem],
) -> AdapterParams | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(problem_at(source, key, f"must be a mapping with an 'adapter' key "
                                   f"(got {raw!r})"))
        return None
    name = raw.get("adapter", DEFAULT_ADAPTER)
    adapter = registry.get_adapter(str(name))
    if adapter is None:
        message = unknown_name_message(f"unknown model adapter {name!r}", str(name),
                                       registry.adapter_names)
        problems.append(problem_at(source, key + ("adapter",), message))
        return None
    params = _validate(source, key, {"adapter": name, **raw}, adapter.params, problems)
    if params is not None:
        for sub_key, message in _static_problems(params, context):
            problems.append(problem_at(source, key + (sub_key,), message))
    return params


def _placeholders_without_server(source: YamlSource,
                                 named: list[tuple[KeyPath, AdapterParams | None]]
                                 ) -> list[Problem]:
    """A ``{port}`` in a model's ``url`` is filled by the ``serve:`` section's server only."""
    from modeltests.support.placeholders import placeholders_in

    found = []
    for key, params in named:
        url = getattr(params, "url", None)
        if isinstance(url, str) and placeholders_in(url):
            found.append(problem_at(source, key + ("url",), "placeholders such as '{port}' are "
                                    "filled by a 'serve:' section, and the suite has none "
                                    f"(got {url!r})"))
    return found


def _static_problems(params: AdapterParams, context: LoadContext) -> list[tuple[str, str]]:
    check = getattr(params, "static_problems", None)
    return list(check(context)) if callable(check) else []


def _validate(
    source: YamlSource, key: KeyPath, raw: dict[str, Any], model: type[M], problems: list[Problem]
) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems.extend(problems_from_validation(source, key, raw, model, error))
        return None


def _attach_missing_datasets(source: YamlSource, datasets: dict[str, DatasetSpec],
                             checks: list[CheckEntry], raw_checks: list[Any], rootdir: Path
                             ) -> list[str]:
    """A dataset file that is missing is a problem of the checks that use it, and only theirs;
    one that no check uses is a warning. Returns the warnings."""
    warnings = []
    for name, spec in datasets.items():
        path = Path(spec.path).expanduser()
        full = path if path.is_absolute() else source.path.parent / path
        if full.is_file() or (spec.image is not None and full.is_dir()):  # a folder per class
            continue
        problem = problem_at(source, ("datasets", name, "path"), f"dataset file not found: {full}")
        users = [entry for entry, raw in zip(checks, raw_checks)
                 if isinstance(raw, dict) and raw.get("dataset") == name]
        for entry in users:
            entry.problems.append(problem)
        if not users:
            warnings.append(problem.render(rootdir) + " (no check uses it)")
    return warnings


def _validate_check(
    source: YamlSource,
    index: int,
    raw: Any,
    registry: Registry,
    datasets: dict[str, DatasetSpec],
    model_names: set[str],
    deprecated: list[Problem],
) -> CheckEntry:
    key = ("checks", index)
    line = source.line_of(key)
    if not isinstance(raw, dict):
        problem = problem_at(source, key, f"each check must be a mapping with a 'kind' key "
                             f"(got {raw!r})")
        return CheckEntry(index, "invalid", line, None, [problem])
    kind_name = raw.get("kind")
    if kind_name is None:
        problem = problem_at(source, key, "required key 'kind' is missing (allowed: "
                             f"{', '.join(registry.check_names)})")
        return CheckEntry(index, "invalid", line, None, [problem], _written_label(raw))
    kind = registry.get_check(str(kind_name))
    if kind is None:
        message = unknown_name_message(f"unknown check kind {kind_name!r}", str(kind_name),
                                       registry.check_names)
        return CheckEntry(index, str(kind_name), line, None,
                          [problem_at(source, key + ("kind",), message)], _written_label(raw))
    problems: list[Problem] = []
    raw = _renamed_keys(source, key, raw, kind.params, problems, deprecated)
    params = _validate(source, key, raw, kind.params, problems)
    problems.extend(_reference_problems(source, key, raw, datasets, model_names,
                                        _model_reference_fields(kind.params)))
    return CheckEntry(index, kind.name, line, None if problems else params, problems,
                      _written_label(raw))


def _written_label(raw: dict[str, Any]) -> str | None:
    """What :meth:`CheckParams.label` would give, read from the raw entry."""
    for key in ("name", "dataset"):
        value = raw.get(key)
        if isinstance(value, str) and value:
            return value
    return None


MODEL_REFERENCE_MARK = "x-modeltests-model-reference"
"""Marks a check parameter that names a model under ``models:``; its value says what the runner
holds it to (``"same-labels"``: the named model predicts the suite model's label names)."""


def model_references(params: type[BaseModel]) -> dict[str, str]:
    """Fields of a check's parameters marked with :data:`MODEL_REFERENCE_MARK`, with their rule."""
    marked = {}
    for name, info in params.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get(MODEL_REFERENCE_MARK), str):
            marked[name] = str(extra[MODEL_REFERENCE_MARK])
    return marked


def _model_reference_fields(params: type[BaseModel]) -> list[str]:
    """``compare_to`` and the fields marked as model references (``regression``'s
    ``baseline``)."""
    return ["compare_to", *model_references(params)]


def _renamed_keys(source: YamlSource, key: KeyPath, raw: dict[str, Any],
                  params: type[CheckParams], problems: list[Problem],
                  deprecated: list[Problem]) -> dict[str, Any]:
    """``raw`` with the keys a kind renamed (its ``renamed_keys``: old -> new) under their new
    names; each old key read is a deprecation warning, both given at once a problem."""
    renamed: dict[str, str] = getattr(params, "renamed_keys", {})
    raw = dict(raw)
    for old, new in renamed.items():
        if old not in raw:
            continue
        if new in raw:
            problems.append(problem_at(source, key + (old,), f"give either '{new}' or its old "
                                       f"name '{old}', not both"))
            raw.pop(old)
            continue
        raw[new] = raw.pop(old)
        deprecated.append(problem_at(source, key + (old,), f"renamed '{new}' (same meaning); "
                                     f"the old name still works for now: rename it"))
    return raw


def _reference_problems(
    source: YamlSource, key: KeyPath, raw: dict[str, Any], datasets: dict[str, Any],
    model_names: set[str], model_fields: list[str]
) -> list[Problem]:
    """Names that must refer to the suite's ``datasets:`` / ``models:``."""
    problems = []
    references: list[tuple[str, Collection[str], str]] = [("dataset", datasets, "dataset")]
    references += [(name, model_names, "model") for name in model_fields]
    for field_name, known, noun in references:
        value = raw.get(field_name)
        if isinstance(value, str) and value not in known:
            declared = "datasets" if noun == "dataset" else "models"
            message = unknown_name_message(f"unknown {noun} {value!r}", value, sorted(known))
            if not known:
                message += f" (the suite declares no '{declared}:')"
            problems.append(problem_at(source, key + (field_name,), message))
    return problems


def _dedupe_labels(checks: list[CheckEntry]) -> None:
    seen: dict[str, int] = {}
    for entry in checks:
        ident = f"{entry.kind}[{entry.label}]"
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] > 1 and entry.params is not None:
            entry.params = entry.params.model_copy(
                update={"name": f"{entry.label}-{seen[ident]}"}
            )
