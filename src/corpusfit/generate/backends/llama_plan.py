"""How a set of prompts is split into batches that share prefixes (pure Python, no llama.cpp).

:func:`plan_chunks` groups prompts by their ``group`` key (e.g. one passage's types),
finds each group's shared prefix and the prefix common to a whole chunk, and packs whole
groups into chunks of at most ``n_seq`` sequences whose KV cells (shared prefixes counted
once, plus every sequence's own tokens and output budget) fit ``kv_cells``.
:class:`corpusfit.generate.backends.llama_batch.BatchDecoder` decodes one chunk at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class _Tokens(Protocol):
    tokens: list[int]
    group: str


def common_prefix(seqs: Sequence[Sequence[int]]) -> list[int]:
    """The longest prefix all ``seqs`` share (``[]`` for none)."""
    if not seqs:
        return []
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for other in seqs[1:]:
        i = 0
        while i < n and other[i] == first[i]:
            i += 1
        n = i
    return list(first[:n])


@dataclass
class Plan:
    """One chunk: ``members`` (indices into the planned prompts, in decoding order),
    the prefix ``common`` to all of them, and per group its prefix and its members'
    positions within ``members``."""

    members: list[int] = field(default_factory=list)
    common: list[int] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    group_members: list[list[int]] = field(default_factory=list)
    cells: int = 0  # KV cells the chunk needs at most


def _group_prefix(prompts: Sequence[_Tokens], members: list[int]) -> list[int]:
    """The members' shared prefix, leaving every prompt at least one token of its own."""
    shortest = min(len(prompts[m].tokens) for m in members)
    return common_prefix([prompts[m].tokens for m in members])[:shortest - 1]


def _groups(prompts: Sequence[_Tokens], n_seq: int) -> list[list[int]]:
    """Indices of prompts by group key in first-seen order, split at ``n_seq``."""
    by_key: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        by_key.setdefault(p.group, []).append(i)
    return [members[k:k + n_seq] for members in by_key.values()
            for k in range(0, len(members), n_seq)]


def plan_chunks(prompts: Sequence[_Tokens], budget: Callable[[_Tokens], int], *, n_seq: int,
                kv_cells: int) -> list[Plan]:
    """Chunks covering every prompt once; each fits ``n_seq`` sequences and ``kv_cells``.

    ``budget(prompt)``: the tokens the prompt may generate. A single prompt needs at
    most its length plus its budget, which the caller keeps within ``kv_cells``.
    """
    plans: list[Plan] = []
    cur = Plan()
    for members in _groups(prompts, n_seq):
        prefix = _group_prefix(prompts, members)
        own = sum(len(prompts[m].tokens) - len(prefix) + budget(prompts[m]) for m in members)
        candidate = _extend(cur, members, prefix, own)
        if cur.members and (len(candidate.members) > n_seq or candidate.cells > kv_cells):
            plans.append(cur)
            candidate = _extend(Plan(), members, prefix, own)
        cur = candidate
    if cur.members:
        plans.append(cur)
    return plans


def _extend(plan: Plan, members: list[int], prefix: list[int], own: int) -> Plan:
    """``plan`` with one more group (its members, its prefix, its members' own cells)."""
    common = common_prefix([plan.common, prefix]) if plan.members else list(prefix)
    groups = [*plan.groups, prefix]
    start = len(plan.members)
    own_total = plan.cells - _shared_cells(plan) + own
    new = Plan(members=[*plan.members, *members], common=common, groups=groups,
               group_members=[*plan.group_members, list(range(start, start + len(members)))])
    new.cells = _shared_cells(new) + own_total
    return new


def _shared_cells(plan: Plan) -> int:
    """Cells of the prefixes: the common part once, each group's rest once."""
    if not plan.members:
        return 0
    return len(plan.common) + sum(len(g) - len(plan.common) for g in plan.groups)
