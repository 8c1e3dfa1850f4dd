"""The dependency rules of the package, read from its import graph.

Every import counts: at module level, inside functions and under ``TYPE_CHECKING`` (a cycle
hidden by a late import is still a cycle in the design). The rules (docs/explanation/architecture.md):

1. imports only go down the floor table ``FLOORS`` (or stay on their floor), and the rooms
   (subpackages) form no cycle; no module cycle either;
2. checks reach the session only through ``CheckContext``: they never import the session, the
   front ends, reporting or pytest;
3. reporting renders plain records: no session, no pytest, no adapter, no front end;
4. a YAML section is declared by the room that reads it: nothing below ``suite`` imports it;
5. the ground floor (support, errors, data, stats) imports only the standard library (and
   pydantic, for declared sections) at module level; nothing a pytest run imports to collect
   pulls in torch, transformers, textattack, pandas or numpy at module level.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "modeltests"
HEAVY = {"torch", "transformers", "textattack", "pandas", "numpy"}
FLOORS: list[tuple[str, ...]] = [
    # top: the front ends
    ("plugin", "cli", "api", "__main__", "__init__"),
    ("history",),
    ("reporting",),
    ("checks", "session"),
    ("suite",),
    ("extend",),
    ("context",),
    ("cluster", "predictions"),
    ("adapters", "mlserver_runtime"),
    ("measure", "result"),
    ("perturb", "stats", "serving", "strategies"),
    ("data",),
    ("support", "errors"),
    # ground
]
"""Rooms from top to bottom: a module may import its own floor's rooms or any floor below.
``demo`` (the built-in models) stands beside the table: only ``extend.builtin``, the
``mlserver_runtime`` and the front ends import it, and it imports only the ground."""
ASIDE = {"demo": ("extend", "mlserver_runtime", "plugin", "cli", "api"), "schema": ()}
GROUND = ("support", "errors", "data", "stats")
GROUND_MAY_IMPORT = {"pydantic", "typing_extensions"}
CHECKS_MAY_NOT_IMPORT = ("session", "plugin", "cli", "api", "reporting")
REPORTING_MAY_NOT_IMPORT = ("session", "plugin", "cli", "api", "adapters", "predictions", "cluster")
BELOW_SUITE = ("extend", "context", "cluster", "predictions", "adapters", "mlserver_runtime",
               "measure", "result", "perturb", "stats", "serving", "strategies", "data",
               "support", "errors")
LIGHT_AT_COLLECTION = ("plugin", "suite", "checks", "adapters", "extend", "context", "result",
                       "session", "data", "stats", "support", "serving", "predictions")


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


def _room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _floor(room: str) -> int | None:
    return next((i for i, rooms in enumerate(FLOORS) if room in rooms), None)


def test_there_is_no_import_cycle() -> None:
    assert _cycles() == []


def test_every_room_has_a_floor() -> None:
    rooms = {_room(name) for name in MODULES}
    assert sorted(r for r in rooms if _floor(r) is None and r not in ASIDE) == []


def test_imports_only_go_down_the_floors() -> None:
    upward = []
    for name in sorted(MODULES):
        here = _room(name)
        for target in sorted(GRAPH[name][0]):
            there = _room(target)
            if there == here:
                continue
            if there in ASIDE:
                if here not in ASIDE[there]:
                    upward.append(f"{name} -> {target} (only {ASIDE[there]} import {there})")
                continue
            if here in ASIDE:
                if there not in GROUND:
                    upward.append(f"{name} -> {target} ({here} imports only the ground)")
                continue
            mine, theirs = _floor(here), _floor(there)
            assert mine is not None and theirs is not None
            if theirs < mine:
                upward.append(f"{name} -> {target} (floor {mine} imports floor {theirs})")
    assert upward == []


def test_rooms_form_no_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for name in MODULES:
        for target in GRAPH[name][0]:
            if _room(target) != _room(name):
                edges.setdefault(_room(name), set()).add(_room(target))
    seen: set[str] = set()

    def reaches(start: str, goal: str) -> bool:
        todo, visited = [start], set()
        while todo:
            room = todo.pop()
            if room == goal:
                return True
            if room not in visited:
                visited.add(room)
                todo.extend(edges.get(room, ()))
        return False

    cycles = sorted(f"{a} <-> {b}" for a in edges for b in edges[a] if a < b and reaches(b, a))
    seen.update(edges)
    assert cycles == []


def test_checks_reach_the_session_only_through_the_context() -> None:
    broken = {name: sorted(m for m in GRAPH[name][0] if _under(m, *CHECKS_MAY_NOT_IMPORT))
              for name in MODULES if _under(name, "checks")}
    broken = {name: bad for name, bad in broken.items() if bad}
    uses_pytest = [name for name in MODULES if _under(name, "checks") and "pytest" in GRAPH[name][1]]
    assert broken == {} and uses_pytest == []


def test_reporting_renders_plain_records() -> None:
    """And the run history, which stores the same plain records."""
    broken = {name: sorted(m for m in GRAPH[name][0] if _under(m, *REPORTING_MAY_NOT_IMPORT))
              for name in MODULES if _under(name, "reporting", "history")}
    uses_pytest = [name for name in MODULES if _under(name, "reporting", "history")
                   and GRAPH[name][1] & {"pytest", "_pytest"}]
    assert {k: v for k, v in broken.items() if v} == {} and uses_pytest == []


def test_nothing_below_the_suite_imports_it() -> None:
    assert {name: sorted(m for m in GRAPH[name][0] if _under(m, "suite"))
            for name in MODULES if _under(name, *BELOW_SUITE)
            and any(_under(m, "suite") for m in GRAPH[name][0])} == {}


def test_the_ground_floor_imports_only_the_standard_library_at_module_level() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__", "modeltests"}
    assert {name: sorted(GRAPH[name][2] - stdlib - GROUND_MAY_IMPORT) for name in MODULES
            if _under(name, *GROUND) and GRAPH[name][2] - stdlib - GROUND_MAY_IMPORT} == {}


def test_collection_modules_import_nothing_heavy_at_module_level() -> None:
    assert {name: sorted(GRAPH[name][2] & HEAVY) for name in MODULES
            if _under(name, *LIGHT_AT_COLLECTION) and GRAPH[name][2] & HEAVY} == {}


def test_the_top_level_stays_small() -> None:
    top = sorted(name for name, path in MODULES.items()
                 if name.count(".") == 1 and path.name != "__init__.py")
    assert len(top) <= 10, top


def test_the_rules_see_the_whole_package() -> None:
    # Guards the test itself: a parse that found no edges would pass every rule above.
    assert len(MODULES) > 50
    assert "modeltests.context" in GRAPH["modeltests.session.runner"][0]
    assert "modeltests.result" in GRAPH["modeltests.context"][0]
