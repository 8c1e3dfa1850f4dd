"""Pure statistics for release gates, one module per family: :mod:`~.proportions` (Wilson,
agreement, the per-class report, Holm), :mod:`~.paired` (McNemar, Newcombe, divergences),
:mod:`~.percentiles` (latency summaries and order-statistic bounds), :mod:`~.intervals`
(bootstrap intervals and the sample-size advisor), :mod:`~.calibration`, :mod:`~.selective`
and :mod:`~.entities`.

Every function is pure and deterministic; numpy, scipy and scikit-learn are imported inside the
functions, so importing the package (and so collecting a suite) stays cheap. Inputs that cannot
give an honest number (empty samples, mismatched lengths, probabilities outside [0, 1]) raise
``ValueError``; nothing silently returns 0."""

from modeltests.stats.paired import (PairedComparison, compare_paired, kl_per_row,
                                     max_abs_difference, mcnemar_test, mean_kl_divergence,
                                     paired_difference_interval)
from modeltests.stats.percentiles import (fit_scaling_exponent, is_regression, latency_summary,
                                          min_samples_for_percentile, percentile_supported,
                                          percentile_upper_bound, regression_limit)
from modeltests.stats.proportions import (agreement, classification_report, holm_adjust,
                                          threshold_resolved, wilson_interval)

__all__ = [
    "PairedComparison", "agreement", "classification_report", "compare_paired",
    "fit_scaling_exponent", "holm_adjust", "is_regression", "kl_per_row", "latency_summary",
    "max_abs_difference", "mcnemar_test", "mean_kl_divergence", "min_samples_for_percentile",
    "paired_difference_interval", "percentile_supported", "percentile_upper_bound",
    "regression_limit", "threshold_resolved", "wilson_interval",
]
