"""GradCache: a loss over a batch far larger than fits in memory with the graph.

1. Embed the texts chunk by chunk *without* a graph and keep the embeddings as a leaf.
2. Compute the loss on the full batch and backpropagate to that leaf.
3. Replay each chunk *with* its graph (same RNG state, so dropout masks match) and
   backpropagate the cached gradient slice via ``emb.backward(grad)``.

Memory then grows with the chunk, not the batch; only time grows with the batch
(Gao et al., 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited
Setup"). With ``enabled=False`` the same chunks keep their graphs (the plain baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from corpusfit.retrieve.encoder import DenseEncoder, Kind


def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


@dataclass
class _Pending:
    leaf: Tensor
    chunks: list[tuple[Tensor, dict, tuple]] = field(default_factory=list)  # rows, feats, rng


class GradCache:
    """Embeds texts for one optimizer step and replays gradients after ``backward``."""

    def __init__(self, encoder: DenseEncoder, chunk_size: int = 32, enabled: bool = True):
        self.encoder = encoder
        self.chunk_size = chunk_size
        self.enabled = enabled
        self._pending: list[_Pending] = []

    def _chunks(self, texts: list[str]) -> list[Tensor]:
        # Length-sorted chunks pad less; rows are put back in input order afterwards.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        return [torch.tensor(order[i:i + self.chunk_size])
                for i in range(0, len(order), self.chunk_size)]

    def forward(self, texts: list[str], kind: Kind) -> Tensor:
        """``[N, D]`` embeddings of ``texts``; differentiable through :meth:`backward`."""
        enc, device = self.encoder, self.encoder.device
        pieces, pending = [], _Pending(leaf=torch.empty(0))
        chunks = self._chunks(texts)
        for rows in chunks:
            feats = enc.tokenize([texts[i] for i in rows.tolist()], kind)
            if self.enabled:
                state = _rng_state(device)
                with torch.no_grad():
                    pieces.append(enc.embed(feats))
                pending.chunks.append((rows, feats, state))
            else:
                pieces.append(enc.embed(feats))
        emb = torch.cat(pieces)[torch.argsort(torch.cat(chunks)).to(device)]
        if not self.enabled:
            return emb
        pending.leaf = emb.detach().requires_grad_(True)
        self._pending.append(pending)
        return pending.leaf

    def backward(self, loss: Tensor) -> None:
        """Backpropagate ``loss`` into the encoder's parameters."""
        loss.backward()
        if not self._pending:
            return
        device = self.encoder.device
        after = _rng_state(device)  # the stream continues as if no replay had happened
        for pending in self._pending:
            grad = pending.leaf.grad
            if grad is None:  # the loss did not use these embeddings
                continue
            for rows, feats, state in pending.chunks:
                _set_rng_state(state, device)
                emb = self.encoder.embed(feats)
                emb.backward(grad[rows.to(grad.device)])
        _set_rng_state(after, device)
        self._pending.clear()

    def discard(self) -> None:
        """Forget cached chunks (e.g. after an evaluation-only forward)."""
        self._pending.clear()
