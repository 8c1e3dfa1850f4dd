"""What a first run will build: the built-in models its suites name that are not in the cache
yet, each with a rough time, printed before the first check runs (a first run on an empty cache
spends most of its time here: 4 to 5 minutes on two quiet cores, half an hour beside other work).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

# name -> (cache folder under <cache>, recipe, rough time on two quiet cores)
_BUILDS: dict[str, tuple[str, str, str]] = {
    "sentiment-minilm": ("models", "sentiment-minilm-v2", "about 2-3 min (fine-tunes MiniLM-L6)"),
    "ner-tiny": ("models", "ner-tiny-v3", "about 20 s"),
    "bigbird-tiny": ("models", "bigbird-tiny-v2", "20-40 s"),
    "bert-wide-tiny": ("models", "bert-wide-tiny-v2", "20-40 s"),
    "nli-tiny": ("models", "nli-tiny-v2", "under a minute"),
    "digits-cnn": ("models", "digits-cnn-v1", "about 15 s (one thread)"),
    "gpt-tiny": ("models", "gpt-tiny-v2", "about 1 min (trains a GPT-2 on one thread)"),
}
SMOLLM2 = "smollm2-135m"  # not built: its GGUF file is converted (about 20 s)
BUSY = "times are for two quiet cores; on a busy machine a build can take 5x longer"


def unbuilt(names: Iterable[str], cache: Path) -> list[tuple[str, str]]:
    """``(name, rough time)`` of each known built-in model in ``names`` not built in ``cache``."""
    from modeltests.demo.cache import is_built

    missing = []
    for name in sorted(set(names)):
        if name == SMOLLM2:
            if not _smollm2_converted(cache):
                missing.append((name, "about 20 s (converts the GGUF file it ships)"))
            continue
        known = _BUILDS.get(name)
        if known is None:
            continue
        folder, recipe, rough = known
        if not is_built(cache / folder / recipe, recipe):
            missing.append((name, rough))
    return missing


def plan_lines(names: Iterable[str], cache: Path) -> list[str]:
    """The lines a run prints before it starts: nothing when every model is built."""
    missing = unbuilt(names, cache)
    if not missing:
        return []
    width = max(len(name) for name, _ in missing) + len("builtin:")
    return ([f"modeltests: this run first builds {len(missing)} built-in model(s) into "
             f"{cache / 'models'} (once; later runs reuse them; {BUSY}):"]
            + [f"  {('builtin:' + name).ljust(width)}  {rough}" for name, rough in missing])


def _smollm2_converted(cache: Path) -> bool:
    """Whether SmolLM2's GGUF file is converted in ``cache`` (True when the wheel is missing:
    the run then says how to install it, not how long a conversion takes)."""
    from modeltests.demo.cache import is_built
    from modeltests.support.built import GGUF_RECIPE, converted_gguf_dir
    from modeltests.demo.smollm2 import smollm2_gguf_file
    from modeltests.errors import ModelLoadError

    try:
        file = smollm2_gguf_file()
    except ModelLoadError:
        return True
    return is_built(converted_gguf_dir(file, cache), GGUF_RECIPE)
