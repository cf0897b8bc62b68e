"""How the batched llama.cpp decoder splits prompts into chunks sharing prefixes."""

from __future__ import annotations

from dataclasses import dataclass

from corpusfit.generate.backends.llama_plan import common_prefix, plan_chunks


@dataclass
class P:
    tokens: list[int]
    group: str


BLOCK = list(range(100, 130))  # a few-shot block shared by every prompt


def _passage(g: int, types: int, length: int = 20) -> list[P]:
    passage = [1000 * (g + 1) + i for i in range(length)]
    return [P(BLOCK + passage + [7, t, 9], f"g{g}") for t in range(types)]


def test_common_prefix():
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == [1, 2]
    assert common_prefix([[1], [2]]) == [] and common_prefix([]) == []


def test_groups_share_their_prefix_and_chunks_the_block():
    prompts = _passage(0, 3) + _passage(1, 3)
    (plan,) = plan_chunks(prompts, lambda p: 5, n_seq=8, kv_cells=10_000)
    assert plan.members == list(range(6))
    assert plan.common == BLOCK
    assert plan.groups[0] == prompts[0].tokens[:-2]  # block + passage + [7]
    assert plan.group_members == [[0, 1, 2], [3, 4, 5]]
    # cells: block once, each passage's rest once, each type's own 2 tokens + budget 5
    assert plan.cells == 30 + 2 * 21 + 6 * (2 + 5)


def test_chunks_respect_sequences_and_cells_and_keep_groups_whole():
    prompts = [p for g in range(5) for p in _passage(g, 3)]
    plans = plan_chunks(prompts, lambda p: 5, n_seq=7, kv_cells=10_000)
    assert [len(p.members) for p in plans] == [6, 6, 3]  # 2 whole passages per chunk
    members = [plan.members for plan in plans]
    assert sorted(m for ms in members for m in ms) == list(range(15))
    tight = plan_chunks(prompts, lambda p: 5, n_seq=20, kv_cells=30 + 21 + 3 * 7 + 21 + 3 * 7)
    assert all(p.cells <= 30 + 2 * 21 + 6 * 7 for p in tight) and len(tight) == 3


def test_a_group_larger_than_the_sequences_is_split():
    prompts = _passage(0, 5)
    plans = plan_chunks(prompts, lambda p: 5, n_seq=2, kv_cells=10_000)
    assert [p.members for p in plans] == [[0, 1], [2, 3], [4]]


def test_every_prompt_keeps_a_token_of_its_own():
    same = [P([1, 2, 3], "a"), P([1, 2, 3], "a"), P([1, 2, 3, 4], "b")]
    (plan,) = plan_chunks(same, lambda p: 1, n_seq=4, kv_cells=100)
    assert plan.groups[0] == [1, 2] and plan.groups[1] == [1, 2, 3]
    assert plan.common == [1, 2]


class FakeMemory:
    """Records the llama_memory_seq_* calls a PrefixCache makes."""

    def __init__(self):
        self.calls = []

    def llama_memory_seq_cp(self, mem, src, dst, p0, p1):
        self.calls.append(("cp", src, dst, p0, p1))

    def llama_memory_seq_rm(self, mem, seq, p0, p1):
        self.calls.append(("rm", seq))


def test_prefix_cache_finds_the_longest_shared_prefix_and_evicts_least_recent():
    from corpusfit.generate.backends.llama_prefix_cache import PrefixCache

    lib = FakeMemory()
    cache = PrefixCache(lib, None, [8, 9], cells=10)
    assert cache.lookup([1, 2, 3]) == (-1, 0)
    cache.store([1, 2, 3, 4], from_seq=1)
    cache.store([1, 2, 7], from_seq=2)
    assert lib.calls == [("cp", 1, 9, 0, 4), ("cp", 2, 8, 0, 3)]
    assert cache.lookup([1, 2, 3, 4, 5]) == (9, 4)
    assert cache.lookup([1, 2, 7, 7]) == (8, 3)  # now the most recently used
    cache.store([5, 6, 7, 8], from_seq=3)  # 4 + 3 + 4 > 10 cells: the oldest (9) goes
    assert ("rm", 9) in lib.calls and cache.lookup([1, 2, 3, 4]) == (8, 2)
    cache.clear()
    assert cache.lookup([5, 6]) == (-1, 0)
