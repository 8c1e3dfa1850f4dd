"""Parts of the HTML report: escaped charts, highlighted changes, durations, models, datasets."""

from __future__ import annotations

from modeltests.reporting import charts
from modeltests.reporting.figures import figures
from modeltests.reporting.html import dataset_rows, duration, highlight_pair, model_rows


def test_chart_texts_are_escaped() -> None:
    svg = charts.interval_bars([charts.Bar("<script>x</script>", 0.5, (0.4, 0.6), 0.45, True, 9)],
                               'a "title"')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="a &#34;title&#34;"' in svg
    assert svg.startswith('<svg class="chart"') and "http" not in svg


def test_changed_words_are_marked_and_escaped() -> None:
    before, after = highlight_pair("the <b>food</b> was good", "the <b>food</b> was god")
    assert before == "the &lt;b&gt;food&lt;/b&gt; was <mark>good</mark>"
    assert after == "the &lt;b&gt;food&lt;/b&gt; was <mark>god</mark>"
    before, after = highlight_pair("The view was [[fantastic]].", "The view was [[fanAastic]].")
    assert after == "The view was <mark>fanAastic</mark>."
    _, after = highlight_pair("It was fine.", "It was fine. https://t.co/x")
    assert after == "It was fine. <mark>https://t.co/x</mark>"  # the space stays outside


def test_durations_for_people() -> None:
    assert [duration(s) for s in (0.0002, 0.25, 3.21, 125.4)] == \
        ["<1 ms", "250 ms", "3.2 s", "2 min 5 s"]


def test_models_and_datasets_read_as_tables() -> None:
    rows = dict(model_rows({"key": '{"adapter": "transformers", "path": "m", "batch_size": 32}',
                            "adapter": "transformers", "parameters": 22713986,
                            "size_on_disk_bytes": 91814518, "load_seconds": 1.94}))
    assert rows["parameters"] == "22.7 M" and rows["size on disk"] == "91.8 MB"
    assert rows["load time"] == "1.9 s" and rows["settings"] == "path=m, batch_size=32"
    merged = dataset_rows([{"suite": "a.yaml", "name": "eval", "path": "/d.csv", "sha256": "f",
                            "rows": 3}, {"suite": "b.yaml", "name": "eval", "path": "/d.csv",
                                         "sha256": "f", "rows": 3}])
    assert [row["suites"] for row in merged] == [["a.yaml", "b.yaml"]]


def test_charts_follow_what_the_entry_measured() -> None:
    entry = {"kind": "accuracy", "metrics": {"accuracy": 0.9}, "intervals": {"accuracy": [0.8, 0.95]},
             "thresholds": [{"key": "min_accuracy", "limit": 0.85, "held": True}],
             "details": {"labels": ["a", "b"], "confusion_matrix": [[5, 1], [0, 4]],
                         "slices": [{"name": "short", "n": 4, "accuracy": 0.75,
                                     "interval": [0.3, 0.95]}]}}
    assert [f.title for f in figures(entry)] == ["Accuracy per slice", "Confusion matrix"]
    assert figures({"kind": "custom", "details": "not a dict"}) == []


def test_a_latency_comparison_gets_both_curves_and_the_ratios() -> None:
    points = [{"config": f"b1_l{n}", "batch_size": 1, "sequence_length": n, "mode": "model",
               "p50_ms": p50, "compare_p50_ms": other, "ratio": p50 / other,
               "ratio_interval": [p50 / other * 0.9, p50 / other * 1.1], "rounds": 15,
               "attention": attention}
              for n, p50, other, attention in ((512, 15.0, 11.0, "original_full"),
                                               (4096, 180.0, 300.0, "block_sparse"))]
    compare = {"model": "bert", "curve": {"batch_size": 1, "mode": "model", "points": points},
               "pairs": points, "crossover": {"length": 4096, "previous_length": 512,
                                              "direction": "becomes faster"},
               "crossover_text": "this model becomes faster than the compare_to model between "
                                 "512 and 4096 tokens",
               "interval_method": "95% percentile bootstrap of the ratio of medians"}
    entry = {"kind": "latency", "thresholds": [
        {"metric": "ratio_at_longest", "operator": "<=", "limit": 1.5, "held": True}],
        "details": {"configs": [{"batch_size": 1, "sequence_length": n, "mode": "model",
                                 "p50_ms": 1.0} for n in (512, 4096)], "compare": compare}}
    found = {f.title: f for f in figures(entry)}
    curves = found["p50 latency against sequence length: this model and bert"]
    assert "crossover between 512 and 4096 tokens" in curves.svg
    assert "512: original_full, 4096: block_sparse" in curves.caption
    ratios = found["p50 ratio, this model / bert"]
    assert "4096 tokens" in ratios.svg and "bootstrap of the ratio of medians" in ratios.caption
    del entry["details"]["compare"]
    assert not any("bert" in f.title for f in figures(entry))
