"""``latency``: per-call latency percentiles, throughput, cold start, scaling and memory.

Every (batch size, sequence length) configuration is timed in each requested mode:

* ``model``: ``adapter.forward(batch)`` on a batch encoded beforehand (no tokenization);
* ``end_to_end``: ``adapter.predict(texts)``, tokenization and post-processing included.

Inputs are synthetic texts that encode to exactly ``sequence_lengths`` tokens (special tokens
included), or texts from ``dataset``; for an image classifier, the dataset's images, resized to
each of ``image_sizes`` when given (every size is tried on one image first, so a size the model
cannot take is a located error before anything is timed, and the cold start is then not the
model's first call). Timing follows :mod:`modeltests.measure.timing` (warm-up until
stable, then until ``min_iterations`` and ``min_seconds``; CUDA events on a GPU).

Headline metrics, the ones ``min_*`` / ``max_*`` thresholds gate on, come from the *largest*
configuration (largest batch size, longest sequence length) in the primary mode (end-to-end
when measured, else model-only): ``p50_ms``, ``p90_ms``, ``p95_ms``, ``p99_ms``, ``mean_ms``,
``std_ms``, ``iqr_ms``, ``throughput`` (examples/s), ``cold_start_ms`` (the first call of this
check on the first configuration), ``scaling_exponent`` / ``scaling_ratio`` (p50 against length
at the largest batch size), ``peak_rss_mb`` (CPU: process RSS sampled every 2 ms over a few
extra headline calls) or ``peak_cuda_mb`` / ``peak_cuda_reserved_mb`` (GPU:
``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` over the whole check), and
``parameter_mb``, and with two or more batch sizes ``batch_speedup`` (the per-example p50 at
the smallest batch over the one at the largest, at the headline length or size: a gate,
``min_batch_speedup``, relative to a measurement of the same check). Every configuration's
figures, with the thread count, are in ``details``.
For per-size limits, write one check per batch size.

Each percentile's interval is (estimate, order-statistic 95% upper bound), so ``gate: bound``
gates on the upper bound; without enough calls for a bound, a ``bound`` gate fails.

With ``compare_to:`` (a model under ``models:``) every configuration is timed on both models in
interleaved rounds, and ``ratio_at_longest`` (this model's p50 / the other's at the headline
configuration, paired bootstrap interval) and ``crossover_length`` join the metrics
(:mod:`.compare`). For a block-sparse model (BigBird) the attention transformers ran at each
length is recorded (:mod:`.attention`).

The modules, in the order a run goes through them::

    params    LatencyParams: what to time, how long, thresholds
    inputs    Config: batches of exact-length synthetic texts, dataset texts or images
    measure   the timed loop per configuration and mode (interleaved with compare_to),
              cold start, memory -> LatencyRun
    attention BigBird's block-sparse / full attention per length: rule, restore, observe
    record    LatencyRun and its parts: the typed hand-off from measure to assemble
    baseline  the headline saved by an earlier JSON report, and the comparison with it
    compare   the ratio per configuration, the curves and the crossover (compare_to)
    assemble  LatencyRun -> CheckResult (metrics, intervals, thresholds, warnings, details)
    check     run_latency and CHECK_KINDS
"""

from __future__ import annotations

from modeltests.checks.latency.check import CHECK_KINDS, run_latency
from modeltests.checks.latency.params import LatencyParams

__all__ = ["CHECK_KINDS", "LatencyParams", "run_latency"]
