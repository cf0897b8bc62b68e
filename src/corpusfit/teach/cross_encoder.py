"""Cross-encoder teacher: a sentence-transformers ``CrossEncoder`` or HF classifier folder."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from corpusfit.errors import CorpusfitError
from corpusfit.teach.base import Pair, Teacher
from corpusfit.teach.config import TeacherConfig

logger = logging.getLogger(__name__)


class CrossEncoderTeacher(Teacher):
    """Raw logits (no sigmoid) of a cross-encoder; for two or more labels, the last one's.

    Raw logits keep the spread that a sigmoid would squash near 0 and 1; the
    label stage normalizes anyway.
    """

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None):
        super().__init__(config)
        import torch
        from sentence_transformers import CrossEncoder

        from corpusfit.models import resolve_model

        path = resolve_model(config.model)
        try:
            self.model = CrossEncoder(path, max_length=config.max_length, device=config.device)
        except (OSError, ValueError) as e:
            raise CorpusfitError(f"cannot load cross-encoder '{config.model}': {e}") from e
        self._identity = torch.nn.Identity()

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        if not pairs:
            return []
        batch = self.config.batch_for(self.model.device.type)
        logits = self.model.predict([list(p) for p in pairs], batch_size=batch,
                                    activation_fn=self._identity, convert_to_numpy=True,
                                    show_progress_bar=len(pairs) > 1000)
        logits = np.asarray(logits, dtype=np.float64)
        if logits.ndim == 2:
            logits = logits[:, -1]
        return [float(x) for x in logits]
