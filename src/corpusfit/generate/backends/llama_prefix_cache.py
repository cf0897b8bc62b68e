"""Group prefixes kept in a llama.cpp KV cache between calls, in sequences of their own.

The generate stage resamples a rejected (passage, type) in its next call; that request
shares its passage's prefix with the call before. :class:`PrefixCache` keeps the
prefixes of recent groups (least recently used dropped first, within a cell budget) in
spare sequence ids of the unified KV cache, so a later prompt that starts the same way
copies the cells (``llama_memory_seq_cp``: no evaluation, no copy of data) instead of
evaluating them again. Used by :class:`corpusfit.generate.backends.llama_batch.BatchDecoder`.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpusfit.generate.backends.llama_plan import common_prefix


@dataclass
class _Entry:
    tokens: list[int]
    seq_id: int


class PrefixCache:
    """Up to ``len(seq_ids)`` prefixes of at most ``cells`` tokens in all, in ``seq_ids``."""

    def __init__(self, lib, mem, seq_ids: list[int], cells: int):
        self._lib, self._mem = lib, mem
        self._free = list(seq_ids)
        self._entries: list[_Entry] = []  # least recently used first
        self.cells = cells

    def lookup(self, tokens: list[int]) -> tuple[int, int]:
        """``(seq_id, n)``: the entry sharing the longest prefix with ``tokens`` (n tokens);
        ``(-1, 0)`` when none shares any."""
        best, best_n = None, 0
        for entry in self._entries:
            n = len(common_prefix([entry.tokens, tokens]))
            if n > best_n:
                best, best_n = entry, n
        if best is None:
            return -1, 0
        self._entries.remove(best)
        self._entries.append(best)  # most recently used
        return best.seq_id, best_n

    def store(self, tokens: list[int], from_seq: int) -> None:
        """Keep the first ``len(tokens)`` cells of sequence ``from_seq`` as ``tokens``."""
        if not tokens or len(tokens) > self.cells:
            return
        for entry in self._entries:
            if entry.tokens == tokens:
                return
        while self._entries and (not self._free or
                                 sum(len(e.tokens) for e in self._entries) + len(tokens)
                                 > self.cells):
            self._drop(self._entries[0])
        seq_id = self._free.pop()
        self._lib.llama_memory_seq_cp(self._mem, from_seq, seq_id, 0, len(tokens))
        self._entries.append(_Entry(list(tokens), seq_id))

    def _drop(self, entry: _Entry) -> None:
        self._lib.llama_memory_seq_rm(self._mem, entry.seq_id, -1, -1)
        self._entries.remove(entry)
        self._free.append(entry.seq_id)

    def clear(self) -> None:
        """Forget every entry (their cells are freed with them)."""
        for entry in list(self._entries):
            self._drop(entry)
