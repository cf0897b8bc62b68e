"""Chat prompts: a system line, few-shot turns drawn per passage, then the passage.

Few-shot examples are given as earlier user/assistant turns so that any chat
model sees exactly the reply format wanted; each backend then applies the
model's own chat template with the generation prompt added.
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
