"""Batched decoding of many prompts in one llama.cpp context (llama-cpp-python's low-level API).

A :class:`BatchDecoder` decodes a set of prompts together: one ``llama_decode`` per step
advances every live sequence by one token. Prompts share their prefixes in a unified KV
cache: the prefix common to all prompts is kept in sequence 0 between calls (the few-shot
block of a run of passages) and forked to every sequence with ``llama_memory_seq_cp``;
the prefix common to a group (the passage shared by the types of one passage) is
evaluated once with all the group's sequence ids on each token, and kept for later calls
(:class:`~corpusfit.generate.backends.llama_prefix_cache.PrefixCache`: a resampled
request finds its passage evaluated); only the rest of each prompt is evaluated per
sequence. Sampling is per sequence (its own seed) with the
sampler chain ``Llama.create_completion`` uses (top-k 40, typical 1, top-p, min-p 0.05,
temperature, seeded draw), stop strings and a token budget, so a prompt's completions
follow the same distribution as the one-at-a-time path.

Use it through :class:`corpusfit.generate.backends.llama_cpp.LlamaCppBackend`
(``decode: batched``)::

    decoder = BatchDecoder(lib, llm, n_seq=16, n_ctx=4096, threads=2)
    texts = decoder.run(prompts)   # one str or DecodeError per prompt, in order
    decoder.close()
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from corpusfit.generate.backends.llama_plan import Plan, common_prefix, plan_chunks
from corpusfit.generate.backends.llama_prefix_cache import PrefixCache

logger = logging.getLogger(__name__)

TOP_K, MIN_P, TYPICAL_P = 40, 0.05, 1.0  # create_completion's defaults, which today's path uses


class DecodeError(Exception):
    """One prompt could not be decoded (too long for the context, a failed decode)."""

    def __init__(self, message: str, no_slot: bool = False):
        super().__init__(message)
        self.no_slot = no_slot  # the KV cache was full: worth one retry from empty


@dataclass(frozen=True)
class Prompt:
    """One sequence to decode: prompt ``tokens``, where it ends and how it is sampled.

    ``group``: prompts with the same group share a prefix worth evaluating once (e.g.
    the passage of several types); ``stop``: strings that end the output (cut before).
    """

    tokens: list[int]
    seed: int
    budget: int
    temperature: float
    top_p: float
    stop: list[str] = field(default_factory=list)
    group: str = ""


@dataclass
class _Seq:
    """A prompt being decoded in sequence ``seq_id``."""

    seq_id: int
    prompt: Prompt
    sampler: object
    budget: int
    out: list[int] = field(default_factory=list)
    text: bytes | None = None  # set when finished
    logit_index: int = -1  # its row in the last decoded batch


class BatchDecoder:
    """A llama.cpp context of ``n_seq`` parallel sequences sharing one unified KV cache.

    ``llm`` is a loaded ``llama_cpp.Llama`` (its model and tokenizer are used, not its
    context); ``n_ctx`` bounds each sequence (prompt + output), ``kv_cells`` the tokens
    all sequences of one chunk hold together (shared prefixes counted once); another
    ``n_ctx`` cells hold the prefixes kept for later calls.
    """

    def __init__(self, lib, llm, *, n_seq: int, n_ctx: int, threads: int,
                 kv_cells: int | None = None, n_batch: int = 512):
        if n_seq > n_batch:
            raise ValueError(f"n_seq {n_seq} > n_batch {n_batch}")
        self._lib, self._llm = lib, llm
        self.n_seq, self.n_ctx, self.n_batch = n_seq, n_ctx, n_batch
        self.kv_cells = kv_cells or 2 * n_ctx
        params = lib.llama_context_default_params()
        params.n_ctx = self.kv_cells + n_ctx + n_batch
        params.n_batch = params.n_ubatch = n_batch
        # sequence 0: the kept common prefix; 1..n_seq: working; n_seq+1..: kept groups
        params.n_seq_max = 2 * n_seq + 1
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = True
        params.no_perf = True
        self._ctx = lib.llama_init_from_model(llm.model, params)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not create a batched context")
        self._mem = lib.llama_get_memory(self._ctx)
        self._batch = lib.llama_batch_init(n_batch, 0, n_seq + 1)
        self._vocab = lib.llama_model_get_vocab(llm.model)
        self._kept: list[int] = []  # tokens held by sequence 0
        self._cache = PrefixCache(lib, self._mem, list(range(n_seq + 1, 2 * n_seq + 1)), n_ctx)
        self.evaluated = self.generated = self.steps = 0  # prompt tokens, sampled, decodes

    def run(self, prompts: list[Prompt]) -> list[str | DecodeError]:
        """Decode every prompt; a prompt that fails gets a :class:`DecodeError`, in order."""
        results: list[str | DecodeError | None] = [None] * len(prompts)
        ok = []
        for i, p in enumerate(prompts):
            if len(p.tokens) >= self.n_ctx:
                results[i] = DecodeError(f"Requested tokens ({len(p.tokens)}) exceed context "
                                         f"window of {self.n_ctx}")
            elif not p.tokens:
                results[i] = DecodeError("empty prompt")
            else:
                ok.append(i)
        for plan in plan_chunks([prompts[i] for i in ok], self._budget, n_seq=self.n_seq,
                                kv_cells=self.kv_cells):
            index = [ok[j] for j in plan.members]
            for i, text in zip(index, self._run_chunk(plan, [prompts[i] for i in index])):
                results[i] = text
        return results  # type: ignore[return-value] - every slot is filled

    def _budget(self, prompt: Prompt) -> int:
        return min(prompt.budget, self.n_ctx - len(prompt.tokens))

    def _run_chunk(self, plan: Plan, prompts: list[Prompt]) -> list[str | DecodeError]:
        for attempt in (1, 2):
            seqs = [_Seq(k + 1, p, self._sampler(p), self._budget(p))
                    for k, p in enumerate(prompts)]
            try:
                self._prefill(plan, seqs)
                self._generate(seqs)
                for group, members in zip(plan.groups, plan.group_members):
                    self._cache.store(group, seqs[members[0]].seq_id)
                return [s.text.decode("utf-8", errors="ignore") for s in seqs]
            except DecodeError as e:
                self.reset()
                if not (e.no_slot and attempt == 1):
                    logger.warning("llama.cpp batch of %d sequences failed: %s", len(seqs), e)
                    return [e] * len(seqs)
                logger.info("llama.cpp: KV cache full; the batch starts again from empty")
            finally:
                for s in seqs:
                    self._lib.llama_memory_seq_rm(self._mem, s.seq_id, -1, -1)
                    self._lib.llama_sampler_free(s.sampler)
        raise AssertionError("unreachable")

    def _sampler(self, p: Prompt):
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if p.temperature == 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        for smpl in (lib.llama_sampler_init_top_k(TOP_K),
                     lib.llama_sampler_init_typical(TYPICAL_P, 1),
                     lib.llama_sampler_init_top_p(p.top_p, 1),
                     lib.llama_sampler_init_min_p(MIN_P, 1),
                     lib.llama_sampler_init_temp(p.temperature),
                     lib.llama_sampler_init_dist(p.seed)):
            lib.llama_sampler_chain_add(chain, smpl)
        return chain

    def _prefill(self, plan: Plan, seqs: list[_Seq]) -> None:
        """Evaluate every prompt but its last token, each shared prefix once."""
        lib, common = self._lib, plan.common
        kept = len(common_prefix([self._kept, common]))
        lib.llama_memory_seq_rm(self._mem, 0, kept, -1)
        self._kept = []
        self._decode([(t, pos, (0,)) for pos, t in enumerate(common[kept:], kept)])
        self._kept = list(common)
        for s in seqs:
            lib.llama_memory_seq_cp(self._mem, 0, s.seq_id, 0, len(common))
        work = []
        for group, members in zip(plan.groups, plan.group_members):
            ids = tuple(seqs[m].seq_id for m in members)
            start = len(common)
            source, n = self._cache.lookup(group)
            if n > start:  # this group's prefix was evaluated in an earlier call
                for seq_id in ids:
                    lib.llama_memory_seq_cp(self._mem, source, seq_id, start, n)
                start = n
            work += [(t, pos, ids) for pos, t in enumerate(group[start:], start)]
            for m in members:
                toks = seqs[m].prompt.tokens
                work += [(t, pos, (seqs[m].seq_id,))
                         for pos, t in enumerate(toks[len(group):-1], len(group))]
        self._decode(work)
        last = [(s.prompt.tokens[-1], len(s.prompt.tokens) - 1, (s.seq_id,)) for s in seqs]
        self._decode(last, logits=True)
        self.evaluated += len(common) - kept + len(work) + len(last)
        for i, s in enumerate(seqs):
            s.logit_index = i

    def _generate(self, seqs: list[_Seq]) -> None:
        """Sample one token per live sequence and decode them together until all finish."""
        live = seqs
        while live:
            step = []
            for s in live:
                token = self._lib.llama_sampler_sample(s.sampler, self._ctx, s.logit_index)
                if not self._advance(s, token):
                    step.append(s)
            live = step
            if live:
                self._decode([(s.out[-1], len(s.prompt.tokens) + len(s.out) - 1, (s.seq_id,))
                              for s in live], logits=True)
                for i, s in enumerate(live):
                    s.logit_index = i

    def _advance(self, s: _Seq, token: int) -> bool:
        """Take ``token`` into ``s``; True when the sequence is finished (text set)."""
        self.generated += 1
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            s.text = self._llm.detokenize(s.out)
            return True
        s.out.append(token)
        text = self._llm.detokenize(s.out)
        if not _incomplete_utf8(text):
            for stop in s.prompt.stop:
                at = text.find(stop.encode("utf-8"))
                if at >= 0:
                    s.text = text[:at]
                    return True
        if len(s.out) >= s.budget:
            s.text = text
            return True
        return False

    def _decode(self, work: list[tuple[int, int, tuple[int, ...]]], logits: bool = False) -> None:
        """``llama_decode`` of (token, position, sequence ids) in batches of ``n_batch``."""
        b = self._batch
        for start in range(0, len(work), self.n_batch):
            chunk = work[start:start + self.n_batch]
            for i, (token, pos, ids) in enumerate(chunk):
                b.token[i], b.pos[i], b.n_seq_id[i] = token, pos, len(ids)
                for j, seq_id in enumerate(ids):
                    b.seq_id[i][j] = seq_id
                b.logits[i] = logits
            b.n_tokens = len(chunk)
            self.steps += 1
            rc = self._lib.llama_decode(self._ctx, b)
            if rc != 0:
                raise DecodeError(f"llama_decode returned {rc} "
                                  f"({'no KV cache slot' if rc == 1 else 'error'})", rc == 1)

    def reset(self) -> None:
        """Forget every cached prefix: the next run starts from an empty KV cache."""
        self._cache.clear()
        self._lib.llama_memory_clear(self._mem, True)
        self._kept = []

    def close(self) -> None:
        """Free the batch and the context (the model belongs to ``llm``)."""
        if self._ctx:
            logger.info("llama.cpp batched decoding: %d prompt tokens evaluated, %d sampled, "
                        "%d decode calls", self.evaluated, self.generated, self.steps)
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(self._ctx)
            self._ctx = None


def _incomplete_utf8(text: bytes) -> bool:
    """True when ``text`` ends inside a multi-byte UTF-8 character (stops wait for it)."""
    for back in range(1, min(4, len(text)) + 1):
        byte = text[-back]
        if byte & 0xC0 != 0x80:  # a lead byte (or ASCII): does its character end here?
            need = 1 if byte < 0x80 else 2 if byte >= 0xC0 and byte < 0xE0 else \
                3 if byte >= 0xE0 and byte < 0xF0 else 4
            return need > back
    return False
