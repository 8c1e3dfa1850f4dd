"""Hugging Face causal language models (``task: text-generation``) as
:class:`~modeltests.adapters.generation.TextGenerator`: ``AutoModelForCausalLM`` from a
directory, a hub id or a GGUF file (converted once into the cache).

Conventions (those of lm-evaluation-harness's ``hf`` model, so that scores agree with it):

- texts are tokenized without special tokens; an empty context is the model's start token
  (``bos``, else ``eos``: lm-eval's ``prefix_token_id``);
- ``score`` moves the context's trailing whitespace onto the continuation and takes the
  continuation's tokens as those of ``context + continuation`` past the context's
  (lm-eval's ``loglikelihood``); a pair longer than the context keeps its last tokens;
- ``rolling_logprob`` scores a document in windows of ``max_context`` tokens, each predicting
  ``stride`` new tokens (``stride = max_context``: lm-eval's ``loglikelihood_rolling``);
- ``generate`` pads a batch on the left, decodes greedily unless the request samples, ends a
  text at the end-of-text token or the first stop string (cut from the text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from modeltests.adapters.base import Batching, LoadContext
from modeltests.adapters.generation import (
    ContinuationScore,
    DocumentScore,
    FinishReason,
    Generation,
    GenerationRequest,
    TextGenerator,
    TimedGeneration,
    TokenClock,
    TokenLogprobs,
)
from modeltests.adapters.lm_windows import Window, encode_pair, pair_window, rolling_windows
from modeltests.adapters.torch_utils import loaded_model_facts
from modeltests.adapters.transformers import TransformersParams, load_pretrained
from modeltests.errors import ModelLoadError, ModelPredictError

class CausalLM(TextGenerator):
    """A loaded ``AutoModelForCausalLM`` and its tokenizer."""

    def __init__(self, model: Any, tokenizer: Any, params: TransformersParams,
                 source: Path | str, max_context: int) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.params = params
        self.source = source
        self.context = max_context  # typed int here (the protocol allows None)
        self.max_context = max_context
        self.device = str(next(model.parameters()).device)
        self.labels = []
        self.eos_ids = _eos_ids(model, tokenizer)
        self.eos_text = tokenizer.eos_token
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None \
            else tokenizer.eos_token_id
        if start is None:
            raise ModelLoadError(f"{source}: the tokenizer has neither a start (bos) nor an "
                                 "end-of-text (eos) token to begin an empty context with")
        self.start_id = int(start)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else self.start_id

    # -- tokens -----------------------------------------------------------------------------------
    def encode(self, texts: Sequence[Any]) -> Any:
        """Token ids of each text (no special tokens), as lists."""
        return [self._tokens(str(text)) for text in texts]

    def _tokens(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text))

    def prompt_tokens(self, prompt: str) -> list[int]:
        """The tokens generation starts from: the prompt (in the chat template when ``chat``),
        or the start token for an empty prompt."""
        if self.params.chat:
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                     add_generation_prompt=True, tokenize=True)
            ids = list(ids["input_ids"] if isinstance(ids, dict) else ids)
        else:
            ids = self._tokens(prompt)
        return ids or [self.start_id]

    # -- generate ---------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str], request: GenerationRequest) -> list[Generation]:
        """Greedy (or seeded sampling) generations, ``batch_size`` prompts of similar length
        per call; a prompt whose generation would outgrow the context is generated alone and
        ends with ``finish_reason`` ``context``."""
        encoded = self._encode_prompts(prompts, request)
        results: list[Generation | None] = [None] * len(prompts)
        fits = [i for i, ids in enumerate(encoded)
                if len(ids) + request.max_new_tokens <= self.context]
        order = sorted(fits, key=lambda i: -len(encoded[i]))
        size = self.params.batch_size
        chunks = [order[s:s + size] for s in range(0, len(order), size)]
        chunks += [[i] for i in range(len(prompts)) if i not in set(fits)]
        for chunk in chunks:
            budget = min(request.max_new_tokens,
                         self.context - max(len(encoded[i]) for i in chunk))
            for index, generation in zip(chunk, self._generate_batch(
                    [encoded[i] for i in chunk], budget, request)):
                results[index] = generation
            self.batch_done(len(chunk))
        return [g for g in results if g is not None]

    def _encode_prompts(self, prompts: Sequence[str], request: GenerationRequest
                        ) -> list[list[int]]:
        """The prompts' token ids; a prompt or a budget beyond the context is an error."""
        if request.max_new_tokens >= self.context:
            raise ModelPredictError(
                f"max_new_tokens {request.max_new_tokens} is beyond the model's context of "
                f"{self.context} tokens (prompt and generation together); allowed: 1 to "
                f"{self.context - 1}")
        encoded = [self.prompt_tokens(p) for p in prompts]
        for row, ids in enumerate(encoded):
            if len(ids) > self.context:
                raise ModelPredictError(
                    f"prompt {row} is {len(ids)} tokens, longer than the model's context of "
                    f"{self.context} tokens: shorten it (or keep prompts under "
                    f"{self.context - request.max_new_tokens} tokens to generate "
                    f"{request.max_new_tokens})")
        return encoded

    def generate_timed(self, prompt: str, request: GenerationRequest) -> TimedGeneration:
        """One prompt generated alone under a :class:`TokenClock` streamer: the time to the
        first generated token on the host and to the last one the answer keeps."""
        (ids,) = self._encode_prompts([prompt], request)
        budget = min(request.max_new_tokens, self.context - len(ids))
        clock = TokenClock(self._synchronize())
        clock.start()
        (generation,) = self._generate_batch([ids], budget, request, streamer=clock)
        return clock.timed(generation)

    def _synchronize(self) -> Callable[[], None] | None:
        """``torch.cuda.synchronize`` on a CUDA device (earlier work must not be timed)."""
        if str(self.device).startswith("cuda"):
            import torch

            return torch.cuda.synchronize
        return None

    def _generate_batch(self, rows: list[list[int]], budget: int, request: GenerationRequest,
                        streamer: TokenClock | None = None) -> list[Generation]:
        import torch
        from transformers import GenerationConfig

        width = max(len(ids) for ids in rows)
        if budget < 1:  # the prompt fills the context: nothing can follow it
            return [Generation("", "context", (), len(ids)) for ids in rows]
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, ids in enumerate(rows):
            input_ids[row, width - len(ids):] = torch.as_tensor(ids)
            mask[row, width - len(ids):] = 1
        sampling: dict[str, Any] = ({"do_sample": False} if request.greedy else
                                    {"do_sample": True, "temperature": request.temperature,
                                     "top_k": 0, "top_p": 1.0})
        config = GenerationConfig(max_new_tokens=budget, pad_token_id=self.pad_id,
                                  bos_token_id=self.start_id,
                                  eos_token_id=sorted(self.eos_ids) or None, **sampling)
        if not request.greedy:
            torch.manual_seed(int(request.seed or 0))
        extra: dict[str, Any] = {"stopping_criteria": [self._stop_criterion(request.stop, width)]} \
            if request.stop else {}
        if streamer is not None:
            extra["streamer"] = streamer
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids.to(self.device),
                                      attention_mask=mask.to(self.device),
                                      generation_config=config, **extra)
        return [self._finish(out[row, width:].tolist(), len(ids), budget, request)
                for row, ids in enumerate(rows)]

    def _stop_criterion(self, stops: Sequence[str], width: int) -> Any:
        """A stopping criterion that ends each row once its decoded text holds a stop string
        (transformers' own ``stop_strings`` needs a tokenizer whose vocabulary it can map,
        which a word-level one is not)."""
        import torch
        from transformers import StoppingCriteria

        decode = self._decode

        class StopAtStrings(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                done = [any(s in decode(row[width:].tolist()) for s in stops)
                        for row in input_ids]
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        return StopAtStrings()

    def _finish(self, new: list[int], prompt_tokens: int, budget: int,
                request: GenerationRequest) -> Generation:
        """One row of ``generate``'s output as a :class:`Generation`: cut at the end-of-text
        token and at the first stop string, with the reason it ended."""
        tokens: list[int] = []
        reason: FinishReason | None = None
        for token in new:
            if token in self.eos_ids:
                reason = "eos"
                break
            tokens.append(token)
        text = self._decode(tokens)
        cut = [(text.find(s), s) for s in request.stop if s and s in text]
        if cut:
            at = min(cut)[0]
            text = text[:at]
            kept = next((n for n in range(1, len(tokens) + 1)
                         if len(self._decode(tokens[:n])) > at), len(tokens))
            return Generation(text, "stop", tuple(tokens[:kept]), prompt_tokens)
        if reason is None:
            while tokens and tokens[-1] == self.pad_id and len(tokens) < budget:
                tokens.pop()  # padding after a stop string the text does not show
            reason = "context" if budget < request.max_new_tokens else "length"
        return Generation(text, reason, tuple(tokens), prompt_tokens)

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True,
                                         clean_up_tokenization_spaces=False))

    # -- score ------------------------------------------------------------------------------------
    def score(self, pairs: Sequence[tuple[str, str]]) -> list[ContinuationScore]:
        """lm-eval's ``loglikelihood`` of each pair (see the module's conventions)."""
        windows = [self._pair_window(context, continuation) for context, continuation in pairs]
        return [ContinuationScore(logprob, count, greedy)
                for (logprob, greedy), (_, count) in zip(self._score_windows(windows), windows)]

    def _pair_window(self, context: str, continuation: str) -> Window:
        if self.params.chat and context:
            context_ids, continuation_ids = self.prompt_tokens(context), self._tokens(continuation)
        else:
            context_ids, continuation_ids = encode_pair(self._tokens, self.start_id, context,
                                                        continuation)
        return pair_window(context_ids, continuation_ids, self.context, continuation)

    def rolling_logprob(self, texts: Sequence[str], stride: int | None = None
                        ) -> list[DocumentScore]:
        """Each text's log-probability from the start token, in windows of ``max_context``
        tokens that each predict ``stride`` new tokens (default ``max_context``: disjoint
        windows, lm-eval's ``loglikelihood_rolling``; a smaller stride gives every predicted
        token more context)."""
        plans = [rolling_windows(self._tokens(text), self.start_id, self.context, stride)
                 for text in texts]
        flat = [w for windows in plans for w in windows]
        scored = iter(self._score_windows(flat))
        out = []
        for windows in plans:
            total = sum(next(scored)[0] for _ in windows)
            out.append(DocumentScore(total, sum(k for _, k in windows), len(windows)))
        return out

    def _score_windows(self, windows: Sequence[Window]) -> list[tuple[float, bool]]:
        """Summed log-probability of each window's predicted tokens, and whether each is the
        argmax; windows of similar length share a right-padded forward call."""
        import torch

        results: list[tuple[float, bool]] = [(0.0, False)] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i][0]))
        size = self.params.batch_size
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            inputs = [windows[i][0][:-1] for i in chunk]
            logits = self._forward_padded(inputs)
            for row, index in enumerate(chunk):
                tokens, count = windows[index]
                last = len(tokens) - 1
                picked = torch.log_softmax(logits[row, last - count:last].float(), dim=-1)
                targets = torch.as_tensor(tokens[-count:], device=picked.device)
                logprob = float(picked.gather(1, targets[:, None]).sum())
                greedy = bool((picked.argmax(dim=-1) == targets).all())
                results[index] = (logprob, greedy)
            self.batch_done(len(chunk))
        return results

    def _forward_padded(self, inputs: list[list[int]]) -> Any:
        import torch

        width = max(len(ids) for ids in inputs)
        input_ids = torch.full((len(inputs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(inputs), width), dtype=torch.long)
        for row, ids in enumerate(inputs):
            input_ids[row, :len(ids)] = torch.as_tensor(ids)
            mask[row, :len(ids)] = 1
        with torch.inference_mode():
            return self.model(input_ids=input_ids.to(self.device),
                              attention_mask=mask.to(self.device)).logits

    def token_logprobs(self, texts: Sequence[str]) -> list[TokenLogprobs]:
        """The next-token distributions over each text's tokens (no start token); a text
        longer than the context is an error (score it in windows instead)."""
        import torch

        out = []
        for row, text in enumerate(texts):
            ids = self._tokens(text)
            if len(ids) > self.context:
                raise ModelPredictError(f"text {row} is {len(ids)} tokens, longer than the "
                                        f"model's context of {self.context}")
            if len(ids) < 2:
                vocab = int(self.model.config.vocab_size)
                out.append(TokenLogprobs(tuple(ids), torch.zeros((0, vocab)).numpy()))
                continue
            logits = self._forward_padded([ids[:-1]])[0]
            table = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
            out.append(TokenLogprobs(tuple(ids), table))
            self.batch_done(1)
        return out

    # -- the adapter --------------------------------------------------------------------------------
    def forward(self, batch: Any) -> Any:
        return self._forward_padded(list(batch))

    def batching(self) -> Batching:
        return Batching(self.params.batch_size, sorted_by_length=True)

    def source_files(self) -> list[Path]:
        return [self.source] if isinstance(self.source, Path) else []

    def torch_module(self) -> Any:
        return self.model

    def with_module(self, module: Any) -> CausalLM:
        return CausalLM(module, self.tokenizer, self.params, self.source, self.context)

    def describe(self) -> dict[str, Any]:
        return {"adapter": "transformers", "task": "text-generation",
                "max_context": self.context, "chat": self.params.chat,
                **loaded_model_facts(self.model, self.source, self.device)}

    def close(self) -> None:
        self.model = None


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every token id that ends a text: the tokenizer's eos and the generation config's."""
    found = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    found |= set(configured) if isinstance(configured, (list, tuple)) else {configured}
    return {int(t) for t in found if t is not None}


def context_limit(model: Any, tokenizer: Any) -> int:
    """The model's context in tokens: its position table (``n_positions`` /
    ``max_position_embeddings`` / ``n_ctx``), else the tokenizer's ``model_max_length`` when
    that is a real number, else 2048 (lm-eval's order and default)."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(model.config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < 1_000_000:
        return declared
    return 2048


def load_causal_lm(params: TransformersParams, context: LoadContext) -> CausalLM:
    """Load a generator (see :func:`~modeltests.adapters.transformers.load_pretrained`). Its
    context is the model's (cut to ``max_length`` when the suite sets it); ``chat: true`` needs
    the tokenizer's chat template."""
    tokenizer, model, source = load_pretrained(params, context, "AutoModelForCausalLM")
    limit = context_limit(model, tokenizer)
    if "max_length" in params.model_fields_set:
        if params.max_length > limit:
            raise ModelLoadError(context.problem(
                "max_length", f"{params.max_length} tokens is more than the model's context "
                f"({limit} tokens); allowed: 1 to {limit}"))
        limit = params.max_length
    if params.chat and not getattr(tokenizer, "chat_template", None):
        raise ModelLoadError(context.problem(
            "chat", f"{source} has no chat template (tokenizer_config.json 'chat_template'); "
            "set chat: false to give prompts as plain text, or load the instruction-tuned "
            "model's tokenizer"))
    return CausalLM(model, tokenizer, params, source, limit)
