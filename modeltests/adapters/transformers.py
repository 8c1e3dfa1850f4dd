"""Hugging Face transformers models, from a local directory, a hub id or a GGUF file: the
parameters and the one ``from_pretrained`` path of the three tasks (sequence classification
here, token classification in :mod:`~modeltests.adapters.token_transformers`, text generation
in :mod:`~modeltests.adapters.causal_lm`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field

from modeltests.adapters.base import (
    AdapterParams,
    Batching,
    LoadContext,
    ModelAdapter,
    Predictions,
)
from modeltests.adapters.sparse_attention import sparse_attention_of
from modeltests.adapters.torch_utils import (
    loaded_model_facts,
    pick_device,
    probabilities_from_logits,
)
from modeltests.errors import ModelLoadError
from modeltests.data.inputs import ModelInput, any_pairs, split_pairs

BUILTIN_PREFIX = "builtin:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class TransformersParams(AdapterParams):
    """``AutoModelForSequenceClassification`` + ``AutoTokenizer``."""

    adapter: Literal["transformers"] = "transformers"
    task: Literal["sequence-classification", "token-classification", "text-generation",
                  "image-classification"] = Field(
        default="sequence-classification", description="What the model's head predicts: one "
        "label per text (AutoModelForSequenceClassification), one tag per word "
        "(AutoModelForTokenClassification; see docs/how-to/ner.md), the next token "
        "(AutoModelForCausalLM: a generator for the generative kinds), or one label per image "
        "(AutoModelForImageClassification with the directory's AutoImageProcessor; see "
        "docs/how-to/images.md).")
    path: str = Field(
        description="Local model directory (relative to the suite), a hub id, a '.gguf' file "
        "(task: text-generation; converted once into the modeltests cache), or "
        "'builtin:sentiment-minilm' for the embedded demo model, 'builtin:nli-tiny' for the "
        "embedded text-pair (NLI) demo model, 'builtin:gpt-tiny' / 'builtin:smollm2-135m' for "
        "the demo generators (built on first use)."
    )
    chat: bool = Field(
        default=False, description="task: text-generation only: wrap each prompt in the "
        "tokenizer's chat template as one user message, with the assistant's turn opened "
        "(an instruction-tuned model's format); a model without a chat template is an error.")
    revision: str | None = Field(default=None, description="Hub revision (branch, tag, commit).")
    max_length: int = Field(default=256, ge=1, le=65536, description="Tokens kept per text.")
    device: Literal["cpu", "cuda", "auto"] = Field(default="cpu")
    trust_remote_code: bool = Field(
        default=False, description="Run code shipped with the model (off unless you trust it)."
    )
    sort_by_length: bool = Field(
        default=True, description="Batch texts of similar token count together, longest first "
        "(faster; the same outputs for fp32 weights, but a dynamically quantized model's "
        "outputs depend on which texts share a batch). false keeps the order given."
    )
    truncation: Literal["longest_first", "only_first", "only_second"] = Field(
        default="longest_first", description="How a text pair longer than max_length is cut: "
        "longest_first takes tokens from the longer side first; only_first / only_second cut "
        "that side alone (and the tokenizer fails if that is not enough). Single texts are "
        "cut at max_length whatever this says.")
    max_tokens_per_batch: int | None = Field(
        default=None, ge=1, le=16_777_216, description="At most this many padded token "
        "positions (texts x the batch's longest text) per forward call, as well as at most "
        "batch_size texts: bounds memory when a few texts are long. Unset: batch_size alone."
    )

    def static_problems(self, context: LoadContext) -> list[tuple[str, str]]:
        """Problems found without loading anything: a local path that does not exist."""
        if self.chat and self.task != "text-generation":
            return [("chat", "chat templates apply to task: text-generation only")]
        if self.path.startswith(BUILTIN_PREFIX):
            name = self.path[len(BUILTIN_PREFIX):]
            if name not in context.builtin_names:
                allowed = ", ".join(BUILTIN_PREFIX + m for m in context.builtin_names)
                return [("path", f"unknown built-in model {name!r} (allowed: {allowed})")]
            return []
        if self.path.endswith(".gguf"):
            if not context.resolve(self.path).is_file():
                return [("path", f"GGUF file does not exist: {context.resolve(self.path)}")]
            if self.task != "text-generation":
                return [("path", "a GGUF file holds a language model: set task: "
                         "text-generation")]
            return []
        if _looks_local(self.path) and not context.resolve(self.path).is_dir():
            return [("path", f"model directory does not exist: {context.resolve(self.path)}")]
        return []


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or not _HUB_ID.match(path)


class TransformersModel(ModelAdapter):
    """A loaded transformers classifier: texts tokenized once, batched by token count, each
    batch padded to its longest text."""

    #: Outputs depend only on the model directory, the parameters and the batching.
    cache_predictions = True

    def __init__(self, model: Any, tokenizer: Any, params: TransformersParams, source: Path | str):
        self.model = model
        self.tokenizer = tokenizer
        self.params = params
        self.source = source
        self.device = str(next(model.parameters()).device)
        config_labels = getattr(model.config, "id2label", None) or {}
        self.labels = [str(config_labels[i]) for i in sorted(config_labels)]
        # BigBird switches to full attention on a short input and stays there: see
        # modeltests.adapters.sparse_attention; forward() undoes that before a long input
        self.attention = sparse_attention_of(model)

    def encode(self, texts: Sequence[ModelInput]) -> Any:
        batch = self._tokenize(texts, padding=True, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def _tokenize(self, texts: Sequence[ModelInput], **options: Any) -> Any:
        """``tokenizer(texts)``, or ``tokenizer(firsts, seconds)`` for pairs (the tokenizer
        builds the pair template, e.g. ``[CLS] a [SEP] b [SEP]`` with token type ids), cut to
        ``max_length`` tokens by the ``truncation`` strategy."""
        if any_pairs(texts):
            firsts, seconds = split_pairs(texts)
            return self.tokenizer(firsts, seconds, truncation=self.params.truncation,
                                  max_length=self.params.max_length, **options)
        return self.tokenizer([str(t) for t in texts], truncation=True,
                              max_length=self.params.max_length, **options)

    def forward(self, batch: Any) -> Any:
        import torch

        ids = batch.get("input_ids") if isinstance(batch, dict) else None
        if self.attention is not None and ids is not None:
            self.attention.prepare(int(ids.shape[-1]))
        with torch.inference_mode():
            return self.model(**batch).logits

    def predict(self, texts: Sequence[ModelInput]) -> Predictions:
        """Tokenize every text once (no padding), plan batches from the token counts
        (:func:`plan_batches`), and pad each batch from the stored token ids."""
        import numpy as np

        from modeltests.adapters.batching import plan_batches

        rows = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        if not texts:
            return Predictions.from_probabilities(rows, self.labels)
        encoded = self._tokenize(texts)
        features = {key: list(values) for key, values in encoded.items()}
        counts = [len(ids) for ids in features["input_ids"]]
        for chunk in plan_batches(counts, self.params.batch_size,
                                  self.params.max_tokens_per_batch, self.params.sort_by_length):
            logits = self.forward(self._padded(features, chunk))
            rows[chunk] = probabilities_from_logits(logits)
            self.batch_done(len(chunk))
        return Predictions.from_probabilities(rows, self.labels)

    def _padded(self, features: dict[str, list[Any]], chunk: list[int]) -> dict[str, Any]:
        """The rows ``chunk`` of the stored encodings as tensors padded to their longest row,
        on the tokenizer's padding side with its pad values (what ``padding=True`` builds)."""
        import torch

        width = max(len(features["input_ids"][i]) for i in chunk)
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        batch = {}
        for key, values in features.items():
            fill = self._pad_value(key, width, [len(values[i]) for i in chunk])
            table = torch.full((len(chunk), width), fill, dtype=torch.long)
            for row, index in enumerate(chunk):
                ids = values[index]
                if ids:
                    target = slice(width - len(ids), width) if left else slice(0, len(ids))
                    table[row, target] = torch.as_tensor(ids, dtype=torch.long)
            batch[key] = table.to(self.device)
        return batch

    def _pad_value(self, key: str, width: int, lengths: list[int]) -> int:
        if key == "attention_mask":
            return 0
        if key == "token_type_ids":
            return int(getattr(self.tokenizer, "pad_token_type_id", 0) or 0)
        if key == "special_tokens_mask":
            return 1
        pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is None:
            if min(lengths) < width:  # what the tokenizer itself refuses with padding=True
                raise ValueError("the tokenizer has no padding token, and texts of different "
                                 "token counts share a batch; set batch_size: 1")
            return 0
        return int(pad)

    def batching(self) -> Batching:
        return Batching(self.params.batch_size, self.params.sort_by_length,
                        self.params.max_tokens_per_batch)

    def source_files(self) -> list[Path]:
        return [self.source] if isinstance(self.source, Path) else []

    def in_given_order(self) -> TransformersModel:
        if not self.params.sort_by_length:
            return self
        clone = TransformersModel(self.model, self.tokenizer,
                                  self.params.model_copy(update={"sort_by_length": False}),
                                  self.source)
        clone.labels = list(self.labels)
        return clone

    def torch_module(self) -> Any:
        return self.model

    def with_module(self, module: Any) -> TransformersModel:
        clone = TransformersModel(module, self.tokenizer, self.params, self.source)
        clone.labels = list(self.labels)
        clone.cache_predictions = False  # other weights than the files its source names
        return clone

    def describe(self) -> dict[str, Any]:
        return {"adapter": "transformers",
                **loaded_model_facts(self.model, self.source, self.device)}

    def close(self) -> None:
        self.model = None


