"""Load a sentence-transformers model and find the modules each kind of text runs through.

``SentenceTransformer(folder)`` itself loads the model (its module list: Transformer,
Pooling of any mode, Dense, Normalize, Router ...); this module only turns corpusfit's
options into its arguments and its errors into messages a user can act on, and answers
the questions the encoder asks of the loaded module list: which Transformer tokenizes a
query or a passage, up to how many tokens, through which modules it goes.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from corpusfit.errors import CorpusfitError
from corpusfit.retrieve.settings import EncoderOptions

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import nn

logger = logging.getLogger(__name__)

TASKS = {"query": "query", "passage": "document"}
OLD_SETTINGS = "corpusfit_encoder.json"
_NO_LIMIT = 10**6  # tokenizers say "no limit" with a huge model_max_length
_REMOTE_CODE_HINTS = ("trust_remote_code", "custom code", "contains custom")


def _remote_code_error(name: str, error: Exception) -> CorpusfitError | None:
    """A clear message when the folder needs its own code and was not allowed to run it."""
    text = str(error)
    if not any(hint in text for hint in _REMOTE_CODE_HINTS):
        return None
    return CorpusfitError(
        f"model '{name}' runs its own Python code (custom modeling files): set "
        "trust_remote_code: true (train.trust_remote_code, mine.trust_remote_code, "
        "evaluate.trust_remote_code or --trust-remote-code) if you trust that folder")


def _refuse_old_layout(path: str) -> None:
    """Folders corpusfit wrote before it saved with sentence-transformers: a query-only one
    named its passage model by path (sentence-transformers would use its query weights
    for passages), so it is refused; a plain one loads as it is."""
    settings = Path(path) / OLD_SETTINGS
    if not settings.is_file():
        return
    try:
        old = json.loads(settings.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        old = {}
    if isinstance(old, dict) and old.get("passage_model"):
        raise CorpusfitError(f"{settings}: a query-only model of an older corpusfit, whose "
                             "passage side is another folder; retrain it (the new folder "
                             "holds both sides)")
    logger.warning("%s (older corpusfit) is ignored: the folder encodes as "
                   "sentence-transformers reads it", settings)


def load_sentence_transformer(name: str, path: str, options: EncoderOptions,
                              device: str | None) -> SentenceTransformer:
    """``SentenceTransformer(path)`` with the options' prompts, truncation and max lengths."""
    from sentence_transformers import SentenceTransformer

    _refuse_old_layout(path)

    try:
        model = SentenceTransformer(path, device=device,
                                    trust_remote_code=options.trust_remote_code,
                                    prompts=dict(options.prompts) or None,
                                    truncate_dim=options.truncate_dim)
    except Exception as e:  # noqa: BLE001 - transformers raises many kinds; all end here
        raise (_remote_code_error(name, e)
               or CorpusfitError(f"cannot load model '{name}' from {path}: {e}")) from e
    for kind, length in (("query", options.query_max_length),
                         ("passage", options.passage_max_length)):
        if length is not None:
            set_max_length(model, kind, length)
    for kind, prompt in (("query", options.query_prompt_name),
                         ("passage", options.document_prompt_name)):
        if prompt is not None and prompt not in model.prompts:
            raise CorpusfitError(f"model '{name}': no prompt named '{prompt}' for the {kind} "
                                 f"side (prompts: {', '.join(sorted(model.prompts))}); add it "
                                 "with prompts: {NAME: TEXT}")
    return model


def _router(model: SentenceTransformer):
    from sentence_transformers.sentence_transformer.modules import Router

    first = model[0]
    return first if isinstance(first, Router) else None


def route_of(model: SentenceTransformer, kind: str) -> str | None:
    """The Router route ``kind`` takes (None for a model without a Router)."""
    router = _router(model)
    if router is None:
        return None
    try:
        return router._resolve_route(task=TASKS[kind], modality="text")
    except ValueError as e:
        raise CorpusfitError(f"the model's Router has no route for {kind}s: {e}") from e


def module_path(model: SentenceTransformer, kind: str) -> list[nn.Module]:
    """The modules a text of ``kind`` runs through, in order (a Router's route inlined)."""
    route = route_of(model, kind)
    out: list = []
    for module in model.children():
        if route is not None and module is model[0]:
            out.extend(module.sub_modules[route])
        else:
            out.append(module)
    return out


def input_module(model: SentenceTransformer, kind: str):
    """The module that tokenizes ``kind`` texts (a Transformer for text models)."""
    return module_path(model, kind)[0]


def set_max_length(model: SentenceTransformer, kind: str, length: int) -> None:
    """Cut ``kind`` texts at ``length`` tokens (at most the model's own limit), where
    sentence-transformers reads it: the Transformer's ``query_length`` / ``document_length``."""
    module = input_module(model, kind)
    limit = getattr(module, "max_seq_length", None)
    if limit and limit < _NO_LIMIT and length > limit:
        logger.info("%s max length %d is cut to the model's %d tokens", kind, length, limit)
        length = limit
    setattr(module, "query_length" if kind == "query" else "document_length", length)


def max_length(model: SentenceTransformer, kind: str) -> int | None:
    """Tokens a ``kind`` text is cut at (None: no limit known)."""
    module = input_module(model, kind)
    own = getattr(module, "query_length" if kind == "query" else "document_length", None)
    limit = own or getattr(module, "max_seq_length", None)
    return int(limit) if limit and limit < _NO_LIMIT else None


def ends_normalized(model: SentenceTransformer, kind: str) -> bool:
    """Whether ``kind`` vectors leave the model with unit length (a last Normalize, no
    truncation after it)."""
    from sentence_transformers.sentence_transformer.modules import Normalize

    return (isinstance(module_path(model, kind)[-1], Normalize)
            and model.truncate_dim is None)


def to_query_only(model: SentenceTransformer) -> SentenceTransformer:
    """A model whose query side trains and whose document side stays the base model.

    A model without a Router becomes ``Router.for_query_document`` over a copy of its
    modules (query) and the modules themselves (document); a Router model keeps its
    routes (the query route is copied first where it shares weights with the document
    route). The document route's parameters are frozen.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Router

    router = _router(model)
    if router is None:
        modules = list(model.children())
        router = Router.for_query_document([copy.deepcopy(m) for m in modules], modules)
        model = SentenceTransformer(modules=[router], device=str(model.device),
                                    prompts=dict(model.prompts),
                                    default_prompt_name=model.default_prompt_name,
                                    similarity_fn_name=model.similarity_fn_name,
                                    truncate_dim=model.truncate_dim)
    query, document = route_of(model, "query"), route_of(model, "passage")
    if query == document:
        raise CorpusfitError(f"query-only training needs separate query and document routes; "
                             f"this Router sends both to '{query}'")
    shared = ({id(p) for p in router.sub_modules[query].parameters()}
              & {id(p) for p in router.sub_modules[document].parameters()})
    if shared:
        router.sub_modules[query] = copy.deepcopy(router.sub_modules[query])
    for param in router.sub_modules[document].parameters():
        param.requires_grad_(False)
    return model
