"""Tiny random teachers built on the fly: word-level tokenizers, T5, causal LMs (the
cross-encoder is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

WORDS = sorted(set(
    "the a of in to and is for on with wing lift drag flow mach shock boundary layer heat "
    "transfer pressure supersonic airfoil plate velocity turbulent laminar what how which "
    "are does passage query document relevant question please write based this answer yes "
    "no true false : ? . , \n".split(" ")) - {""})


def word_tokenizer(folder: Path, specials: list[str], **named):
    """A whitespace word-level fast tokenizer saved into ``folder``."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=named["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Punctuation()])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **named)
    fast.save_pretrained(folder)
    return fast


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny_t5")
    tok = word_tokenizer(folder, ["<pad>", "</s>", "<unk>", "<extra_id_10>"],
                         pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                         additional_special_tokens=["<extra_id_10>"])  # as in real T5
    torch.manual_seed(0)
    cfg = T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                   num_heads=4, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    T5ForConditionalGeneration(cfg).save_pretrained(folder)
    return folder


def _causal(folder: Path, arch: str):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    tok = word_tokenizer(folder, ["<pad>", "<s>", "<unk>"], pad_token="<pad>",
                         bos_token="<s>", unk_token="<unk>")
    torch.manual_seed(0)
    if arch == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2,
                                           n_head=2, n_positions=256, bos_token_id=1))
    else:
        model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32,
                                             intermediate_size=64, num_hidden_layers=2,
                                             num_attention_heads=4, num_key_value_heads=2,
                                             max_position_embeddings=256, bos_token_id=1))
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session", params=["gpt2", "llama"])
def tiny_causal(request, tmp_path_factory) -> Path:
    return _causal(tmp_path_factory.mktemp(f"tiny_{request.param}"), request.param)
