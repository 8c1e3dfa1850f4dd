"""Reports: terminal summary, JSON results, self-contained HTML."""