def load_transformers(params: TransformersParams, context: LoadContext) -> TransformersModel:
    """Load a sequence classifier (see :func:`load_pretrained`)."""
    if params.task != "sequence-classification":  # the registered loader dispatches first
        raise ModelLoadError(context.problem(
            "task", f"{params.task} models load with modeltests.adapters.transformers_loader"))
    tokenizer, model, source = load_pretrained(params, context,
                                               "AutoModelForSequenceClassification")
    params = _check_against_model(params, model, context)
    return TransformersModel(model, tokenizer, params, source)


def load_pretrained(params: TransformersParams, context: LoadContext, auto_class: str,
                    preprocessor: str = "AutoTokenizer") -> tuple[Any, Any, Path | str]:
    """``(tokenizer, model, source)`` for every task: the source resolved (a built-in model
    built, a GGUF file converted once), the checkpoint's head checked against ``task``, the
    tokenizer (or another ``preprocessor``: ``AutoImageProcessor`` for images) and
    ``transformers.<auto_class>`` loaded from it (``trust_remote_code`` stays off unless the
    suite opts in), the model in eval mode on the chosen device; a load failure is a located
    :class:`ModelLoadError`."""
    import transformers

    source = _resolve_source(params, context)
    device = pick_device(params.device, context.location)
    kwargs: dict[str, Any] = {"trust_remote_code": params.trust_remote_code}
    if params.revision:
        kwargs["revision"] = params.revision
    try:
        check_task(params, source, kwargs, context)
        tokenizer = getattr(transformers, preprocessor).from_pretrained(str(source), **kwargs)
        model = getattr(transformers, auto_class).from_pretrained(str(source), **kwargs)
    except OSError as exc:
        raise ModelLoadError(_explain_os_error(params.path, source, context, exc)) from None
    model.eval()
    model.to(device)
    return tokenizer, model, source


