"""Tiny randomly initialised sentence-transformers models of each architecture corpusfit meets.

Each is built here and saved with ``SentenceTransformer.save``, as a user's folder would be:
BERT + mean pooling, CLS pooling with a query prompt (bge-style), ``query: ``/``passage: ``
prompts (e5-style), a Dense head, a decoder with last-token pooling (Qwen2), a Router
model with separate query and document routes, and a model with its own modeling code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

WORDS = ["lift of a wing in supersonic flow", "heat transfer in a turbulent boundary layer",
         "drag computer program language library index books papers data what is :",
         "the and query passage represent this sentence for searching relevant passages"]
BGE_PROMPT = "Represent this sentence for searching relevant passages: "
CUSTOM_CONFIG = '''from transformers import BertConfig


class TinyCustomConfig(BertConfig):
    model_type = "tinycustom"
'''
CUSTOM_MODELING = '''from transformers import BertModel

from .configuration_tinycustom import TinyCustomConfig


class TinyCustomModel(BertModel):
    config_class = TinyCustomConfig
'''


def _modules():
    from sentence_transformers.sentence_transformer import modules

    return modules


def _save(modules: list, folder: Path, **kwargs) -> Path:
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(modules=modules, device="cpu", **kwargs).save(str(folder))
    return folder


def _decoder(folder: Path) -> Path:
    """A 2-layer Qwen2 decoder with a word-level tokenizer that pads on the left."""
    import torch
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers import models as tok_models
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2Model

    words = ["<pad>", "<unk>", "<eos>", *sorted(set(" ".join(WORDS).split()))]
    tok = Tokenizer(tok_models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = TemplateProcessing(single="$A <eos>", special_tokens=[("<eos>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                   eos_token="<eos>", padding_side="left",
                                   model_input_names=["input_ids", "attention_mask"])
    folder.mkdir(parents=True)
    fast.save_pretrained(folder)
    torch.manual_seed(3)
    cfg = Qwen2Config(vocab_size=len(words), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                      max_position_embeddings=128, pad_token_id=0, eos_token_id=2)
    Qwen2Model(cfg).save_pretrained(folder)
    return folder


def _custom_code(bert: Path, folder: Path) -> Path:
    """A BERT whose config names its own classes (``auto_map``), as nomic or jina folders do."""
    shutil.copytree(bert, folder)
    (folder / "configuration_tinycustom.py").write_text(CUSTOM_CONFIG)
    (folder / "modeling_tinycustom.py").write_text(CUSTOM_MODELING)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="tinycustom", architectures=["TinyCustomModel"],
                  auto_map={"AutoConfig": "configuration_tinycustom.TinyCustomConfig",
                            "AutoModel": "modeling_tinycustom.TinyCustomModel"})
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="session")
def architectures(tmp_path_factory, tiny_bert, tiny_bert_factory) -> dict[str, Path]:
    """Name -> saved sentence-transformers folder of each architecture."""
    m = _modules()
    root = tmp_path_factory.mktemp("architectures")
    bert = str(tiny_bert)
    other = str(tiny_bert_factory(seed=5))
    folders = {
        "bert-mean": _save([m.Transformer(bert), m.Pooling(32, "mean"), m.Normalize()],
                           root / "bert-mean"),
        "bge-cls": _save([m.Transformer(bert), m.Pooling(32, "cls"), m.Normalize()],
                         root / "bge-cls", prompts={"query": BGE_PROMPT}),
        "e5-prompts": _save([m.Transformer(bert), m.Pooling(32, "mean"), m.Normalize()],
                            root / "e5-prompts",
                            prompts={"query": "query: ", "document": "passage: "}),
        "dense-head": _save([m.Transformer(bert), m.Pooling(32, "mean"),
                             m.Dense(32, 16)], root / "dense-head"),
    }
    decoder = _decoder(root / "qwen2-hf")
    folders["qwen2-lasttoken"] = _save(
        [m.Transformer(str(decoder)), m.Pooling(32, "lasttoken"), m.Normalize()],
        root / "qwen2-lasttoken", prompts={"query": "what is : "})
    router = m.Router.for_query_document(
        [m.Transformer(bert, query_length=16), m.Pooling(32, "mean")],
        [m.Transformer(other), m.Pooling(32, "cls")])
    folders["router"] = _save([router, m.Normalize()], root / "router")
    return folders


@pytest.fixture(scope="session")
def custom_code_model(tmp_path_factory, tiny_bert) -> Path:
    """A sentence-transformers folder over a model with its own modeling .py files."""
    m = _modules()
    root = tmp_path_factory.mktemp("custom")
    hf = _custom_code(tiny_bert, root / "hf")
    word = m.Transformer(str(hf), model_kwargs={"trust_remote_code": True},
                         config_kwargs={"trust_remote_code": True})
    return _save([word, m.Pooling(32, "mean"), m.Normalize()], root / "st")
