"""``builtin:ner-tiny``: a tiny BERT token classifier trained from scratch on
:mod:`modeltests.demo.ner` sentences (2 layers, hidden 64, its own cased WordPiece), saved with
``save_pretrained`` and reloaded by ``AutoModelForTokenClassification.from_pretrained``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Sequence

from modeltests.demo.ner import LABELS, sentences

NER_RECIPE = "ner-tiny-v3"
TRAIN_SIZE = 2000
EPOCHS = 3
LEARNING_RATE = 3e-3
BATCH = 32
SEED = 0


def _vocabulary(texts: Sequence[str], words: int = 400) -> dict[str, int]:
    """A WordPiece vocabulary built in a fixed order: the special tokens, every character
    (alone and as a ``##`` continuation) and the most frequent words (ties alphabetical).
    The tokenizers library's trainer breaks ties in a different order in each process, which
    would make the weights differ between builds."""
    from collections import Counter

    from modeltests.demo.vocabulary import SPECIAL_TOKENS

    counts = Counter(word for text in texts for word in text.split())
    chars = sorted({c for word in counts for c in word})
    frequent = sorted(counts, key=lambda w: (-counts[w], w))[:words]
    tokens = [*SPECIAL_TOKENS, *chars, *(f"##{c}" for c in chars),
              *(w for w in frequent if len(w) > 1)]
    return {token: index for index, token in enumerate(dict.fromkeys(tokens))}


def _tokenizer(texts: Sequence[str]) -> Any:
    """A cased WordPiece tokenizer (capitals carry much of NER's signal)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(_vocabulary(texts), unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=128,
                             unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", do_lower_case=False)


def _aligned_labels(encoded: Any, rows: Sequence[Sequence[str]], label2id: dict[str, int]
                    ) -> list[list[int]]:
    """Each word's tag on its first sub-token; -100 (ignored by the loss) elsewhere."""
    out = []
    for index, tags in enumerate(rows):
        previous = None
        row = []
        for word in encoded.word_ids(index):
            row.append(-100 if word is None or word == previous else label2id[tags[word]])
            previous = word
        out.append(row)
    return out


def build_ner_model(directory: Path, seed: int = SEED) -> dict[str, Any]:
    """Train the model into ``directory``; returns the build facts (also in BUILD_OK.json)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from modeltests.demo.tiny import torch_threads

    started = time.perf_counter()
    train = sentences(seed, TRAIN_SIZE, "train")
    tokenizer = _tokenizer([" ".join(w) for w, _ in train])
    label2id = {label: i for i, label in enumerate(LABELS)}
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128,
                        max_position_embeddings=128, id2label=dict(enumerate(LABELS)),
                        label2id=label2id)
    torch.manual_seed(seed)
    model = BertForTokenClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    model.train()
    with torch_threads(1):
        for epoch in range(EPOCHS):
            order = list(train)
            random.Random(seed * 1000 + epoch).shuffle(order)
            for start in range(0, len(order), BATCH):
                batch = order[start:start + BATCH]
                encoded = tokenizer([w for w, _ in batch], is_split_into_words=True,
                                    padding=True, return_tensors="pt")
                labels = _aligned_labels(encoded, [t for _, t in batch], label2id)
                loss = model(**encoded, labels=torch.tensor(labels)).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
    model.eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return {"recipe": NER_RECIPE, "seed": seed, "threads": 1, "train_sentences": TRAIN_SIZE,
            "seconds": round(time.perf_counter() - started, 1)}


def ensure_ner_model(progress: bool = True) -> Path:
    """The demo NER model in ``<cache>/models/<recipe>``, built once (see
    :func:`modeltests.demo.cache.built_once`)."""
    from modeltests.demo.cache import built_once, write_marker
    from modeltests.support.environment import cache_dir

    return built_once(cache_dir() / "models" / NER_RECIPE, NER_RECIPE,
                      lambda work: write_marker(work, build_ner_model(work)),
                      "building the demo NER model (builtin:ner-tiny, once, about 20 s)..."
                      if progress else None)
