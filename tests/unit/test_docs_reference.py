"""docs/reference/ is generated from the code and committed: it must cover every kind and
threshold, and equal a fresh generation (whoever adds a kind, an option or a docstring
regenerates it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modeltests.cli.reference import COMMAND, builtin_registry, generate, stale_pages
from modeltests.cli.reference_json import UNDOCUMENTED
from modeltests.cli.reference_schema import anchor
from modeltests.extend.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
REGENERATE = f"run `{COMMAND}` and commit docs/reference/"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return builtin_registry()


@pytest.fixture(scope="module")
def pages(registry: Registry) -> dict[str, str]:
    return generate(registry)


def _section(page: str, anchor_id: str) -> str:
    """The text of one entry: from its anchor to the next entry's."""
    start = page.index(f'<a id="{anchor_id}"></a>')
    following = page.find('<a id="', start + 1)
    return page[start:] if following < 0 else page[start:following]


def _gate_fields(params: type) -> list[str]:
    fields = getattr(params, "model_fields", {})
    return [name for name in fields if name.startswith(("min_", "max_"))]


def test_every_registered_kind_and_threshold_has_an_entry(registry: Registry) -> None:
    committed = (REFERENCE / "checks.md").read_text(encoding="utf-8")
    for kind in registry.checks():
        anchor_id = anchor("check", kind.name)
        assert f'<a id="{anchor_id}"></a>' in committed, (
            f"check kind {kind.name!r} has no entry in docs/reference/checks.md: {REGENERATE}")
        entry = _section(committed, anchor_id)
        for name in _gate_fields(kind.params):
            row = re.search(rf"^\| `{name}` \|.*\|$", entry, re.M)
            assert row and not row.group(0).endswith("| — |"), (
                f"{kind.name}.{name} has no described row in docs/reference/checks.md: "
                f"{REGENERATE} (and give the field a description)")


def test_every_adapter_has_an_entry(registry: Registry) -> None:
    committed = (REFERENCE / "adapters.md").read_text(encoding="utf-8")
    for adapter in registry.adapters():
        assert f'<a id="{anchor("adapter", adapter.name)}"></a>' in committed, (
            f"adapter {adapter.name!r} has no entry in docs/reference/adapters.md: {REGENERATE}")


def test_nested_sections_describe_their_thresholds(pages: dict[str, str]) -> None:
    # Slices and the like: a min_/max_ field without a description is a gap a reader falls into.
    undescribed = re.findall(r"^\| `((?:min|max)_\w+)` \|.*\| — \|$", pages["checks.md"], re.M)
    assert not undescribed, f"min_/max_ fields without a description: {sorted(set(undescribed))}"


def test_every_json_key_is_described(pages: dict[str, str]) -> None:
    assert UNDOCUMENTED not in pages["json-report.md"], (
        "the JSON report writes a key that modeltests/cli/reference_json.py DESCRIPTIONS does "
        "not describe: add it, then " + REGENERATE)


def test_committed_reference_equals_a_fresh_generation(pages: dict[str, str]) -> None:
    stale = stale_pages(pages, REFERENCE)
    assert not stale, f"docs/reference/ is stale ({', '.join(stale)}): {REGENERATE}"
    extra = sorted(p.name for p in REFERENCE.glob("*.md") if p.name not in pages)
    assert not extra, f"docs/reference/ holds pages the generator does not write: {extra}"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown page, and its explicit ``<a id>`` anchors."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_link_in_the_docs_resolves() -> None:
    pages = [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in LINK.findall(text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path_text, _, fragment = target.partition("#")
            path = (page.parent / path_text).resolve() if path_text else page
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_errors_page_does_not_depend_on_what_the_process_imported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # pytester restores sys.modules after an in-process run: a module defining an error can be
    # imported twice in one process (two class objects of one name) or not at all. CI saw a
    # stale errors.md that way while a fresh generation was equal to the committed page.
    import sys

    from modeltests.cli.reference import errors_page

    for name in ("modeltests.history.store", "modeltests.suite.loader"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    committed = (REFERENCE / "errors.md").read_text(encoding="utf-8")
    assert errors_page() + "\n" == committed
