"""Dense encoder over any local sentence-transformers or Hugging Face encoder folder.

Faster than a fixed batch size: texts are tokenized once, sorted by length and
cut into batches by a *token* budget, so short texts share big batches and no
batch pads far beyond its longest text.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from corpusfit.errors import CorpusfitError
from corpusfit.models import preset_for, resolve_model
from corpusfit.precision import Precision, autocast
from corpusfit.precision import resolve as resolve_precision
from corpusfit.retrieve.cache import EmbeddingCache
from corpusfit.retrieve.settings import default
from corpusfit.retrieve.st_folder import max_seq_length, pooling_mode, read_routes
from corpusfit.workspace import config_hash, read_json

logger = logging.getLogger(__name__)

Pooling = Literal["cls", "mean"]
Kind = Literal["query", "passage"]
SETTINGS_FILE = "corpusfit_encoder.json"


@dataclass(frozen=True)
class EncoderSettings:
    """How texts become vectors; saved with every model corpusfit writes."""

    pooling: Pooling = "mean"
    query_prefix: str = ""
    passage_prefix: str = ""
    query_max_length: int = 64
    passage_max_length: int = 256
    normalize: bool = True

    def prefix(self, kind: Kind) -> str:
        return self.query_prefix if kind == "query" else self.passage_prefix

    def max_length(self, kind: Kind) -> int:
        return self.query_max_length if kind == "query" else self.passage_max_length


def _read_json(path: Path) -> dict | None:
    return read_json(path) if path.exists() else None


def detect_settings(model_dir: str, name: str) -> dict:
    """Settings found in the folder: corpusfit's own file, else sentence-transformers files."""
    folder = Path(model_dir)
    own = _read_json(folder / SETTINGS_FILE)
    if own is not None:
        return own
    found: dict = {}
    preset = preset_for(name) or preset_for(model_dir)
    if preset:
        found.update(pooling=preset.pooling, query_prefix=preset.query_prefix,
                     passage_prefix=preset.passage_prefix)
    pool = _read_json(folder / "1_Pooling" / "config.json")
    if pool:
        found["pooling"] = pooling_mode(pool, folder / "1_Pooling")
    st_cfg = _read_json(folder / "config_sentence_transformers.json") or {}
    prompts = st_cfg.get("prompts") or {}
    if prompts.get("query"):
        found["query_prefix"] = prompts["query"]
    for key in ("document", "passage", "corpus"):
        if prompts.get(key):
            found["passage_prefix"] = prompts[key]
    # sentence-transformers cuts queries and documents alike at max_seq_length; so does
    # corpusfit (a long query cut at 64 tokens scored CISI 0.4166 instead of 0.4207).
    limit = max_seq_length(folder) if folder.is_dir() else None
    if limit:
        found["query_max_length"] = found["passage_max_length"] = limit
    modules = _read_json(folder / "modules.json") or []
    if modules and not any("Normalize" in m.get("type", "") for m in modules):
        found["normalize"] = False
    return found


def _within_positions(settings: EncoderSettings, net, tokenizer) -> EncoderSettings:
    """Max lengths cut to what the model can embed: a model with 128 positions fails with
    an index error on the first text longer than that (the default passage length is 256)."""
    limits = [getattr(net.config, "max_position_embeddings", None),
              getattr(tokenizer, "model_max_length", None)]
    limit = min((x for x in limits if isinstance(x, int) and x > 0), default=None)
    if limit is None:
        return settings
    return replace(settings, query_max_length=min(settings.query_max_length, limit),
                   passage_max_length=min(settings.passage_max_length, limit))


def model_fingerprint(model_dir: str) -> str:
    """Cheap identity of a model folder: path plus names, sizes, mtimes of weight files."""
    folder = Path(model_dir)
    if not folder.exists():
        return model_dir
    parts = [str(folder.resolve())]
    for f in sorted(folder.rglob("*")):
        if f.suffix in {".safetensors", ".bin", ".pt"}:
            st = f.stat()
            parts.append(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}")
    return config_hash(parts)


