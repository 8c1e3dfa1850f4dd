"""What a run's results depend on, as digests: the model's files and parameters, the suites.

A fingerprint answers "did anything that decides these numbers change between two runs?":
``run.fingerprint`` in the JSON report holds one digest per suite file and per model, and one
over all of them. The prediction cache keys on the same model fingerprint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltests.support.digests import digest_of, path_digest

if TYPE_CHECKING:
    from modeltests.adapters.base import AdapterParams, ModelAdapter


def model_fingerprint(params: AdapterParams, adapter: ModelAdapter | None) -> dict[str, Any]:
    """The adapter parameters, the digest of each source file or directory the adapter names,
    and one ``sha256`` over both. A model without known source files (a remote one) is
    fingerprinted by its parameters alone, and ``files_known`` says so."""
    files = adapter.source_files() if adapter is not None else []
    digests = {str(path): path_digest(path) for path in files if path.exists()}
    parameters = params.model_dump(mode="json")
    return {"parameters": parameters, "files": digests, "files_known": bool(digests),
            "sha256": digest_of({"parameters": parameters, "files": sorted(digests.values())})}
