"""Cutting a document's blocks into chunks sized for the embedding model.

Chunks follow the document's structure: a chunk holds text from one section only, paragraphs are packed
together whole while they fit, and only a paragraph too long for a chunk is cut: at sentence ends first,
then between words (Latin scripts) or between characters (CJK scripts, written without spaces). Consecutive
chunks of a section repeat a few whole sentences, so a fact that straddles a cut is found from either side.

Token counts come from the caller's tokenizer, which costs a call per text counted. Each sentence is counted
once and a chunk's size is estimated as the sum of its parts; the finished chunk is counted once more to
verify the estimate, and shrunk if the tokenizer disagrees.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby, pairwise
from typing import Any, NamedTuple

from knowledge.parsing import Block

PARAGRAPH_SEPARATOR = "\n\n"

# Scripts written without spaces between words, where a cut may fall between any two characters.
# Hangul is left out: Korean puts spaces between words, so it is cut like Latin text.
_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation (。、「」)
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x3190, 0x31FF),  # kanbun, bopomofo extended, strokes, katakana extensions
    (0x3200, 0x4DBF),  # enclosed and compatibility forms, ideographs extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE30, 0xFE4F),  # compatibility forms (vertical punctuation)
    (0xFF00, 0xFFEF),  # fullwidth and halfwidth forms (fullwidth comma, question mark, ...)
    (0x20000, 0x3FFFF),  # ideographs extensions B and later
)
_CJK_CLASS = "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in _CJK_RANGES)
_CJK_CHAR = re.compile(f"[{_CJK_CLASS}]")
# Closing quotes and brackets stay with the sentence they close: 他说“好。” / He said "yes."
_CLOSERS = re.escape("\"'\u201d\u2019」』\uff09)]】》〉")
# Ideographic full stop, fullwidth ! ? ; and the halfwidth ideographic full stop.
_CJK_ENDERS = "。\uff01\uff1f\uff1b\uff61"
_SENTENCE_END = re.compile(
    rf"[{_CJK_ENDERS}]+[{_CLOSERS}]*"  # CJK enders end a sentence wherever they are
    rf"|(?<=[{_CJK_CLASS}])[!?;]+[{_CLOSERS}]*"  # so do their ASCII forms typed right after CJK text
    rf"|(?P<latin>[.!?]+)[{_CLOSERS}]*(?=\s)"  # Latin enders need whitespace after: 3.5 and e.g.x are no ends
    r"|\n"
)
# Full stops that end an abbreviation rather than a sentence (compared lowercased, without the last dot).
_ABBREVIATIONS = frozenset(
    {
        *("e.g", "i.e", "cf", "vs", "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "inc", "ltd", "co", "corp"),
        *("dept", "fig", "approx", "al", "vol", "pp", "a.m", "p.m", "u.s", "u.k"),
    }
)
# CJK punctuation that must not open a fragment: it belongs after the character before it.
_NO_BREAK_BEFORE = frozenset("、。」』】》〉\uff0c\uff0e\uff1a\uff1b\uff01\uff1f\uff09\u3015")  # and fullwidth ,.:;!?)
_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me"})  # combining accents, vowel signs, variation selectors
_ZERO_WIDTH_JOINER = "\u200d"


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk's text and where it comes from, before it is embedded and stored."""

    text: str
    # {"section": "Leave > Annual leave" or "", "heading_path": [...], "page": 4 or None, "pages": [4, 5] if spanning}
    metadata: dict[str, Any]