def weights_digest(model: torch.nn.Module) -> str:
    """Identity of the weights themselves, wherever the folder lies: a query-only model's
    document route is a copy of the base model and shares the base model's cached vectors."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


class DenseEncoder:
    """A transformer encoder plus pooling, prefixes and normalization."""

    def __init__(self, model, tokenizer, settings: EncoderSettings, name: str = "",
                 device: str | None = None, passage_model: str | None = None,
                 precision: Precision = "fp32"):
        self.model = model
        # Query-only models keep the base model for passages, so the index is reused.
        self.passage_model = passage_model
        self.tokenizer = tokenizer
        self.settings = settings
        self.name = name
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device)
        # fp32 unless asked: vectors then equal sentence-transformers' own; "auto" = bf16
        # autocast where the hardware multiplies bf16 natively (corpusfit/precision.py).
        self.precision = resolve_precision(precision, self.device)

    @classmethod
    def load(cls, model: str, device: str | None = None, precision: Precision = "fp32",
             **overrides) -> DenseEncoder:
        """Load from a short name, local folder or hub id; ``overrides`` set EncoderSettings.

        For an asymmetric (Router) folder this is its query route; see :meth:`load_pair`.
        """
        path = resolve_model(model)
        routes = read_routes(path)
        if routes is not None:
            query = routes["query"]
            return cls._load_folder(query.path, dict(query.settings), overrides, device, model,
                                    precision)
        found = detect_settings(path, model)
        return cls._load_folder(path, found, overrides, device, model, precision)

    @classmethod
    def _load_folder(cls, path: str, found: dict, overrides: dict, device: str | None,
                     model: str, precision: Precision = "fp32") -> DenseEncoder:
        from transformers import AutoModel, AutoTokenizer

        passage_model = found.pop("passage_model", None)
        found.update({k: v for k, v in overrides.items() if v is not None})
        try:
            settings = EncoderSettings(**found)
        except TypeError as e:
            raise CorpusfitError(f"bad encoder setting for {model}: {e}") from e
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            net = AutoModel.from_pretrained(path)
        except OSError as e:
            raise CorpusfitError(f"cannot load model '{model}' from {path}: {e}") from e
        net.eval()
        settings = _within_positions(settings, net, tokenizer)
        logger.info("loaded encoder %s (%s)", model, settings)
        return cls(net, tokenizer, settings, name=path, device=device,
                   passage_model=passage_model, precision=precision)

    @classmethod
    def load_pair(cls, model: str, **overrides) -> tuple[DenseEncoder, DenseEncoder]:
        """(query encoder, passage encoder); they differ only for asymmetric models.

        A Router folder gives its two routes (as ``SentenceTransformer.encode_query`` and
        ``encode_document`` use them); a folder of the older layout names its passage
        model in ``corpusfit_encoder.json``, which must still exist.
        """
        device = overrides.pop("device", None)
        precision = overrides.pop("precision", "fp32")
        routes = read_routes(resolve_model(model))
        if routes is not None:
            return tuple(cls._load_folder(routes[r].path, dict(routes[r].settings), overrides,
                                          device, f"{model} ({r} route)", precision)
                         for r in ("query", "document"))
        q_enc = cls.load(model, device=device, precision=precision, **overrides)
        if not q_enc.passage_model:
            return q_enc, q_enc
        if Path(q_enc.passage_model).is_absolute() and not Path(q_enc.passage_model).exists():
            raise CorpusfitError(
                f"{Path(resolve_model(model)) / SETTINGS_FILE}: passage_model "
                f"{q_enc.passage_model} does not exist (a query-only folder of the older "
                "layout names its passage model by path); retrain, or load it where that "
                "path exists and save it again")
        return q_enc, cls.load(q_enc.passage_model, device=device, precision=precision)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def cache_namespace(self, kind: Kind) -> str:
        # Not memoized: the weights of a student change while it trains. bf16 vectors differ
        # from fp32 ones, so they get their own namespace. Only the settings that shape this
        # kind's vectors: a new query prefix or length keeps the cached passage vectors.
        shaping = {"pooling": self.settings.pooling, "normalize": self.settings.normalize,
                   "prefix": self.settings.prefix(kind),
                   "max_length": self.settings.max_length(kind)}
        parts = [weights_digest(self.model), shaping, kind]
        return config_hash(parts + (["bf16"] if self.precision == "bf16" else []))

    def tokenize(self, texts: list[str], kind: Kind, padding: bool = True):
        """Tokenize with the kind's prefix and max length; tensors on the model device."""
        prefix = self.settings.prefix(kind)
        batch = self.tokenizer([prefix + t for t in texts], padding=padding, truncation=True,
                               max_length=self.settings.max_length(kind), return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def embed(self, features: dict) -> torch.Tensor:
        """Pooled (and normalized) embeddings of tokenized inputs; keeps the autograd graph."""
        with autocast(self.precision, self.device):
            out = self.model(**features).last_hidden_state
        out = out.float()  # pooling, normalization and the losses stay in fp32
        if self.settings.pooling == "cls":
            emb = out[:, 0]
        else:
            mask = features["attention_mask"].unsqueeze(-1).to(out.dtype)
            emb = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.settings.normalize:
            emb = torch.nn.functional.normalize(emb, dim=-1)
        return emb

    def _batches(self, texts: list[str], kind: Kind, batch_tokens: int, max_batch: int):
        prefix = self.settings.prefix(kind)
        enc = self.tokenizer([prefix + t for t in texts], truncation=True,
                             max_length=self.settings.max_length(kind))
        ids = enc["input_ids"]
        order = np.argsort([-len(x) for x in ids], kind="stable")
        batch: list[int] = []
        for i in order:
            width = max(len(ids[batch[0]]) if batch else 0, len(ids[i]))
            if batch and ((len(batch) + 1) * width > batch_tokens or len(batch) >= max_batch):
                yield batch, [ids[j] for j in batch]
                batch = []
            batch.append(int(i))
        if batch:
            yield batch, [ids[j] for j in batch]

    @torch.inference_mode()
    def _encode_uncached(self, texts: list[str], kind: Kind, batch_tokens: int,
                         max_batch: int, show_progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        bar = tqdm(total=len(texts), desc=f"encode {kind} texts", unit="text",
                   disable=not show_progress, leave=False)
        for positions, ids in self._batches(texts, kind, batch_tokens, max_batch):
            feats = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
            feats = {k: v.to(self.device) for k, v in feats.items()}
            out[positions] = self.embed(feats).float().cpu().numpy()
            bar.update(len(positions))
        bar.close()
        return out

    def encode(self, texts: list[str], kind: Kind = "passage",
               batch_tokens: int = default("batch_tokens"), max_batch: int = 256,
               cache_dir: str | os.PathLike | None = None,
               show_progress: bool = True) -> np.ndarray:
        """Encode texts to a float32 matrix (rows in input order), using the cache if given."""
        if cache_dir is None:
            return self._encode_uncached(texts, kind, batch_tokens, max_batch, show_progress)
        cache = EmbeddingCache(cache_dir, self.cache_namespace(kind))
        hits, misses = cache.get(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, vec in hits.items():
            out[i] = vec
        if misses:
            miss_texts = list(dict.fromkeys(texts[i] for i in misses))
            emb = self._encode_uncached(miss_texts, kind, batch_tokens, max_batch, show_progress)
            cache.put(miss_texts, emb)
            row = {t: emb[j] for j, t in enumerate(miss_texts)}
            for i in misses:
                out[i] = row[texts[i]]
        logger.debug("encode %s: %d cached, %d computed", kind, len(hits), len(misses))
        return out

    def with_settings(self, **changes) -> DenseEncoder:
        """Same weights, other settings (e.g. a different max length)."""
        return DenseEncoder(self.model, self.tokenizer, replace(self.settings, **changes),
                            self.name, str(self.device), self.passage_model, self.precision)

    def save(self, folder: str | os.PathLike) -> None:
        """Save as a sentence-transformers folder (loads with ``SentenceTransformer``)."""
        from corpusfit.retrieve.st_export import save_sentence_transformer

        passage = None
        if self.passage_model:  # query-only: the base model becomes the document route
            passage = DenseEncoder.load(self.passage_model, device="cpu",
                                        **asdict(self.settings))
        save_sentence_transformer(self, Path(folder), passage)
