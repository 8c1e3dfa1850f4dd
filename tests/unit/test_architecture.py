"""The dependency rules of the package, read from its import graph.

Every import counts: at module level, inside functions and under ``TYPE_CHECKING`` (a cycle
hidden by a late import is still a cycle in the design). The rules:

1. no import cycle among modeltests modules;
2. checks reach the session only through ``CheckContext``: they never import runtime, runner,
   collect, plugin, api, reporting or pytest;
3. reporting never imports collection (it reads the item-info records collection stashes);
4. leaves (stats, timing, compress, perturb, strategies, textattack_support, text, environment,
   wordnet, homoglyphs) never import reporting or demo;
5. the modules a pytest run imports to collect never import torch, transformers, textattack,
   pandas or numpy at module level.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "modeltests"
HEAVY = {"torch", "transformers", "textattack", "pandas", "numpy"}
LEAVES = {"stats", "intervals", "timing", "compress", "perturb", "strategies",
          "textattack_support", "text", "environment", "wordnet", "homoglyphs"}
CHECKS_MAY_NOT_IMPORT = ("runtime", "runner", "collect", "plugin", "api", "reporting")
LIGHT_AT_COLLECTION = ("plugin", "collect", "suite", "checks", "adapters", "registry", "context",
                       "result", "runtime", "runner", "builtin", "state")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str) -> tuple[set[str], set[str], set[str]]:
    """(modeltests modules imported anywhere, top-level packages imported anywhere, top-level
    packages imported at module level) by module ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    internal: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import mod`` imports the submodule; ``from mod import name`` the module.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        for target in targets:
            if target.startswith("modeltests"):
                resolved = _resolve(target)
                if resolved and resolved != name:
                    internal.add(resolved)
            else:
                external.add(target.split(".")[0])
    top_level = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import)
                 for alias in node.names}
    top_level |= {(node.module or "").split(".")[0] for node in tree.body
                  if isinstance(node, ast.ImportFrom) and not node.level}
    return internal, external, top_level


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    edges = {name: GRAPH[name][0] for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(MODULES):
        if name not in index:
            visit(name)
    return found


def _under(name: str, *prefixes: str) -> bool:
    return any(name == f"modeltests.{p}" or name.startswith(f"modeltests.{p}.") for p in prefixes)


def test_there_is_no_import_cycle() -> None:
    assert _cycles() == []


def test_checks_reach_the_session_only_through_the_context() -> None:
    broken = {name: sorted(m for m in GRAPH[name][0] if _under(m, *CHECKS_MAY_NOT_IMPORT))
              for name in MODULES if _under(name, "checks")}
    broken = {name: bad for name, bad in broken.items() if bad}
    uses_pytest = [name for name in MODULES if _under(name, "checks") and "pytest" in GRAPH[name][1]]
    assert broken == {} and uses_pytest == []


def test_reporting_never_imports_collection() -> None:
    assert [name for name in MODULES if _under(name, "reporting")
            and any(_under(m, "collect", "plugin") for m in GRAPH[name][0])] == []


def test_leaves_never_import_reporting_or_demo() -> None:
    assert {name: sorted(GRAPH[name][0]) for name in MODULES if _under(name, *LEAVES)
            and any(_under(m, "reporting", "demo") for m in GRAPH[name][0])} == {}


def test_collection_modules_import_nothing_heavy_at_module_level() -> None:
    assert {name: sorted(GRAPH[name][2] & HEAVY) for name in MODULES
            if _under(name, *LIGHT_AT_COLLECTION) and GRAPH[name][2] & HEAVY} == {}


def test_the_rules_see_the_whole_package() -> None:
    # Guards the test itself: a parse that found no edges would pass every rule above.
    assert len(MODULES) > 50
    assert "modeltests.context" in GRAPH["modeltests.runner"][0]
    assert "modeltests.result" in GRAPH["modeltests.context"][0]
