"""Local backends: transformers on tiny random models; the real bundled SmolLM2 (slow)."""

from __future__ import annotations

import shutil

import pytest

from corpusfit.generate.backends.base import REGISTRY, Backend, Request, create_backend
from corpusfit.generate.config import GenerateConfig, SamplingConfig, backend_config
from corpusfit.generate.prompts import build_messages
from corpusfit.generate.types import builtin_type
from corpusfit.isolation import run_in_child

TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} {% endfor %}"
            "{% if add_generation_prompt %}<assistant>{% endif %}")


def _messages(text="lift of a wing in supersonic flow", source="d1"):
    return build_messages(builtin_type("question"), text, source, k=2, seed=1, max_chars=2048)


@pytest.fixture(scope="module")
def tiny_causal(tiny_bert, tmp_path_factory):
    """A random 2-layer Llama with the tiny BERT word-piece tokenizer and a chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny_causal")
    tok = AutoTokenizer.from_pretrained(tiny_bert)
    tok.chat_template = TEMPLATE
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                      max_position_embeddings=512, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_seq2seq(tiny_bert, tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny_seq2seq")
    for f in tiny_bert.iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special")):
            shutil.copy(f, folder / f.name)
    tok = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    cfg = BartConfig(vocab_size=tok.vocab_size, d_model=32, encoder_layers=1, decoder_layers=1,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                     decoder_ffn_dim=64, max_position_embeddings=512,
                     pad_token_id=tok.pad_token_id, bos_token_id=tok.cls_token_id,
                     eos_token_id=tok.sep_token_id, decoder_start_token_id=tok.cls_token_id,
                     forced_eos_token_id=None)
    BartForConditionalGeneration(cfg).save_pretrained(folder)
    return folder


def test_transformers_causal_applies_chat_template_and_is_seeded(tiny_causal):
    backend = create_backend(backend_config(name="transformers", model=str(tiny_causal),
                                           batch_size=2, device="cpu"))
    assert isinstance(backend, Backend) and backend.name == "transformers"
    prompt = backend._prompt(_messages())
    assert prompt.startswith("<system>") and prompt.endswith("<assistant>")
    assert prompt.count("<assistant>") == 3  # two few-shot answers + the generation prompt
    reqs = [Request("d1", "question", _messages(), seed=5),
            Request("d2", "question", _messages("heat transfer", "d2"), seed=6),
            Request("d3", "question", _messages("drag of an airfoil", "d3"), seed=7)]
    sampling = SamplingConfig(max_new_tokens=6)
    first = backend.generate(reqs, sampling)
    again = backend.generate(reqs, sampling)
    assert len(first) == 3 and all(c.text is not None and c.error is None for c in first)
    assert [c.text for c in first] == [c.text for c in again]
    assert all(len(c.text.split()) <= 6 for c in first)  # only new tokens are returned
    backend.close()


def test_transformers_seq2seq_uses_plain_prompt(tiny_seq2seq):
    backend = create_backend(backend_config(name="transformers", model=str(tiny_seq2seq)))
    assert backend._seq2seq and not backend._templated
    assert backend._prompt(_messages()).endswith("Answer:")
    out = backend.generate([Request("d1", "question", _messages(), seed=1)],
                           SamplingConfig(temperature=0.0, max_new_tokens=4))
    assert len(out) == 1 and isinstance(out[0].text, str)


def test_registry_names_every_backend():
    assert set(REGISTRY) == {"llama-cpp", "transformers", "openai", "vllm"}
    assert GenerateConfig().backend.name == "llama-cpp"


def test_vllm_missing_is_a_clear_error():
    try:
        import vllm  # noqa: F401
    except ImportError:
        from corpusfit.errors import ConfigError

        with pytest.raises(ConfigError, match="needs vllm"):
            create_backend(backend_config(name="vllm", model="x"))
    else:
        pytest.skip("vllm is installed")


@pytest.mark.slow
def test_bundled_smollm2_with_llama_cpp():
    pytest.importorskip("llama_cpp")
    import llama_children

    passages = ["the lift of a swept wing was measured in a supersonic wind tunnel",
                "heat transfer through a laminar boundary layer on a cooled flat plate",
                "the drag of slender bodies of revolution at transonic speeds"]
    reqs = [Request(f"p{i}", "question", _messages(p, f"p{i}"), seed=i, passage=p)
            for i, p in enumerate(passages)]
    # llama.cpp runs in a child: a native crash fails this test with its cause, not the run.
    got = run_in_child(llama_children.smollm2_generation, _messages(), reqs, 16,
                       what="llama-cpp generator (smollm2)", timeout=900)
    assert got["model_name"] == "SmolLM2-135M-Instruct.Q4_1"
    assert got["rendered"].endswith("<|im_start|>assistant\n")  # the generation prompt is added
    out, again = got["out"], got["again"]
    assert len(out) == 3 and all(c.text and c.text.strip() for c in out)
    assert again[0].text == out[0].text  # the per-request seed makes sampling reproducible
