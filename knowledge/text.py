"""Text for PostgreSQL full-text search, in English and Chinese.

PostgreSQL's parser splits on spaces and punctuation, so a Chinese sentence (no spaces) would be
one giant "word" that no query ever matches. Chinese runs are cut into words with jieba (its
dictionary ships in the package) before they reach to_tsvector; English text passes through
untouched so the english configuration can stem it.
"""

from __future__ import annotations

import functools
import re
from types import ModuleType

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+")
# Words websearch_to_tsquery would read as operators rather than as words to look for.
_OPERATORS = {"or", "and", "not"}


@functools.cache
def _jieba() -> ModuleType:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary loading at INFO
    return jieba


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def searchable_text(text: str) -> str:
    """The text to index: Chinese segmented into space-separated words, anything else as it is.

    Search-engine mode also emits the shorter words inside long ones (中华人民共和国 -> 中华, 华人,
    人民, 共和, 共和国, ...), the same mode the query uses, so both sides cut a phrase alike.
    """
    if not has_chinese(text):
        return text
    return " ".join(token for token in _jieba().cut_for_search(text) if token.strip())


def keyword_query(text: str) -> str:
    """A websearch_to_tsquery string matching any of the query's words (ranking sorts out the best).

    Questions are long and their words optional: requiring every word (the default AND) would find
    almost nothing, so the words are joined with OR.
    """
    tokens = _jieba().cut_for_search(text) if has_chinese(text) else _WORD.findall(text)
    words = [t for t in tokens if _WORD.fullmatch(t) and t.lower() not in _OPERATORS]
    return " or ".join(dict.fromkeys(words))
