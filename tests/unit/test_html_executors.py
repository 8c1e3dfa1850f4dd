"""The HTML report's run section lists what other executors (a Ray cluster) did: rows, blocks,
workers requested and answered, time per stage; read from the rendered page, no browser."""

from __future__ import annotations

from html.parser import HTMLParser

from modeltests.reporting.html import render_html


class Tables(HTMLParser):
    """The rows of every ``<table class="NAME">`` as lists of cell texts, by NAME."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("class") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(document: dict[str, object]) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(render_html(document))
    return parser.tables


EXECUTORS = [
    {"suite": "big.yaml", "dataset": "reviews", "executor": "ray", "work": "predict",
     "address": "local", "rows": 200000, "blocks": 98, "batch_rows": 2048,
     "workers_requested": 2, "workers_answered": 2, "cluster_cpus": 2.0,
     "seconds": {"connect": 6.93, "dataset": 0.41, "predict": 61.2, "assemble": 0.05}},
    {"suite": "big.yaml", "dataset": "archive", "executor": "ray", "work": "stream",
     "rows": 1500000, "unlabelled": 3, "blocks": 12, "workers_requested": 4,
     "workers_answered": 3, "seconds": {"connect": 0.2, "read_predict_count": 320.0}},
    {"suite": "big.yaml", "check": "robustness[eval]", "executor": "ray", "work": "attack",
     "address": "10.0.0.5:6379", "rows": 40, "attacked": 40, "workers_requested": 8,
     "workers_answered": 8, "seconds": {"connect": 0.0004, "start": 4.2, "attack": 95.0}},
]


def test_the_run_section_shows_each_executor_with_its_stages() -> None:
    tables = _tables({"summary": {}, "checks": [], "run": {"executors": EXECUTORS}})
    assert tables["executors"] == [
        ["suite", "dataset or check", "work", "where", "rows", "blocks", "workers requested",
         "workers answered", "time per stage"],
        ["big.yaml", "reviews", "predict", "ray (local)", "200,000", "98", "2", "2",
         "connect 6.9 s, dataset 410 ms, predict 1 min 1 s, assemble 50 ms"],
        ["big.yaml", "archive", "stream", "ray", "1.5 M", "12", "4", "3",
         "connect 200 ms, read_predict_count 5 min 20 s"],
        ["big.yaml", "robustness[eval]", "attack", "ray (10.0.0.5:6379)", "40", "", "8", "8",
         "connect <1 ms, start 4.2 s, attack 1 min 35 s"],
    ]


def test_a_run_without_other_executors_has_no_such_table() -> None:
    assert "executors" not in _tables({"summary": {}, "checks": [], "run": {"executors": []}})
