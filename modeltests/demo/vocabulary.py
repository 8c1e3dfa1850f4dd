"""The WordPiece tokenizer of the project's small demo and test models, built the same on
every machine.

Its vocabulary is counted, not trained: the special tokens, every character (alone and as a
``##`` continuation), then whole words by count, ties in alphabetical order. ``tokenizers``'
``WordPieceTrainer`` breaks ties between equally frequent merges in hash order, which differs
from process to process (huggingface/tokenizers#1794: two builds of the same texts gave two
vocabularies, and models of 0.86 and 0.85 accuracy), so a trained vocabulary would make every
build a different model. The generated corpora have a few hundred distinct words: each is a
token, and a word outside them is spelled out in characters.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from transformers import BertTokenizerFast

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def counted_wordpiece(texts: Sequence[str], vocab_size: int | None = None,
                      model_max_length: int = 128) -> BertTokenizerFast:
    """A lower-casing BERT WordPiece tokenizer (``[CLS] a [SEP] b [SEP]`` for pairs) whose
    vocabulary is counted from ``texts``; at most ``vocab_size`` tokens (None: every word)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({c for word in words for c in word})
    tokens = list(dict.fromkeys([*SPECIAL_TOKENS, *characters, *(f"##{c}" for c in characters)]))
    by_count = [w for w in sorted(words, key=lambda w: (-words[w], w)) if w not in tokens]
    room = len(by_count) if vocab_size is None else max(vocab_size - len(tokens), 0)
    tokens += by_count[:room]
    tokenizer = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)},
                                           unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = splitter
    tokenizer.decoder = decoders.WordPiece()
    cls_id, sep_id = tokens.index("[CLS]"), tokens.index("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=model_max_length,
                             unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]")
