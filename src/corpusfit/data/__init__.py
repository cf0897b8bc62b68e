"""Data layer: BEIR folders, TSV corpora, text folders, validated on load."""

from corpusfit.data.readers import (
    BeirData,
    load_beir,
    load_corpus,
    load_qrels,
    load_queries,
)
from corpusfit.data.schema import Document, Query
from corpusfit.data.writers import write_beir, write_corpus, write_qrels, write_queries

__all__ = [
    "BeirData",
    "Document",
    "Query",
    "load_beir",
    "load_corpus",
    "load_qrels",
    "load_queries",
    "write_beir",
    "write_corpus",
    "write_qrels",
    "write_queries",
]
