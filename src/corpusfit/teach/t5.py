"""T5 rerankers: monoT5 (Nogueira et al. 2020) and RankT5 (Zhuang et al. 2023).

Both read the decoder's first step: monoT5 takes log-softmax over the
"true"/"false" logits and keeps "true"; RankT5 takes one extra-id token's raw
logit as the score.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from corpusfit.errors import ConfigError, CorpusfitError
from corpusfit.teach.base import Pair, Teacher
from corpusfit.teach.config import T5_PROMPT, TeacherConfig

logger = logging.getLogger(__name__)


class T5Teacher(Teacher):
    """A local (or cached hub) T5 reranker folder."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None):
        super().__init__(config)
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from corpusfit.models import resolve_model

        path = resolve_model(config.model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(path)
        except OSError as e:
            raise CorpusfitError(f"cannot load T5 reranker '{config.model}': {e}") from e
        self.device = torch.device(config.device or
                                   ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device).eval()
        self.template = config.prompt or T5_PROMPT
        if config.variant == "monot5":
            self.token_ids = [self._token(config.false_token), self._token(config.true_token)]
        else:
            self.token_ids = [self._token(config.rank_token)]

    def _token(self, text: str) -> int:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids or ids[0] == self.tokenizer.unk_token_id:
            raise ConfigError(f"token {text!r} is not in the T5 vocabulary of {self.config.model}")
        return ids[0]

    def _first_step_logits(self, pairs: Sequence[Pair]):
        import torch

        texts = [self.template.format(query=q, passage=p) for q, p in pairs]
        enc = self.tokenizer(texts, padding=True, truncation=True,
                             max_length=self.config.max_length, return_tensors="pt").to(self.device)
        start = self.model.config.decoder_start_token_id
        dec = torch.full((len(texts), 1), start, dtype=torch.long, device=self.device)
        out = self.model(**enc, decoder_input_ids=dec)
        return out.logits[:, 0, :].float()

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        import torch

        scores: list[float] = []
        with torch.inference_mode():
            size = self.config.batch_for(self.device.type)
            for b in range(0, len(pairs), size):
                logits = self._first_step_logits(pairs[b:b + size])
                picked = logits[:, self.token_ids]
                if self.config.variant == "monot5":
                    picked = torch.log_softmax(picked, dim=-1)[:, 1]
                else:
                    picked = picked[:, 0]
                scores += [float(x) for x in picked.cpu()]
        return scores