def document_chunk(
    blocks: Sequence[Block], *, count_tokens: Callable[[str], int], max_tokens: int, overlap_tokens: int
) -> list[ChunkDraft]:
    """Cut a document's blocks into chunks of at most ``max_tokens``, as measured by ``count_tokens``.

    Each chunk after the first of a section starts with the last whole sentences of the chunk before it,
    at most ``overlap_tokens`` of them. The one chunk that can exceed ``max_tokens`` is a single
    character (with its combining marks) that alone counts more: it is kept rather than lost.
    """
    if max_tokens < 1 or overlap_tokens < 0:
        raise ValueError("max_tokens must be at least 1 and overlap_tokens at least 0")
    budget = _Budget(count_tokens, max_tokens, overlap_tokens)
    drafts: list[ChunkDraft] = []
    with_text = [block for block in blocks if block.text.strip()]
    for heading_path, section in groupby(with_text, key=lambda block: block.heading_path):
        packer = _SectionPacker(budget, heading_path)
        for block in section:
            packer.add_block(_block_pieces(block, budget))
        drafts.extend(packer.finish())
    return drafts


@dataclass
class _Budget:
    """The caller's token counter and limits, with the counts of separators remembered."""

    count: Callable[[str], int]
    max_tokens: int
    overlap_tokens: int
    separator_costs: dict[str, int] = field(default_factory=dict)

    def separator_cost(self, separator: str) -> int:
        # Joining two texts can add tokens (a newline may be one): the allowance is the separator's own count.
        if separator not in self.separator_costs:
            self.separator_costs[separator] = self.count(separator) if separator else 0
        return self.separator_costs[separator]

    def estimate(self, pieces: Sequence[_Piece]) -> int:
        """The tokens of the pieces joined, from their own counts, without calling the tokenizer on the join."""
        return sum(piece.tokens for piece in pieces) + sum(self.separator_cost(piece.separator) for piece in pieces[1:])


@dataclass(frozen=True)
class _Piece:
    """A sentence, or a fragment of a sentence too long for a chunk, with the whitespace that preceded it."""

    text: str
    separator: str  # joins it to the piece before: the source's own whitespace, or a paragraph break
    tokens: int
    page: int | None
    whole: bool  # a complete sentence, so it may be repeated as overlap


class _Span(NamedTuple):
    start: int
    end: int
    tokens: int


def _join(pieces: Sequence[_Piece]) -> str:
    return pieces[0].text + "".join(piece.separator + piece.text for piece in pieces[1:])


def _block_pieces(block: Block, budget: _Budget) -> list[_Piece]:
    """The block's sentences, each sentence longer than a chunk cut into fragments that fit."""
    text = block.text
    pieces: list[_Piece] = []
    previous_end: int | None = None
    for start, end in _sentence_spans(text):
        tokens = budget.count(text[start:end])
        whole = tokens <= budget.max_tokens
        spans = [_Span(start, end, tokens)] if whole else _split_oversized(text, start, end, budget)
        for span in spans:
            separator = PARAGRAPH_SEPARATOR if previous_end is None else text[previous_end : span.start]
            pieces.append(_Piece(text[span.start : span.end], separator, span.tokens, block.page, whole))
            previous_end = span.end
    return pieces


