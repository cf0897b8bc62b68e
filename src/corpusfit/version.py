"""The package version (``corpusfit --version``, model cards). Never part of a fingerprint:
a new release reruns nothing (:func:`corpusfit.workspace.stage_fingerprint`)."""

__version__ = "0.1.0"
