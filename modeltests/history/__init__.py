"""The run history: every run's JSON document kept in an embedded SQLite file
(``reports/history.sqlite`` by default), with its checks, metrics, intervals and thresholds in
tables a query can read (``modeltests history list / trend / diff``).

It stands on its own floor just above ``reporting``: like the reporting renderers it reads plain
records (the document :func:`modeltests.reporting.json_report.build_document` builds, serialised
the way the JSON report is), never the session or pytest; the front ends (the plugin records a
run, the CLI reads them) are the only ones that import it.
"""