class _SectionPacker:
    """Packs one section's pieces into chunks, in order, opening each new chunk with overlap."""

    def __init__(self, budget: _Budget, heading_path: tuple[str, ...]) -> None:
        self.budget = budget
        self.heading_path = heading_path
        self.chunk: list[_Piece] = []  # overlap pieces first, then new ones
        self.size = 0  # estimated tokens of self.chunk
        self.fresh = 0  # how many pieces of self.chunk are new rather than overlap
        self.pending: deque[_Piece] = deque()
        self.drafts: list[ChunkDraft] = []

    def add_block(self, pieces: list[_Piece]) -> None:
        size = self.budget.estimate(pieces)
        # A paragraph that fits in a chunk of its own is not cut just to top up the current chunk.
        if self.fresh and size <= self.budget.max_tokens and not self._fits(size, PARAGRAPH_SEPARATOR):
            self._flush()
            if not self.pending:
                self._trim_overlap(size, PARAGRAPH_SEPARATOR)
        self.pending.extend(pieces)
        self._drain()

    def finish(self) -> list[ChunkDraft]:
        while self.fresh:  # a flush can hand pieces back; they are drained into one more chunk
            self._flush()
            self._drain()
        return self.drafts

    def _drain(self) -> None:
        while self.pending:
            piece = self.pending[0]
            if self.fresh and not self._fits(piece.tokens, piece.separator):
                self._flush()  # may put pieces back in front of this one, so look again
                continue
            self._trim_overlap(piece.tokens, piece.separator)
            self._append(self.pending.popleft())
            self.fresh += 1

    def _fits(self, tokens: int, separator: str) -> bool:
        joined = self.size + self.budget.separator_cost(separator) if self.chunk else 0
        return joined + tokens <= self.budget.max_tokens

    def _append(self, piece: _Piece) -> None:
        self.size += piece.tokens + (self.budget.separator_cost(piece.separator) if self.chunk else 0)
        self.chunk.append(piece)

    def _trim_overlap(self, tokens: int, separator: str) -> None:
        # Overlap is a courtesy to retrieval: it gives way, oldest sentence first, so that new text fits.
        while len(self.chunk) > self.fresh and not self._fits(tokens, separator):
            dropped = self.chunk.pop(0)
            self.size -= dropped.tokens + (self.budget.separator_cost(self.chunk[0].separator) if self.chunk else 0)

    def _flush(self) -> None:
        """Emit the current chunk and open the next one with its trailing sentences as overlap."""
        emitted, leftovers = self._verified()
        self.drafts.append(_draft(emitted, self.heading_path))
        self.pending.extendleft(reversed(leftovers))
        self.chunk, self.size, self.fresh = [], 0, 0
        for piece in self._overlap(emitted):
            self._append(piece)

    def _verified(self) -> tuple[list[_Piece], list[_Piece]]:
        """The chunk shrunk until the tokenizer agrees it fits, and the new pieces that had to leave it."""
        pieces, fresh = list(self.chunk), self.fresh
        leftovers: list[_Piece] = []
        # A lone piece was counted on its own already; a join is counted once, as the estimate can be short.
        while len(pieces) > 1 and self.budget.count(_join(pieces)) > self.budget.max_tokens:
            if fresh > 1:
                leftovers.insert(0, pieces.pop())
                fresh -= 1
            else:  # one new piece left: the overlap gives way instead
                pieces.pop(0)
        return pieces, leftovers

    def _overlap(self, emitted: list[_Piece]) -> list[_Piece]:
        """The longest run of whole sentences ending the chunk whose tokens total at most overlap_tokens."""
        taken: list[_Piece] = []
        size = 0
        for piece in reversed(emitted):
            grown = piece.tokens + (self.budget.separator_cost(taken[0].separator) + size if taken else 0)
            if not piece.whole or grown > self.budget.overlap_tokens:
                break
            taken.insert(0, piece)
            size = grown
        return taken


def _draft(pieces: list[_Piece], heading_path: tuple[str, ...]) -> ChunkDraft:
    pages = sorted({piece.page for piece in pieces if piece.page is not None})
    metadata: dict[str, Any] = {
        "section": " > ".join(heading_path),
        "heading_path": list(heading_path),
        "page": pages[0] if pages else None,
    }
    if len(pages) > 1:
        metadata["pages"] = pages
    return ChunkDraft(text=_join(pieces), metadata=metadata)


