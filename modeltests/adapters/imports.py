"""Resolve ``package.module:attribute`` import paths named in suites."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from modeltests.adapters.base import LoadContext
from modeltests.errors import ModelLoadError


def resolve_import_path(target: str, context: LoadContext, key: str) -> Any:
    """Import ``module:attr`` (the suite's directory and the rootdir are importable)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ModelLoadError(f"{context.location}: {key}: expected 'package.module:name' "
                             f"(got {target!r})")
    for folder in (str(context.base_dir), str(context.rootdir)):
        if folder not in sys.path:
            sys.path.append(folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelLoadError(f"{context.location}: {key}: cannot import module "
                             f"{module_name!r}: {exc}") from None
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ModelLoadError(f"{context.location}: {key}: module {module_name!r} has no "
                                 f"attribute {attribute!r}")
        obj = getattr(obj, part)
    return obj


def defining_file(obj: Any) -> Path | None:
    """The source file that defines ``obj`` (a function, class or module), when it has one."""
    import inspect

    try:
        found = inspect.getsourcefile(obj if inspect.ismodule(obj) else inspect.getmodule(obj))  # type: ignore[arg-type]
    except TypeError:
        return None
    return Path(found).resolve() if found else None


def project_sources(starts: list[Path]) -> list[Path]:
    """``starts`` and every project module they import, transitively: the files whose code
    decides what a callable or a torch factory computes, for the model's fingerprint.

    Imports are read from each file's syntax tree (``import a.b``, ``from .c import d``, at
    module level or inside functions, imported yet or not) and found the way Python would find
    them (``importlib.machinery.PathFinder`` on ``sys.path``, without running them). A project
    module is one whose ``.py`` file lies outside the Python installation and its
    site-packages and outside modeltests: libraries are fingerprinted by their versions
    (``run.environment``), not their files. The limit: code loaded by other means (``exec``,
    ``importlib.import_module`` of a computed name, data files a module reads) is not seen."""
    import ast

    module_names = {Path(str(m.__file__)).resolve(): name for name, m in list(sys.modules.items())
                    if getattr(m, "__file__", None)}
    found: dict[Path, str | None] = {}
    queue = [(path, module_names.get(path)) for path in starts]
    while queue:
        path, name = queue.pop()
        if path in found or not _project_file(path):
            continue
        found[path] = name
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        package = (name if path.name == "__init__.py" else name.rpartition(".")[0]) \
            if name else None
        for imported in _imported_names(tree, package):
            located = _locate(imported)
            if located is not None:
                queue.append((located, imported))
    return sorted(found)


def _imported_names(tree: Any, package: str | None) -> list[str]:
    """Absolute module names an ``ast`` tree imports (``from a import b`` gives ``a`` and
    ``a.b``: ``b`` may be a module); relative ones need the module's ``package``."""
    import ast

    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not package:
                    continue
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    continue
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base:
                names += [base] + [f"{base}.{alias.name}" for alias in node.names
                                   if alias.name != "*"]
    return names


def _locate(name: str) -> Path | None:
    """The source file of module ``name`` (each parent package's ``__init__.py`` is imported
    by it too, so ``a.b`` gives ``a/b.py``; ``a`` is read on its own import), found on
    ``sys.path`` without importing anything; None for a built-in, a namespace package or a
    name that is not a module."""
    from importlib.machinery import PathFinder

    search: list[str] | None = None
    spec = None
    for i, part in enumerate(name.split(".")):
        try:
            spec = PathFinder.find_spec(".".join(name.split(".")[:i + 1]) if search else part,
                                        search)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
    origin = getattr(spec, "origin", None)
    return Path(origin).resolve() if origin and origin.endswith(".py") else None


def _project_file(path: Path) -> bool:
    import site
    import sysconfig

    if path.suffix != ".py" or not path.is_file():
        return False
    outside = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(),
               site.getusersitepackages(), *sysconfig.get_paths().values(),
               str(Path(__file__).resolve().parents[1])}
    return not any(path.is_relative_to(Path(folder).resolve()) for folder in outside if folder)
