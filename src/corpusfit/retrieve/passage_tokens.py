"""The student's passage tokens: its tokenizer, passage max length and passage prefix.

Ingest sizes passages with them and the generator cuts the passage it shows the LLM
with them, so both read what the student encodes. Only the model folder's files are
read (no weights): ``tokenizer.json`` when there is one, else the fast tokenizer
transformers builds from the folder.

Use::

    tokens = passage_tokens("minilm")          # a short name, folder or hub id
    tokens.max_length, tokens.cut(text, title)
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from corpusfit.data.chunking import PassageTokens
from corpusfit.errors import CorpusfitError
from corpusfit.models import resolve_model
from corpusfit.retrieve.st_folder import read_routes

logger = logging.getLogger(__name__)


def _tokenizer(folder: str):
    from tokenizers import Tokenizer

    file = Path(folder) / "tokenizer.json"
    if file.is_file():
        return Tokenizer.from_file(str(file))
    from transformers import AutoTokenizer

    try:
        fast = AutoTokenizer.from_pretrained(folder, use_fast=True)
    except (OSError, ValueError) as e:
        raise CorpusfitError(f"cannot load the tokenizer of {folder}: {e}") from e
    if not getattr(fast, "is_fast", False):
        raise CorpusfitError(f"{folder}: no fast tokenizer (tokenizer.json) to measure "
                             "passages with")
    return Tokenizer.from_str(fast.backend_tokenizer.to_str())


def _positions(folder: str) -> int | None:
    import json

    cfg = Path(folder) / "config.json"
    if not cfg.is_file():
        return None
    value = json.loads(cfg.read_text(encoding="utf-8")).get("max_position_embeddings")
    return int(value) if isinstance(value, int) and value > 0 else None


@functools.lru_cache(maxsize=8)
def passage_tokens(model: str) -> PassageTokens:
    """The :class:`PassageTokens` of ``model``'s passage encoder (its document route)."""
    from corpusfit.retrieve.encoder import EncoderSettings, detect_settings

    path = resolve_model(model)
    routes = read_routes(path)
    if routes is not None:
        folder, found = routes["document"].path, dict(routes["document"].settings)
    else:
        folder, found = path, detect_settings(path, model)
    settings = EncoderSettings(**{k: v for k, v in found.items()
                                  if k in EncoderSettings.__dataclass_fields__})
    length = min(x for x in (settings.passage_max_length, _positions(folder)) if x)
    tokens = PassageTokens(_tokenizer(folder), length, settings.passage_prefix, name=model)
    logger.debug("passage tokens of %s: max length %d, prefix %r", model, length,
                 settings.passage_prefix)
    return tokens
