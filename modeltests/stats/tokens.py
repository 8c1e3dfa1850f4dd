"""A compressed language model against its reference, token by token, with intervals from a
bootstrap over documents.

Tokens of one document are not independent (a model that goes wrong on a rare word goes wrong
on the tokens after it), so every interval here resamples whole *documents*: each resample
draws the documents with replacement (:func:`modeltests.stats.intervals.bootstrap_rows`) and
recomputes the pooled per-token figure from the drawn documents' totals (a ratio estimator:
the sum over drawn documents of the numerator over the sum of their token counts). Pairing
is kept: a drawn document brings both models' figures on it.

Per document ``d`` with ``T_d`` predicted tokens (every token but the first of the text):

* ``kl_d`` = sum over its tokens of KL(reference || compressed) of the next-token
  distributions, in nats;
* ``agree_d`` = tokens where both models' most likely next token is the same;
* ``nll_reference_d`` / ``nll_candidate_d`` = minus the summed log-probability of the actual
  next tokens.

Figures: ``mean_kl`` = sum kl / sum T (nats per token); ``agreement`` = sum agree / sum T;
``perplexity_reference`` = exp(sum nll_reference / sum T) (corpus token perplexity),
``perplexity_compressed`` likewise, and ``perplexity_ratio`` = compressed / reference =
exp((sum nll_candidate - sum nll_reference) / sum T), whose interval is the paired bootstrap.
numpy is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

METHOD = "bootstrap-documents"
METHOD_TEXT = ("95% percentile bootstrap over documents (1,000 seeded resamples, whole "
               "documents drawn with replacement, both models' figures kept paired)")


@dataclass(frozen=True)
class DocumentTotals:
    """One document's totals for both models (see the module docstring)."""

    tokens: int
    kl: float
    agree: int
    nll_reference: float
    nll_candidate: float


def document_totals(token_ids: Sequence[int], reference: npt.NDArray[np.float32],
                    candidate: npt.NDArray[np.float32]) -> DocumentTotals:
    """The totals of one text from both models' next-token log-distributions (natural log,
    shape ``(len(token_ids) - 1, vocab)`` each, same vocabulary)."""
    import numpy as np

    ref = np.asarray(reference, dtype=np.float64)
    new = np.asarray(candidate, dtype=np.float64)
    if ref.shape != new.shape:
        raise ValueError(f"the two models' next-token distributions differ in shape "
                         f"({ref.shape} and {new.shape}): not the same tokenizer")
    rows = ref.shape[0]
    if rows != max(0, len(token_ids) - 1):
        raise ValueError(f"{rows} distributions for {len(token_ids)} tokens")
    if rows == 0:
        return DocumentTotals(0, 0.0, 0, 0.0, 0.0)
    p = np.exp(ref)
    kl = float(np.sum(p * (ref - new)))
    agree = int(np.sum(ref.argmax(axis=1) == new.argmax(axis=1)))
    following = np.asarray(token_ids[1:], dtype=np.int64)
    picked = np.arange(rows)
    return DocumentTotals(rows, max(kl, 0.0), agree, float(-ref[picked, following].sum()),
                          float(-new[picked, following].sum()))


@dataclass(frozen=True)
class TokenComparison:
    """The pooled figures and their document-bootstrap intervals."""

    documents: int
    tokens: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)


def compare_tokens(totals: Sequence[DocumentTotals], seed: int) -> TokenComparison:
    """``mean_kl``, ``agreement``, ``perplexity_reference``, ``perplexity_compressed`` and
    ``perplexity_ratio`` over ``totals`` (documents without predicted tokens are left out),
    each with its 95% bootstrap interval over documents (none with fewer than 2 documents)."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_rows

    kept = [t for t in totals if t.tokens > 0]
    if not kept:
        raise ValueError("no document has two or more tokens: nothing to compare")
    columns = {name: np.asarray([getattr(t, name) for t in kept], dtype=np.float64)
               for name in ("tokens", "kl", "agree", "nll_reference", "nll_candidate")}

    def figures(weights: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.float64]]:
        tokens = weights @ columns["tokens"]
        ref = weights @ columns["nll_reference"] / tokens
        new = weights @ columns["nll_candidate"] / tokens
        return {"mean_kl": weights @ columns["kl"] / tokens,
                "agreement": weights @ columns["agree"] / tokens,
                "perplexity_reference": np.exp(ref), "perplexity_compressed": np.exp(new),
                "perplexity_ratio": np.exp(new - ref)}

    point = {name: float(values[0]) for name, values in
             figures(np.ones((1, len(kept)), dtype=np.float64)).items()}
    intervals = bootstrap_rows(len(kept), figures, seed)
    return TokenComparison(len(kept), int(columns["tokens"].sum()), point, intervals)

