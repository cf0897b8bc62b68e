"""Save a DenseEncoder as a sentence-transformers folder.

Written in the classic layout (modules.json naming ``sentence_transformers.models.*``)
because every sentence-transformers release from 2.x to 6.x loads it, while the
files a given release writes itself may not load in older ones.

A query-only model (trained query side, base passage side) is written as one folder
with sentence-transformers' own asymmetric module, ``Router`` (5.0 and later): a
``query`` route and a ``document`` route, each a Transformer + Pooling (+ Normalize)
in its own subfolder, so ``SentenceTransformer(folder).encode_query`` /
``encode_document`` use the right weights, and the folder can be moved or uploaded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from corpusfit.version import __version__

ST = "sentence_transformers.models."
ROUTER_CONFIG = "router_config.json"
ROUTES = ("query", "document")


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _write_modules(encoder, folder: Path, names: list[str], max_length: int) -> list[str]:
    """Transformer (in ``names[0]``), Pooling, Normalize dirs under ``folder``; their types.

    ``max_length`` goes where every release reads it: ``sentence_bert_config.json``
    (2.x-5.x) and the tokenizer's ``model_max_length`` (6.x).
    """
    transformer = folder / names[0]
    transformer.mkdir(parents=True, exist_ok=True)
    encoder.model.save_pretrained(transformer)
    old_max = encoder.tokenizer.model_max_length
    encoder.tokenizer.model_max_length = max_length
    try:
        encoder.tokenizer.save_pretrained(transformer)
    finally:
        encoder.tokenizer.model_max_length = old_max
    _dump(transformer / "sentence_bert_config.json",
          {"max_seq_length": max_length, "do_lower_case": False})
    s = encoder.settings
    _dump(folder / names[1] / "config.json", {
        "word_embedding_dimension": encoder.dim,
        "pooling_mode_cls_token": s.pooling == "cls",
        "pooling_mode_mean_tokens": s.pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    types = [ST + "Transformer", ST + "Pooling"]
    if s.normalize:
        (folder / names[2]).mkdir()
        types.append(ST + "Normalize")
    return types


def _write_config(folder: Path, settings) -> None:
    # encode_query / encode_document pick the "query" / "document" prompt themselves.
    _dump(folder / "config_sentence_transformers.json", {
        "prompts": {"query": settings.query_prefix, "document": settings.passage_prefix},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
        "__version__": {"corpusfit": __version__},
    })


def _write_plain(encoder, tmp: Path) -> None:
    """One encoder for both sides: the modules at the top level of the folder."""
    types = _write_modules(encoder, tmp, ["", "1_Pooling", "2_Normalize"],
                           encoder.settings.passage_max_length)
    paths = ["", "1_Pooling", "2_Normalize"]
    _dump(tmp / "modules.json", [{"idx": i, "name": str(i), "path": paths[i], "type": t}
                                 for i, t in enumerate(types)])
    _write_config(tmp, encoder.settings)
    # corpusfit's query max length, which a single sentence-transformers module cannot hold.
    _dump(tmp / "corpusfit_encoder.json", asdict(encoder.settings))


def _write_router(query_encoder, passage_encoder, tmp: Path) -> None:
    """Query and document routes, each with its own weights, pooling and max length."""
    types, structure = {}, {}
    for route, enc in zip(ROUTES, (query_encoder, passage_encoder), strict=True):
        names = [f"{route}_0_Transformer", f"{route}_1_Pooling", f"{route}_2_Normalize"]
        length = (enc.settings.query_max_length if route == "query"
                  else enc.settings.passage_max_length)
        route_types = _write_modules(enc, tmp, names, length)
        structure[route] = names[:len(route_types)]
        types.update(zip(names, route_types, strict=False))
    _dump(tmp / ROUTER_CONFIG, {
        "types": types, "structure": structure,
        "parameters": {"default_route": "document", "allow_empty_key": True,
                       "route_mappings": {}}})
    _dump(tmp / "modules.json", [{"idx": 0, "name": "0", "path": "", "type": ST + "Router"}])
    settings = query_encoder.settings
    _write_config(tmp, settings.__class__(**{**asdict(settings), "passage_prefix":
                                             passage_encoder.settings.passage_prefix}))


def save_sentence_transformer(encoder, folder: Path, passage_encoder=None) -> None:
    """Write ``folder`` (via a temp dir + rename): plain, or a Router with ``passage_encoder``."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    if passage_encoder is None:
        _write_plain(encoder, tmp)
    else:
        _write_router(encoder, passage_encoder, tmp)
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
