"""corpusfit: specialize a dense retriever to one corpus without human labels."""

from corpusfit.version import __version__