_HEADS = {"sequence-classification": ("ForSequenceClassification",),
          "token-classification": ("ForTokenClassification",),
          "text-generation": ("ForCausalLM", "LMHeadModel"),
          "image-classification": ("ForImageClassification",)}
_HEAD_NAMES = {"sequence-classification": "SequenceClassification",
               "token-classification": "TokenClassification",
               "image-classification": "ImageClassification",
               "text-generation": "causal language modelling (CausalLM)"}


def check_task(params: TransformersParams, source: Path | str, kwargs: dict[str, Any],
               context: LoadContext) -> None:
    """Refuse a checkpoint whose ``config.architectures`` name the other head than ``task``
    asks for: ``from_pretrained`` would otherwise load it with a new, random head."""
    from transformers import AutoConfig

    architectures = getattr(AutoConfig.from_pretrained(str(source), **kwargs),
                            "architectures", None) or []
    for task, suffixes in _HEADS.items():
        found = [a for a in architectures if str(a).endswith(suffixes)]
        if task != params.task and found:
            raise ModelLoadError(context.problem(
                "task", f"{params.task} was asked, but {source} is a {task} checkpoint "
                f"(config.architectures: {', '.join(found)}); set task: {task}, or load a "
                f"model with a {_HEAD_NAMES[params.task]} head"))


def _check_against_model(params: TransformersParams, model: Any, context: LoadContext
                         ) -> TransformersParams:
    """Setup mistakes the loaded model reveals, all at once: a ``max_length`` beyond its position
    embeddings, a ``labels`` list whose length is not its head's output count. The default
    ``max_length`` is cut to what the model can embed."""
    problems = []
    limit = position_limit(model)
    if limit is not None and params.max_length > limit[0]:
        if "max_length" in params.model_fields_set:
            problems.append(context.problem(
                "max_length", f"{params.max_length} tokens is more than the model can embed "
                f"({limit[0]} positions: {limit[1]}); allowed: 1 to {limit[0]}"))
        else:
            params = params.model_copy(update={"max_length": limit[0]})
    outputs = getattr(model.config, "num_labels", None)
    if params.labels is not None and isinstance(outputs, int) and len(params.labels) != outputs:
        own = getattr(model.config, "id2label", None) or {}
        names = ", ".join(str(own[i]) for i in sorted(own))
        problems.append(context.problem(
            "labels", f"{len(params.labels)} labels for a model whose head has {outputs} "
            f"outputs (config.num_labels); list {outputs}, in output order"
            + (f" (the model's own: {names})" if names else "")))
    if problems:
        raise ModelLoadError("\n".join(problems))
    return params


