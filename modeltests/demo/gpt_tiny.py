"""``builtin:gpt-tiny``: a GPT-2 of about 10^5 parameters with a word-level tokenizer, trained
from scratch in under a minute on :mod:`modeltests.demo.lm_corpus`, saved with
``save_pretrained`` so that ``AutoModelForCausalLM.from_pretrained(directory)`` reloads it
offline.

Its corpus is generated, so tests have exact ground truth: the capitals
(:func:`~modeltests.demo.lm_corpus.capital_questions`), the sums
(:func:`~modeltests.demo.lm_corpus.sums`) and held-out stories
(:func:`~modeltests.demo.lm_corpus.heldout_stories`). It learns the capitals completely and the
sums only partly, so suites over it see PASS, FAIL and undecided verdicts. One thread and fixed
seeds: the same bytes on every build on a machine.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Sequence

from modeltests.demo.cache import built_once, write_marker
from modeltests.demo.lm_corpus import training_documents, vocabulary

GPT_TINY_RECIPE = "gpt-tiny-v2"  # v2: start tokens drawn per document (v1 tied them to the fact)
SPECIAL = ("<pad>", "<unk>", "<eos>")
CONTEXT = 64
STEPS = 1500
BATCH = 32
LEARNING_RATE = 3e-3
SEED = 0


def build_tokenizer(words: Sequence[str]) -> Any:
    """A word-level tokenizer (tokenizers' ``WordLevel`` in a ``PreTrainedTokenizerFast``):
    lower-cased, split at spaces and punctuation, ``<eos>`` both the start and the end of a
    text, ``<unk>`` for any word outside the corpus; decoding joins words with spaces."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(dict.fromkeys([*SPECIAL, *words]))}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=CONTEXT,
                                   bos_token="<eos>", eos_token="<eos>", unk_token="<unk>",
                                   pad_token="<pad>", clean_up_tokenization_spaces=False)


def build_gpt_tiny(directory: Path, steps: int = STEPS, seed: int = SEED) -> dict[str, Any]:
    """Train the model into ``directory``; returns the build facts (also in BUILD_OK.json)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from modeltests.demo.tiny import torch_threads

    started = time.perf_counter()
    tokenizer = build_tokenizer(vocabulary())
    eos = tokenizer.eos_token_id
    # half the documents (drawn) start at position 0 without the start token: generation prompts
    # come without it (lm-eval's convention), perplexity and empty contexts start with it
    starts = random.Random(seed + 1)
    documents = [[eos] * starts.randint(0, 1)
                 + [*tokenizer(d, add_special_tokens=False)["input_ids"], eos]
                 for d in training_documents()]
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=CONTEXT, n_embd=64, n_layer=2,
                        n_head=4, n_inner=128, bos_token_id=eos, eos_token_id=eos,
                        pad_token_id=tokenizer.pad_token_id, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / steps)
    rng = random.Random(seed)
    order: list[list[int]] = []
    model.train()
    with torch_threads(1):
        for _ in range(steps):
            if len(order) < BATCH:
                order = list(documents)
                rng.shuffle(order)
            batch, order = order[:BATCH], order[BATCH:]
            loss = model(**_padded(batch, tokenizer.pad_token_id)).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    directory.mkdir(parents=True, exist_ok=True)
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return {"recipe": GPT_TINY_RECIPE, "seed": seed, "threads": 1, "steps": steps,
            "parameters": sum(p.numel() for p in model.parameters()),
            "final_loss": round(float(loss.detach()), 4),
            "seconds": round(time.perf_counter() - started, 1)}


def _padded(batch: list[list[int]], pad: int) -> dict[str, Any]:
    """Right-padded inputs, attention mask and labels (padding ignored by the loss)."""
    import torch

    width = max(len(ids) for ids in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, tokens in enumerate(batch):
        ids[row, :len(tokens)] = torch.as_tensor(tokens)
        mask[row, :len(tokens)] = 1
    labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def ensure_gpt_tiny(progress: bool = True) -> Path:
    """``builtin:gpt-tiny`` in ``<cache>/models/<recipe>``, built once (see
    :func:`modeltests.demo.cache.built_once`)."""
    from modeltests.support.environment import cache_dir

    return built_once(cache_dir() / "models" / GPT_TINY_RECIPE, GPT_TINY_RECIPE,
                      lambda work: write_marker(work, build_gpt_tiny(work)),
                      "building the demo language model (builtin:gpt-tiny, once, about 50 s)..."
                      if progress else None)