# --- Sentences -------------------------------------------------------------------------------------------


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of ``text`` starts and ends, without the whitespace around it."""
    cuts = [match.end() for match in _SENTENCE_END.finditer(text) if not _is_abbreviation(text, match)]
    spans = []
    for start, end in pairwise([0, *cuts, len(text)]):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def _is_abbreviation(text: str, match: re.Match[str]) -> bool:
    """Whether a full stop ends an abbreviation ("e.g.", "Dr."), an initial ("J.") or a list number ("1.")."""
    if match.group("latin") != ".":
        return False
    word_start = match.start()
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start : match.start()].lstrip("([{\"'\u201c\u2018").lower()
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isascii() and word.isalpha()):
        return True
    return word.isdigit() and _starts_line(text, word_start)


def _starts_line(text: str, index: int) -> bool:
    while index > 0 and text[index - 1] in " \t":
        index -= 1
    return index == 0 or text[index - 1] == "\n"


# --- Sentences longer than a chunk -----------------------------------------------------------------------


def _split_oversized(text: str, start: int, end: int, budget: _Budget) -> list[_Span]:
    """Cut text[start:end] into fragments that fit, between words or CJK characters."""
    return _cut(text, start, _atom_ends(text, start, end), budget, by_words=True)


def _cut(text: str, start: int, ends: list[int], budget: _Budget, *, by_words: bool) -> list[_Span]:
    """Cut text[start:ends[-1]] into as few spans that fit as greedy packing gives, ending only at ``ends``."""
    spans: list[_Span] = []
    index, position = 0, start
    while index < len(ends):
        fit = _longest_fit(text, position, ends, index, budget)
        if fit is not None:
            index, tokens = fit
            spans.append(_Span(position, ends[index], tokens))
        elif by_words:  # one word longer than a chunk (a URL, a hash): cut it between characters
            characters = [end for _, end in _clusters(text, position, ends[index])]
            spans.extend(_cut(text, position, characters, budget, by_words=False))
        else:  # one character that alone counts more than a chunk: kept whole rather than lost
            spans.append(_Span(position, ends[index], budget.count(text[position : ends[index]])))
        position = ends[index]
        while position < len(text) and text[position].isspace():
            position += 1
        index += 1
    return spans


def _longest_fit(text: str, start: int, ends: list[int], first: int, budget: _Budget) -> tuple[int, int] | None:
    """The last index k >= first such that text[start:ends[k]] fits, with its count; None if none fits.

    Gallops (first, first+1, first+3, first+7, ...) before bisecting, so that the text counted stays
    proportional to one chunk rather than to the whole remaining sentence.
    """
    best: tuple[int, int] | None = None
    low, high, probe = first - 1, len(ends), first
    while True:
        tokens = budget.count(text[start : ends[probe]])
        if tokens > budget.max_tokens:
            high = probe
            break
        low, best = probe, (probe, tokens)
        if probe == len(ends) - 1:
            break
        probe = min(2 * probe - first + 1, len(ends) - 1)
    while high - low > 1:
        middle = (low + high) // 2
        tokens = budget.count(text[start : ends[middle]])
        if tokens <= budget.max_tokens:
            low, best = middle, (middle, tokens)
        else:
            high = middle
    return best


def _atom_ends(text: str, start: int, end: int) -> list[int]:
    """Where a fragment of text[start:end] may end: after a Latin word or after any CJK character."""
    ends: list[int] = []
    in_word = False
    for cluster_start, cluster_end in _clusters(text, start, end):
        char = text[cluster_start]
        kind = "space" if char.isspace() else "cjk" if _CJK_CHAR.match(char) else "word"
        if in_word and kind != "word":
            ends.append(cluster_start)
        if kind == "cjk" and char in _NO_BREAK_BEFORE and ends and ends[-1] == cluster_start:
            ends[-1] = cluster_end  # keep a comma or full stop with the character before it
        elif kind == "cjk":
            ends.append(cluster_end)
        in_word = kind == "word"
    if in_word:
        ends.append(end)
    return ends


def _clusters(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Spans of user-perceived characters: a base character with the marks and joiners that belong to it."""
    cluster_start = start
    for index in range(start + 1, end):
        if not _continues(text[index - 1], text[index]):
            yield cluster_start, index
            cluster_start = index
    if cluster_start < end:
        yield cluster_start, end


def _continues(previous: str, char: str) -> bool:
    """Whether ``char`` belongs to the character before it, so that a cut between them would corrupt both."""
    code = ord(char)
    return (
        unicodedata.category(char) in _MARK_CATEGORIES
        or _ZERO_WIDTH_JOINER in (previous, char)  # emoji sequences such as 👩‍💻
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tags of subdivision flags
        or 0x1160 <= code <= 0x11FF  # Hangul medial vowels and final consonants
        or ("\ud800" <= previous <= "\udbff" and "\udc00" <= char <= "\udfff")  # a surrogate pair
    )