def position_limit(model: Any) -> tuple[int, str] | None:
    """How many tokens the model's learned absolute position embeddings take, and why; None
    for models without them (relative or rotary positions have no hard limit)."""
    embeddings = getattr(getattr(model, "base_model", None), "embeddings", None)
    table = getattr(embeddings, "position_embeddings", None)
    rows = getattr(table, "num_embeddings", None)
    if not isinstance(rows, int):
        return None
    padding = getattr(table, "padding_idx", None)
    offset = padding + 1 if isinstance(padding, int) else 0  # RoBERTa counts from padding_idx + 1
    configured = getattr(model.config, "max_position_embeddings", None)
    source = ("config.max_position_embeddings" if configured == rows
              else f"a position table of {rows} rows")
    if offset:
        source += f" {rows} less the padding offset {offset}"
    return rows - offset, source


def _weights_only_refusal(exc: BaseException) -> str | None:
    """torch's own reason when ``exc`` hides a ``weights_only`` unpickling refusal:
    transformers replaces it with "set from_tf=True", keeping it only in the exception chain."""
    import pickle

    seen: set[int] = set()
    current: BaseException | None = exc
    reason = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, pickle.UnpicklingError):
            reason = str(current).strip().splitlines()[0]  # the innermost is the most precise
        current = current.__cause__ or current.__context__
    if reason is None:
        return None
    return reason.removeprefix("Weights only load failed. ").split(". Please use")[0].rstrip(". ")


def _resolve_source(params: TransformersParams, context: LoadContext) -> Path | str:
    if params.path.startswith(BUILTIN_PREFIX):
        built = context.builtin_model(params.path[len(BUILTIN_PREFIX):])
        return converted_gguf(built, context) if built.suffix == ".gguf" else built
    local = context.resolve(params.path)
    if params.path.endswith(".gguf"):
        return converted_gguf(local, context)
    if local.is_dir():
        return local
    if _looks_local(params.path):
        raise ModelLoadError(f"model directory does not exist: {local}")
    return params.path


def _explain_os_error(path: str, source: Path | str, context: LoadContext, exc: OSError) -> str:
    refused = _weights_only_refusal(exc)
    if isinstance(source, Path) and refused is not None:
        checkpoint = re.search(r"checkpoint file for '([^']+)'", str(exc))
        name = Path(checkpoint.group(1)).name if checkpoint else "the pickled checkpoint"
        return (f"cannot load a transformers model from {source}: torch refused to unpickle "
                f"{name} with weights_only=True ({refused}): the file holds Python objects "
                "beside its tensors, and unpickling them could run code from it. If you trust "
                "the file, load it once with torch.load(..., weights_only=False) and save the "
                "model with save_pretrained() (safetensors); transformers' advice to set "
                "from_tf=True does not apply")
    if isinstance(source, Path):
        return f"cannot load a transformers model from {source}: {exc}"
    return (f"model {path!r} is neither a local directory (looked for {context.resolve(path)}) "
            f"nor a hub model available offline ({type(exc).__name__}: {str(exc).splitlines()[0]})")


def converted_gguf(file: Path, context: LoadContext) -> Path:
    """The GGUF checkpoint ``file`` as a transformers directory in the modeltests cache,
    converted once (``from_pretrained(gguf_file=...)`` dequantises it, about 20 s for 100 MB;
    ``save_pretrained`` makes later loads take about a second). The cache entry is named by the
    file's name, size and modification time. A file transformers cannot read is a located
    :class:`ModelLoadError`."""
    from modeltests.support.built import GGUF_RECIPE, built_once, converted_gguf_dir, write_marker
    from modeltests.support.environment import cache_dir

    if not file.is_file():
        raise ModelLoadError(context.problem("path", f"GGUF file does not exist: {file}"))
    stat = file.stat()
    target = converted_gguf_dir(file, cache_dir())

    def convert(work: Path) -> None:
        import transformers

        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(file.parent),
                                                                   gguf_file=file.name)
            model = transformers.AutoModelForCausalLM.from_pretrained(str(file.parent),
                                                                      gguf_file=file.name)
        except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelLoadError(context.problem(
                "path", f"transformers {transformers.__version__} cannot convert the GGUF file "
                f"{file} ({type(exc).__name__}: {first}); it reads the architectures and "
                "quantisations its GGUF support lists (needs the gguf and accelerate "
                "packages: pip install 'modeltests[lm]')")) from None
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.save_pretrained(work)
        write_marker(work, {"recipe": GGUF_RECIPE, "gguf": str(file), "bytes": stat.st_size})

    return built_once(target, GGUF_RECIPE, convert,
                      f"converting {file.name} to a transformers model (once, about 20 s)...")
