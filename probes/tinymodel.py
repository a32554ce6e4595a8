"""Build a tiny random-weight Llama model locally, so vLLM runs offline (no hub download).

Run with a Python that has torch, transformers and tokenizers (the vLLM environment):
``python probes/tinymodel.py OUT_DIR``. About 2 MB, built in seconds: a byte-level BPE
tokenizer (vocab 2,048) trained on the standard library's own source files, wrapped with a
chat template, and a 2-layer ``LlamaForCausalLM`` (hidden 128, 4 heads, 2 KV heads) with
seeded random weights. The EOS row of the output layer is zeroed, which makes an early
stop rare; requests with ``ignore_eos`` (the probe sends it to vLLM) get exact lengths. The text it
generates is gibberish: count tokens from the server's usage, not from text.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import sysconfig

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build(out_dir: str, seed: int = 0) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(glob.glob(os.path.join(stdlib, "*.py")))[:200]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|bos|>", "<|eos|>", "<|pad|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=2048,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train(files, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|bos|>", eos_token="<|eos|>", pad_token="<|pad|>")
    fast.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight[fast.eos_token_id].zero_()
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    fast.save_pretrained(out_dir)
    with open(os.path.join(out_dir, "tiny-model.json"), "w") as f:
        json.dump({"built_by": "probes/tinymodel.py", "seed": seed, "files_trained_on": len(files)}, f)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python probes/tinymodel.py OUT_DIR")
    build(sys.argv[1])
    print(sys.argv[1])
