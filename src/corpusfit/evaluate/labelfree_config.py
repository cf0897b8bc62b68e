"""Settings of the label-free evaluation (``evaluate.labelfree``): how many passages are
held out as probes, how their queries are judged and how a verdict is worded.

Kept apart from :mod:`corpusfit.evaluate.labelfree` so the config imports nothing heavy.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from corpusfit.numbers import FiniteFloat

Reference = Literal["bm25+base", "bm25"]


class LabelfreeConfig(BaseModel):
    """The probe budget and the label-free verdict's rule."""

    model_config = ConfigDict(extra="forbid")

    passages: StrictInt = Field(60, ge=0, description="probe passages: a seeded sample of the "
                                "passages ingest neither sampled nor held out (the training "
                                "sample is unchanged); queries of every type are generated "
                                "for them and never trained on; 0 = no label-free evaluation")
    seed: StrictInt = Field(13, description="seed of the probe sample")
    reference: Reference = Field("bm25+base", description="the pseudo-reference list of each "
                                 "probe query, which no trained model produced: RRF of BM25 "
                                 "and the base model (bm25+base), or BM25 alone (bm25)")
    reference_depth: StrictInt = Field(10, ge=1, description="the reference's top passages "
                                       "counted relevant for its nDCG@10")
    confidence: FiniteFloat = Field(0.95, gt=0.0, lt=1.0, description="level of the bootstrap "
                                    "confidence intervals over probe queries")
    resamples: StrictInt = Field(2000, ge=100, description="bootstrap resamples")
