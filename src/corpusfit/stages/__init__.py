"""The stages, one module each, in pipeline order; every one has the same door.

    ingest -> generate -> mine -> label -> train (+ variants) -> evaluate -> report

Each module holds a small ``<Name>Stage``, a subclass of
:class:`corpusfit.stages.base.Stage` (its config, inputs, the artifacts it writes and
``run``), a ``run_<name>`` function for the stage's command, the Python API and tests,
and ``steps(layout)``, which places the stage in a run directory for
:mod:`corpusfit.pipeline`. The artifacts (file, record class, producing stage) are named
in one table, :data:`corpusfit.data.artifacts.ARTIFACTS`; a stage folder's files are
found through it (:meth:`corpusfit.stages.layout.RunLayout.artifact`). The work itself
lives in the library packages below (``data``, ``generate``, ``retrieve``, ``teach``,
``train``, ``evaluate``); fingerprints, skipping, timing and manifests live in
:mod:`corpusfit.stages.base` alone.
"""
