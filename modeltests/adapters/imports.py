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
