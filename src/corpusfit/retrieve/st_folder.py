"""Read an asymmetric sentence-transformers folder (a ``Router`` with query/document routes).

corpusfit encodes with its own batching, but it reads the same files
sentence-transformers reads (routes, pooling, normalization, prompts, max lengths),
so ``SentenceTransformer(folder).encode_query`` / ``encode_document`` and corpusfit's
evaluation embed alike. Routes with modules corpusfit cannot reproduce (Dense,
static embeddings...) are refused rather than approximated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from corpusfit.errors import CorpusfitError

ROUTER_TYPES = ("Router", "Asym")
_NO_LIMIT = 10**6  # tokenizers say "no limit" with a huge model_max_length


@dataclass(frozen=True)
class Route:
    """One route: its Transformer folder and the EncoderSettings fields it implies."""

    path: str
    settings: dict


def _json(path: Path) -> dict | list | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusfitError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from e


def _short(type_name: str) -> str:
    return type_name.rsplit(".", 1)[-1]


def router_dir(folder: str | Path) -> Path | None:
    """The Router module's folder when ``folder/modules.json`` starts with a Router."""
    modules = _json(Path(folder) / "modules.json") or []
    for m in modules:
        if _short(m.get("type", "")) in ROUTER_TYPES:
            return Path(folder) / m.get("path", "")
    return None


def pooling_mode(config: dict, where: Path) -> str:
    """``cls`` or ``mean`` from a Pooling config of any release (2.x flags or 6.x mode)."""
    mode = config.get("pooling_mode")
    if mode is None:
        mode = ("cls" if config.get("pooling_mode_cls_token") else
                "mean" if config.get("pooling_mode_mean_tokens") else "other")
    if mode not in ("cls", "mean"):
        raise CorpusfitError(f"{where}: pooling '{mode}' is not supported (cls or mean)")
    return mode


def max_seq_length(transformer: Path) -> int | None:
    """The token limit sentence-transformers applies to every text of a Transformer folder:
    ``max_seq_length``, else the tokenizer's ``model_max_length`` (None: no limit given)."""
    st = _json(transformer / "sentence_bert_config.json") or {}
    if st.get("max_seq_length"):
        return int(st["max_seq_length"])
    tok = _json(transformer / "tokenizer_config.json") or {}
    limit = tok.get("model_max_length")
    return int(limit) if isinstance(limit, int | float) and limit < _NO_LIMIT else None


def _route(base: Path, ids: list[str], types: dict[str, str]) -> tuple[Path, str, bool]:
    """(Transformer folder, pooling, normalize) of one route's module list."""
    transformer, pooling, normalize = None, "mean", False
    for mid in ids:
        kind = _short(types.get(mid, ""))
        if kind == "Transformer" and transformer is None:
            transformer = base / mid
        elif kind == "Pooling":
            pooling = pooling_mode(_json(base / mid / "config.json") or {}, base / mid)
        elif kind == "Normalize":
            normalize = True
        else:
            raise CorpusfitError(f"{base / 'router_config.json'}: module {mid} ({kind or '?'}) "
                                 "is not supported by corpusfit (Transformer, Pooling, "
                                 "Normalize)")
    if transformer is None:
        raise CorpusfitError(f"{base / 'router_config.json'}: a route has no Transformer")
    return transformer, pooling, normalize


def read_routes(folder: str | Path) -> dict[str, Route] | None:
    """``{"query": Route, "document": Route}`` for a Router folder, else None."""
    base = router_dir(folder)
    if base is None:
        return None
    cfg_path = base / "router_config.json"
    cfg = _json(cfg_path) or _json(base / "config.json") or {}
    structure, types = cfg.get("structure", {}), cfg.get("types", {})
    missing = [r for r in ("query", "document") if r not in structure]
    if missing:
        raise CorpusfitError(f"{cfg_path}: routes {missing} missing (corpusfit needs a "
                             "'query' and a 'document' route)")
    prompts = (_json(Path(folder) / "config_sentence_transformers.json") or {}).get(
        "prompts") or {}
    parsed = {r: _route(base, structure[r], types) for r in ("query", "document")}
    lengths = {r: max_seq_length(parsed[r][0]) for r in parsed}
    shared = {"query_prefix": prompts.get("query") or "",
              "passage_prefix": next((prompts[k] for k in ("document", "passage", "corpus")
                                      if prompts.get(k)), "")}
    if lengths["query"]:
        shared["query_max_length"] = lengths["query"]
    if lengths["document"]:
        shared["passage_max_length"] = lengths["document"]
    return {r: Route(str(path), {**shared, "pooling": pooling, "normalize": normalize})
            for r, (path, pooling, normalize) in parsed.items()}
