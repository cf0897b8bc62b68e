"""Cleaning rules: each kind of bad output is rejected with its own reason."""

from __future__ import annotations

import pytest

from corpusfit.generate.cleaning import clean_output, first_line, is_repetitive
from corpusfit.generate.types import builtin_type

PASSAGE = ("the boundary layer on a flat plate at high mach number was studied in a wind tunnel "
           "and the heat transfer to the wall was measured for several wall temperatures")


@pytest.fixture(scope="module")
def types():
    return {n: builtin_type(n) for n in ("question", "claim", "keywords", "title", "natural")}


@pytest.mark.parametrize("qtype,raw,expected", [
    ("question", '"How is heat transfer measured at high Mach number?"\nMore text',
     "How is heat transfer measured at high Mach number?"),
    ("question", "Question: What limits wall heating in hypersonic flow?",
     "What limits wall heating in hypersonic flow?"),
    ("claim", "  **Claim:** Wall temperature changes the measured heat flux.  ",
     "Wall temperature changes the measured heat flux."),
    ("keywords", "boundary layer, heat transfer, mach number, wall temperature, wind tunnel, "
                 "flat plate", "boundary layer, heat transfer, mach number, wall temperature, "
                               "wind tunnel"),
    ("title", "Heat Transfer in Hypersonic Boundary Layers.",
     "Heat Transfer in Hypersonic Boundary Layers"),
    ("natural", "- hypersonic flat plate heating", "hypersonic flat plate heating"),
])
def test_accepted_outputs_are_cleaned(types, qtype, raw, expected):
    cleaned = clean_output(raw, types[qtype], PASSAGE)
    assert cleaned.accepted, cleaned.reason
    assert cleaned.text == expected


@pytest.mark.parametrize("qtype,raw,reason", [
    ("question", "", "empty"),
    ("question", "   \n\n  ", "empty"),
    ("claim", '""', "empty"),
    ("question", "Why?", "too_short"),
    ("title", "Heat", "too_short"),
    ("natural", " ".join(["hypersonic", "heating", "of", "flat", "plates"] * 2
                         + ["in", "wind", "tunnels", "with", "cold", "walls", "and", "more",
                            "words", "than", "any", "search", "engine", "user", "types"]),
     "too_long"),
    ("question", "What is the boundary layer on a flat plate at high mach number was studied "
                 "in a wind tunnel?", "copies_passage"),
    ("question", "What is is is is the heat transfer?", "repetition"),
    ("claim", "heat flux heat flux heat flux heat flux grows", "repetition"),
    ("claim", "Here is a claim: heat transfer grows with Mach number.", "preamble"),
    ("question", "Sure! What is measured in the tunnel?", "preamble"),
    ("claim", "Passage: the heat flux to a cooled wall grows with Mach number.", "preamble"),
    ("question", "Here's a question based on the passage:\nWhat is measured?", "preamble"),
    ("claim", "I cannot write a claim about this passage.", "refusal"),
    ("title", "I'm sorry, but as an AI I can't do that.", "refusal"),
    ("question", "The heat transfer to the wall was measured carefully", "wrong_shape"),
    ("claim", "Does the wall temperature change the heat flux?", "wrong_shape"),
    ("keywords", "The wall temperature changes the heat flux in high speed flows.",
     "wrong_shape"),
    ("title", "Is heat transfer measured at the wall?", "wrong_shape"),
    ("claim", "Wall temperature changes the measured heat flux of the", "wrong_shape"),
    ("question", "How is the question answered?", "off_topic"),
    ("question", "What does this passage describe about heat transfer?", "off_topic"),
    ("natural", "cheap flights to paris", "off_topic"),
])
def test_bad_outputs_are_rejected_with_reason(types, qtype, raw, reason):
    cleaned = clean_output(raw, types[qtype], PASSAGE)
    assert not cleaned.accepted
    assert cleaned.reason == reason


def test_keyword_lists_lose_repeats_before_the_cut(types):
    raw = "heat transfer, wall, heat transfer, mach number, wall, plate, tunnel, flow"
    cleaned = clean_output(raw, types["keywords"], PASSAGE)
    assert cleaned.text == "heat transfer, wall, mach number, plate, tunnel"


def test_output_repeating_a_fewshot_example_is_rejected(types):
    examples = "Honeybee foragers perform a waggle dance. How the Waggle Dance Guides Bees"
    leaked = clean_output("Waggle dance of honeybee foragers in boundary layers", types["title"],
                          PASSAGE, examples)
    assert leaked.reason == "copies_example"
    fine = clean_output("Heat transfer to cooled walls in wind tunnels", types["title"],
                        PASSAGE, examples)
    assert fine.accepted


def test_first_line_strips_bullets_labels_and_quotes():
    assert first_line('\n\n1. "Query: flat plate heating"\nsecond') == "flat plate heating"
    assert first_line("“curly quoted”") == "curly quoted"


def test_repetition_detector():
    assert is_repetitive("a b c a b c a b c".split())
    assert not is_repetitive("how does heat transfer depend on wall temperature".split())


ZH_PASSAGE = "边界层在高马赫数的平板上被研究，风洞中测量了壁面的热传递和几种壁温下的热流。"


@pytest.mark.parametrize("qtype,raw", [
    ("question", "高马赫数下平板边界层的热传递是如何测量的？"),
    ("claim", "壁温会改变风洞中测量的热流。"),
    ("keywords", "边界层，热传递，马赫数，壁温"),
    ("title", "高马赫数平板边界层的热传递"),
    ("natural", "平板边界层热传递测量"),
])
def test_chinese_queries_are_not_too_short(types, qtype, raw):
    cleaned = clean_output(raw, types[qtype], ZH_PASSAGE)
    assert cleaned.accepted, cleaned.reason


def test_chinese_output_is_still_checked(types):
    assert clean_output("热传递？", types["question"], ZH_PASSAGE).reason == "too_short"
    off = clean_output("图书馆的索引是怎样编制的？", types["question"], ZH_PASSAGE)
    assert off.reason == "off_topic"
    copied = clean_output(ZH_PASSAGE[:30] + "？", types["question"], ZH_PASSAGE)
    assert copied.reason == "copies_passage"
    long_one = clean_output("边界层" * 30 + "的热传递？", types["question"], ZH_PASSAGE)
    assert long_one.reason in {"too_long", "repetition"}


def test_japanese_question_is_accepted(types):
    passage = "風洞で高マッハ数の平板境界層を調べ、壁面への熱伝達を測定した。"
    query = "平板境界層の熱伝達はどのように測定されたか？"
    cleaned = clean_output(query, types["question"], passage)
    assert cleaned.accepted, cleaned.reason
