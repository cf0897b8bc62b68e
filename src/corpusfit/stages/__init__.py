"""The stages, one module each, in pipeline order; every one has the same door.

    ingest -> generate -> mine -> label -> train (+ variants) -> evaluate -> report

Each module holds a small ``<Name>Stage`` (its config, inputs, outputs and ``run``),
a ``run_<name>`` function for the stage's command and tests, and ``steps(layout)``,
which places the stage in a run directory for :mod:`corpusfit.pipeline`. The work
itself lives in the library packages below (``data``, ``generate``, ``retrieve``,
``teach``, ``train``, ``evaluate``); fingerprints, skipping, timing and manifests
live in :mod:`corpusfit.stages.base` alone.
"""
