"""The registered loader of ``adapter: transformers``: one entry that picks the model class by
``task`` (all four share :func:`~modeltests.adapters.transformers.load_pretrained`)."""

from __future__ import annotations

from modeltests.adapters.base import LoadContext, ModelAdapter
from modeltests.adapters.transformers import TransformersParams


def load(params: TransformersParams, context: LoadContext) -> ModelAdapter:
    """A sequence classifier, a token classifier, a text generator or an image classifier, as
    ``task`` says."""
    if params.task == "token-classification":
        from modeltests.adapters.token_transformers import load_token_transformers

        return load_token_transformers(params, context)
    if params.task == "image-classification":
        from modeltests.adapters.transformers_image import load_image_transformers

        return load_image_transformers(params, context)
    if params.task == "text-generation":
        from modeltests.adapters.causal_lm import load_causal_lm

        return load_causal_lm(params, context)
    from modeltests.adapters.transformers import load_transformers

    return load_transformers(params, context)
