"""Demo data and models: a generated sentiment corpus, a tiny BERT and a fine-tuned MiniLM.

Nothing heavy is imported here; torch and transformers load inside the build functions.
"""

from __future__ import annotations
