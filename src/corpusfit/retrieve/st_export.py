"""Save a DenseEncoder as a sentence-transformers folder.

Written in the classic layout (modules.json naming ``sentence_transformers.models.*``)
because every sentence-transformers release from 2.x to 6.x loads it, while the
files a given release writes itself may not load in older ones.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from corpusfit import __version__


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def save_sentence_transformer(encoder, folder: Path) -> None:
    """Write weights, tokenizer and module configs into ``folder`` (via a temp dir + rename)."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    encoder.model.save_pretrained(tmp)
    encoder.tokenizer.save_pretrained(tmp)
    s = encoder.settings
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
    ]
    if s.normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
        (tmp / "2_Normalize").mkdir()
    _dump(tmp / "modules.json", modules)
    _dump(tmp / "sentence_bert_config.json",
          {"max_seq_length": s.passage_max_length, "do_lower_case": False})
    _dump(tmp / "1_Pooling" / "config.json", {
        "word_embedding_dimension": encoder.dim,
        "pooling_mode_cls_token": s.pooling == "cls",
        "pooling_mode_mean_tokens": s.pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    _dump(tmp / "config_sentence_transformers.json", {
        "prompts": {"query": s.query_prefix, "document": s.passage_prefix},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
        "__version__": {"corpusfit": __version__},
    })
    settings = asdict(s)
    if encoder.passage_model:
        settings["passage_model"] = encoder.passage_model
    _dump(tmp / "corpusfit_encoder.json", settings)
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
