"""Chat prompts: a system line, few-shot turns, then the passage and what to write.

Few-shot examples are given as earlier user/assistant turns so that any chat
model sees exactly the reply format wanted; each backend then applies the
model's own chat template with the generation prompt added.

Two layouts (``generate.prompt``):

- ``per-passage`` (the paper's): each request draws its own examples of its own type
  and puts the instruction before the passage, so no two requests share more than the
  system line and every prompt is evaluated from scratch.
- ``shared-prefix`` (default): one few-shot block showing every type on the same example
  passages is drawn per run of ``fewshot_every`` passages, and the target passage comes
  before the type's instruction. Consecutive requests then share a long token prefix
  (the block for a run of passages; block + passage for the types of one passage), which
  llama.cpp keeps in its KV cache and vLLM / most servers reuse through prefix caching.
"""

from __future__ import annotations

import hashlib
import random

from corpusfit.generate.types import Example, QueryType

SYSTEM = "You write search queries for passages of a document collection."

Message = dict[str, str]


def derived_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (independent of batching, order and resume)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def cut_passage(text: str, max_chars: int) -> str:
    """Cut at ``max_chars``, backing up to a word boundary when one is near."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return cut[:space] if space > max_chars * 0.8 else cut


def draw_examples(qtype: QueryType, source_id: str, k: int, seed: int) -> list[Example]:
    """``k`` examples drawn from the type's pool, seeded by (seed, type, passage)."""
    pool = list(qtype.examples)
    if not pool or k <= 0:
        return []
    rng = random.Random(derived_seed(seed, "fewshot", qtype.name, source_id))
    return rng.sample(pool, min(k, len(pool)))


def user_turn(instruction: str, passage: str) -> str:
    return f"{instruction}\n\nPassage: {passage}"


def passage_turn(passage: str, instruction: str) -> str:
    """Passage first, so the requests for several types of one passage share a prefix."""
    return f"Passage: {passage}\n\n{instruction}"


ExampleGroup = tuple[str, list[tuple[QueryType, str]]]  # (passage, [(type, query), ...])


def example_groups(types: list[QueryType]) -> list[ExampleGroup]:
    """Few-shot passages, each with the example query of every type whose pool has it."""
    groups: dict[str, list[tuple[QueryType, str]]] = {}
    for qtype in types:
        for ex in qtype.examples:
            groups.setdefault(ex.passage, []).append((qtype, ex.query))
    return list(groups.items())


def draw_block(groups: list[ExampleGroup], k: int, seed: int, block: int) -> list[ExampleGroup]:
    """``k`` example passages for the run of passages number ``block``."""
    if not groups or k <= 0:
        return []
    rng = random.Random(derived_seed(seed, "fewshot-block", block))
    return rng.sample(groups, min(k, len(groups)))


def build_shared_messages(qtype: QueryType, passage: str,
                          block: list[ExampleGroup]) -> list[Message]:
    """Messages whose prefix (system + ``block``) is shared by a run of passages."""
    messages: list[Message] = [{"role": "system", "content": SYSTEM}]
    for ex_passage, queries in block:
        for i, (ex_type, query) in enumerate(queries):
            content = passage_turn(ex_passage, ex_type.instruction) if i == 0 \
                else ex_type.instruction
            messages.append({"role": "user", "content": content})
            messages.append({"role": "assistant", "content": query})
    messages.append({"role": "user", "content": passage_turn(passage, qtype.instruction)})
    return messages


def build_messages(qtype: QueryType, passage: str, source_id: str, *, k: int, seed: int,
                   max_chars: int) -> list[Message]:
    """The chat messages asking for one query of ``qtype`` about ``passage``."""
    messages: list[Message] = [{"role": "system", "content": SYSTEM}]
    for ex in draw_examples(qtype, source_id, k, seed):
        messages.append({"role": "user", "content": user_turn(qtype.instruction, ex.passage)})
        messages.append({"role": "assistant", "content": ex.query})
    messages.append({"role": "user",
                     "content": user_turn(qtype.instruction, cut_passage(passage, max_chars))})
    return messages


def render_plain(messages: list[Message]) -> str:
    """A template-free rendering for models without a chat template (base or seq2seq)."""
    parts = []
    for m in messages:
        if m["role"] == "assistant":
            parts.append(f"Answer: {m['content']}\n")
        else:
            parts.append(f"{m['content']}\n")
    return "\n".join(parts) + "Answer:"
