"""The student's passage tokens: its tokenizer, passage max length and passage prefix.

Ingest sizes passages with them and the generator cuts the passage it shows the LLM
with them, so both read what the student encodes. They are read off the model as
sentence-transformers loads it (:class:`corpusfit.retrieve.encoder.DenseEncoder`): the
document route's tokenizer, its max length and the prompt ``encode_document`` uses.

Use::

    tokens = passage_tokens("minilm")          # a short name, folder or hub id
    tokens.max_length, tokens.cut(text, title)
"""

from __future__ import annotations

import functools
import logging

from corpusfit.data.chunking import PassageTokens
from corpusfit.errors import CorpusfitError

logger = logging.getLogger(__name__)


def _fast_tokenizer(tok, model: str):
    """The ``tokenizers.Tokenizer`` behind a transformers fast tokenizer."""
    from tokenizers import Tokenizer

    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        raise CorpusfitError(f"{model}: no fast tokenizer (tokenizer.json) to measure "
                             "passages with")
    return Tokenizer.from_str(backend.to_str())


@functools.lru_cache(maxsize=8)
def passage_tokens(model: str, trust_remote_code: bool = False) -> PassageTokens:
    """The :class:`PassageTokens` of ``model``'s passage encoder (its document route)."""
    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.retrieve.settings import EncoderOptions
    from corpusfit.retrieve.st_folder import input_module, max_length

    enc = DenseEncoder.load(model, EncoderOptions(trust_remote_code=trust_remote_code),
                            device="cpu")
    module = input_module(enc.model, "passage")
    tok = getattr(module, "tokenizer", None)
    if tok is None:
        raise CorpusfitError(f"{model}: its passage encoder has no tokenizer")
    positions = getattr(getattr(getattr(module, "auto_model", None), "config", None),
                        "max_position_embeddings", None)
    limits = [x for x in (max_length(enc.model, "passage"), positions)
              if isinstance(x, int) and x > 0]
    if not limits:
        raise CorpusfitError(f"{model}: no passage max length (set ingest.chunk.max_tokens)")
    prefix = enc.prompt("passage") or ""
    tokens = PassageTokens(_fast_tokenizer(tok, model), min(limits), prefix, name=model)
    logger.debug("passage tokens of %s: max length %d, prefix %r", model, min(limits), prefix)
    return tokens
