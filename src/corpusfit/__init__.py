"""corpusfit: specialize a dense retriever to one corpus without human labels."""

__version__ = "0.1.0"
