"""The registration hooks outside pytest: the same plugins a pytest run would call.

:func:`modeltests.run` and ``python -m modeltests`` build their registry here, so a check kind or
adapter registered in a ``conftest.py`` works everywhere. Found like pytest finds them: the
built-in plugin, the ``conftest.py`` of the rootdir and of every folder from there down to each
suite, and any plugin passed explicitly. (Plugins that pytest loads through ``-p`` or a
``pytest11`` entry point are passed as ``plugins=`` here.)
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterable, Sequence

import pluggy
from pluggy import HookimplOpts

from modeltests.extend import builtin, hookspecs
from modeltests.errors import ModelTestsError
from modeltests.extend.registry import Registry, registry_from_hooks


def standalone_registry(rootdir: Path, paths: Sequence[Path] = (),
                        plugins: Sequence[object | str] = ()) -> Registry:
    """A registry filled by the built-ins, the conftest files for ``paths`` and ``plugins``.

    ``plugins`` are modules, objects with hook methods, or importable module names.
    """
    manager = _HookManager("pytest")
    manager.add_hookspecs(hookspecs)
    manager.register(builtin, "modeltests.extend.builtin")
    for conftest in conftest_files(rootdir, paths):
        manager.register(_import_conftest(conftest), f"conftest:{conftest}")
    for plugin in plugins:
        manager.register(importlib.import_module(plugin) if isinstance(plugin, str) else plugin)
    return registry_from_hooks(manager.hook)


class _HookManager(pluggy.PluginManager):
    """Takes unmarked ``pytest_modeltests_*`` functions as hook implementations, as pytest does
    for every ``pytest_*`` function of a plugin."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None or not name.startswith("pytest_modeltests_"):
            return opts
        if not inspect.isroutine(getattr(plugin, name, None)):
            return None
        return HookimplOpts(wrapper=False, hookwrapper=False, optionalhook=False,
                            tryfirst=False, trylast=False, specname=None)


def conftest_files(rootdir: Path, paths: Iterable[Path]) -> list[Path]:
    """``conftest.py`` files of the rootdir and of each folder between it and each path."""
    root = rootdir.resolve()
    folders = [root]
    for path in paths:
        path = path.resolve()
        folder = path if path.is_dir() else path.parent
        chain = [folder, *folder.parents]
        if root in chain:
            folders.extend(reversed(chain[: chain.index(root)]))
    found = [folder / "conftest.py" for folder in dict.fromkeys(folders)]
    return [path for path in found if path.is_file()]


def _import_conftest(path: Path) -> ModuleType:
    """The conftest module: the one pytest already imported, if any, else imported now."""
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            return module
    name = "modeltests_conftest_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelTestsError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ModelTestsError(f"cannot import {path}: {type(exc).__name__}: {exc}") from exc
    return module
