"""What a result depends on, and where modeltests keeps its files.

:func:`environment_fingerprint` (versions, platform, threads, device) goes into every JSON
report; :func:`timing_fingerprint` is the part of it a latency figure depends on, saved with a
latency baseline and compared before two runs' timings are. :func:`cache_dir` is the one folder
modeltests writes outside a project (built models, NLTK data).
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED = ("modeltests", "pytest", "torch", "transformers", "textattack", "hypothesis",
             "pandas", "numpy")
TIMING_KEYS = ("platform", "machine", "processor", "cpu_count", "torch", "transformers",
               "threads", "device", "cuda_device")


def cache_dir() -> Path:
    """The modeltests cache: ``$MODELTESTS_CACHE`` if set, else ``~/.cache/modeltests``."""
    configured = os.environ.get("MODELTESTS_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "modeltests"


def package_versions(names: tuple[str, ...] = VERSIONED) -> dict[str, str | None]:
    """Installed version of each distribution (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_fingerprint() -> dict[str, Any]:
    """Versions, platform, CPU count, and torch's threads and device when torch is in use."""
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "versions": package_versions(),
    }
    torch = sys.modules.get("torch")  # only if a check already imported it: never import it here
    if torch is not None:
        facts["torch_threads"] = torch.get_num_threads()
        facts["cuda_available"] = bool(torch.cuda.is_available())
        if facts["cuda_available"]:
            facts["cuda_device"] = torch.cuda.get_device_name(0)
    return facts


MACHINE_FACTS = ("platform", "machine", "processor", "cpu_count", "cuda_device")


def machine_digest(environment: dict[str, Any]) -> str | None:
    """The first 12 hex digits of the sha256 of ``environment``'s platform, CPU and GPU (an
    :func:`environment_fingerprint`): runs on one machine kind share it, and only their latency
    and throughput compare (None for an empty environment)."""
    import hashlib
    import json

    if not environment:
        return None
    facts = {key: environment.get(key) for key in MACHINE_FACTS}
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def timing_fingerprint(threads: int, device: str) -> dict[str, Any]:
    """What a latency figure depends on: hardware, platform, library versions, threads, device."""
    env = environment_fingerprint()
    versions = env["versions"]
    return {
        "platform": env["platform"],
        "machine": env["machine"],
        "processor": env["processor"],
        "cpu_count": env["cpu_count"],
        "torch": versions.get("torch"),
        "transformers": versions.get("transformers"),
        "threads": threads,
        "device": device,
        "cuda_device": env.get("cuda_device") if device.startswith("cuda") else None,
    }


def fingerprint_mismatch(current: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """``key: baseline -> current`` for each timing fact that differs (empty: comparable)."""
    if not baseline:
        return ["the baseline records no fingerprint"]
    return [f"{key}: {baseline.get(key)!r} -> {current.get(key)!r}"
            for key in TIMING_KEYS if baseline.get(key) != current.get(key)]
