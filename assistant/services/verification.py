"""Claim-level verification: does the passage an answer cites say what the answer claims, about
what the question asks?

Word overlap is not enough. Asked about the 2018 final, a model given a passage about the 2022
final writes "X won the 2018 final. [1]": every word is in the passage, the claim is false. Here an
answer stands only when all of these hold:

1. it rests on a *supporting quote*: one sentence (or the quote the model wrote, when it occurs in
   the passage) of the cited passage;
2. every number, date, year and amount in the answer is in that quote, and so is every name;
3. the answer's other words are mostly in the quote (it says what the quote says);
4. the question's own constraints (years, dates, quantities, codes like "Q3" or "E2", names) are
   satisfied by the quote or its passage: an answer about another year is no answer.

Chinese is handled alike: Chinese numerals are read as numbers (二〇一八年 = 2018年, 二十五天 = 25天)
and names come from jieba's part-of-speech tags. All comparisons ignore case, accents, whitespace,
punctuation and full-width forms, so a quote copied with other spacing or quotation marks still
matches. Everything here is pure and fast (no model), so the rules are tested on fixed outputs.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# --- normalising text ------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff]")
CITATION = re.compile(r"\[(\d{1,2})\]")  # a citation marker as the model writes it: "[2]"
_NOT_WORD = re.compile(r"[\W_]+")
_QUOTE_MARKS = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "。": ".", "、": ","})


def folded(text: str) -> str:
    """Lower case, no accents, half-width forms and plain quotation marks, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_MARKS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def compact(text: str) -> str:
    """``folded`` without any whitespace or punctuation: what containment is checked on, so that
    line breaks inside a Chinese passage or a comma the model left out change nothing."""
    return _NOT_WORD.sub("", folded(text))


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def _words(text: str) -> list[str]:
    return text.split()


# --- numbers -----------------------------------------------------------------------------------

_CHINESE_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_CHINESE_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Number words count on the passage's side only: "one" is a pronoun too often to be demanded of a
# quote, but a quote that writes "twenty-five" does support an answer that writes 25.
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        _words(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty"
        )
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_COMPOUND_NUMBER = re.compile(
    r"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ](one|two|three|four|five|six|seven|eight|nine)\b"
)


def with_arabic_numerals(text: str) -> str:
    """Chinese numerals as digits. Both sides of every comparison are converted alike, so a numeral
    inside a word ("统一") changes nothing that is compared."""
    return _CHINESE_NUMERAL.sub(lambda m: str(chinese_numeral_value(m.group(0))), text)


def chinese_numeral_value(numeral: str) -> int:
    if not any(c in _CHINESE_UNITS for c in numeral):
        return int("".join(str(_CHINESE_DIGITS[c]) for c in numeral))  # read digit by digit: 二〇二六
    total, section, digit = 0, 0, 0
    for char in numeral:
        if char in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[char]
        elif char == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _CHINESE_UNITS[char]  # 十五: a bare unit counts one of it
            digit = 0
    return total + section + digit


def _canonical_number(raw: str) -> str:
    # "1,000" and "1000" are one number; "3.50" and "3.5" too. A comma followed by other than
    # three digits is a list ("3,4"), read as separate numbers by the caller.
    plain = raw.replace(",", "")
    if "." in plain:
        whole, _, fraction = plain.partition(".")
        fraction = fraction.rstrip("0")
        return f"{int(whole or 0)}.{fraction}" if fraction else str(int(whole or 0))
    return str(int(plain))


def numbers_in(text: str) -> set[str]:
    """Every number the text states, canonical: "1,000" -> "1000", "二〇一八年" -> "2018"."""
    found: set[str] = set()
    for raw in _NUMBER.findall(with_arabic_numerals(folded(text))):
        groups = raw.split(",")
        if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
            found.update(_canonical_number(g) for g in groups if g)
        else:
            found.add(_canonical_number(raw))
    return found


def numbers_stated_in(source: str) -> set[str]:
    """The numbers a passage supports: its digits and numerals, and its number words."""
    text = folded(source)
    words = {str(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text) if w in _NUMBER_WORDS}
    compounds = {str(_NUMBER_WORDS[tens] + _NUMBER_WORDS[unit]) for tens, unit in _COMPOUND_NUMBER.findall(text)}
    return numbers_in(source) | words | compounds


# --- names and codes -----------------------------------------------------------------------

# Capitalised because they open a sentence or a question, not because they name something.
_NOT_NAMES = set(
    _words(
        """a an the in on at to of by for from with within without into onto about above after against along among
    around as before behind below beside between beyond but despite during except if inside like near off
    over since than through throughout till toward towards under until upon via and or nor so yet not no yes
    it its it's he she his her hers him they them their theirs we our ours you your yours i me my mine this that
    these those there here then thus hence also however therefore although though because while whereas when
    what who whom whose which where why how whether do does did is are was were be been being has have had
    can could may might must shall should will would all any both each either neither every few many more most
    much other others some such one ones answer quote passage passages according based question questions
    according note yes sure well overall first second third finally"""
    )
)
# ASCII only: \w would run on into the Chinese that follows a code ("HAT-P-2b的母星").
_ENGLISH_NAME = re.compile(
    r"(?<![A-Za-z0-9'’])(?:[A-Z][A-Za-z0-9'’.-]*|[a-z]*\d+[a-z]+[A-Za-z0-9]*|[a-z]+\d+[A-Za-z0-9]*)"
)
_CHINESE_NAME_TAGS = ("nr", "ns", "nt", "nz", "eng")


def names_in(text: str) -> set[str]:
    """Names, places, organisations and codes ("Q3", "E2", "COVID-19") the text mentions, as
    ``compact`` forms. Function words capitalised at the start of a sentence are not names; other
    capitalised words are taken for names, so "Staff get 25 days" must be quoted from a passage
    that says "staff": a refusal too many is cheaper than a wrong name let through."""
    text = unicodedata.normalize("NFKC", CITATION.sub(" ", text))
    found = {
        compact(word)
        for word in _ENGLISH_NAME.findall(text)
        if word.lower().strip(".'’-") not in _NOT_NAMES and not word.isdigit()
    }
    if is_chinese(text):
        found |= {compact(word) for word in _chinese_names(text)}
    return {name for name in found if name and not name.isdigit()}


def _chinese_names(text: str) -> list[str]:
    return [word for word, flag in _tagged(text) if flag.startswith(_CHINESE_NAME_TAGS) and len(word) >= 2]


def _tagged(text: str) -> list[tuple[str, str]]:
    import jieba
    import jieba.posseg  # its dictionary loads on first use (about 1.5 s), so only when needed

    jieba.setLogLevel(logging.WARNING)  # it reports building its dictionary at DEBUG, on every process
    return [(pair.word, pair.flag) for pair in jieba.posseg.cut(text)]


def name_stated_in(name: str, source_compact: str) -> bool:
    """Whether the passage names it, allowing an inflection: "American" is stated by "America"."""
    if name in source_compact or is_chinese(name):
        return name in source_compact
    singular = re.sub(r"(?:'s|es|s)$", "", name)  # "Wars of Religion" is stated by "war"
    if len(singular) >= 3 and singular in source_compact:
        return True
    return len(name) >= 7 and name[: len(name) - 2] in source_compact


# --- words ---------------------------------------------------------------------------------

_CONTENT_WORD = re.compile(r"[a-z]{3,}|\d+|[\u3400-\u9fff]")


@cache
def _stop_words() -> frozenset[str]:
    chinese = set("的了是在和与及或也都就而被把对为这那个之其中有于从以到上下")
    return frozenset(_NOT_NAMES | chinese)


def content_words(text: str) -> set[str]:
    words = _CONTENT_WORD.findall(with_arabic_numerals(folded(CITATION.sub(" ", text))))
    return {w for w in words if w not in _stop_words()}


# --- sentences -----------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“(A-Z0-9])|(?<=[。！？；])|\n+")


def sentences_of(passage: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(passage) if s and s.strip()]


# --- the verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The outcome, with the reason in words when the claim does not stand (for logs and tests)."""

    ok: bool
    reason: str = ""
    quote: str = ""  # the supporting quote, when there is one


def claim_check(
    *,
    question: str,
    answer: str,
    passage: str,
    quote: str = "",
    min_overlap: float = 0.5,
    min_question_overlap: float = 0.25,
) -> Check:
    """Whether ``passage`` supports ``answer`` as an answer to ``question`` (rules 1-4 above).

    ``quote`` is what the model gave as its support, if anything; it counts only when it occurs in
    the passage. Otherwise the passage's own sentences, alone and in adjacent pairs (a claim often
    joins a sentence to the one that names its subject), are tried, so that a model that forgot to
    quote is not punished for it, while one whose claim no part of the passage makes is.
    ``min_question_overlap`` is the share of the question's own words the quote must hold: a quote
    that states the answer's facts but is about something else ("what causes poor immune function"
    asked as "what weakens the immune response of the old") does not answer it.
    """
    answer = CITATION.sub(" ", answer)
    missing = _unmet_constraints(question, passage)
    if missing:
        return Check(False, f"the question asks about {', '.join(missing)}, which the passage does not mention")
    if _repeats_question(answer, question):
        return Check(False, "the answer only repeats the question")
    candidates = ([quote] if quote and _occurs_in(quote, passage) else []) + _windows(sentences_of(passage))
    reasons: list[str] = []
    for window in candidates:
        problem = _quote_problem(answer, window, min_overlap) or _off_question(question, window, min_question_overlap)
        if not problem:
            return Check(True, quote=window)
        reasons.append(problem)
    return Check(False, _most_telling(reasons) if reasons else "the passage is empty")


def _repeats_question(answer: str, question: str) -> bool:
    # "Who succeeded Kublai?" -> "Kublai [1]": every word is in the quote because the question's
    # are; it names no answer at all. It does not depend on the passage, so it is asked once.
    words = content_words(answer)
    return bool(words) and not (words - content_words(question)) and not numbers_in(answer) - numbers_in(question)


def _windows(sentences: list[str]) -> list[str]:
    """Each sentence, then each pair of adjacent sentences (single sentences first: the tighter quote)."""
    return sentences + [f"{first} {second}" for first, second in itertools.pairwise(sentences)]


def _off_question(question: str, quote: str, min_overlap: float) -> str:
    """Why the quote is not about the question (its numbers, and enough of its words); empty if it is."""
    unmet_numbers = numbers_in(question) - numbers_stated_in(quote)
    if unmet_numbers:
        return f"the question asks about {', '.join(sorted(unmet_numbers))}, which its quote does not state"
    words = content_words(question)
    quote_compact = compact(with_arabic_numerals(quote))
    shared = sum(word in quote_compact for word in words) / len(words) if words else 1.0
    if shared < min_overlap:
        return f"its quote holds only {shared:.0%} of the question's words"
    return ""


def _most_telling(reasons: list[str]) -> str:
    # The reason of the window that came closest is the one worth reading: a missing name or number
    # says more than a low overlap somewhere else in the passage.
    return min(reasons, key=lambda reason: ("only" in reason, reason.startswith("its quote"), len(reason)))


def _occurs_in(quote: str, passage: str) -> bool:
    return bool(compact(quote)) and compact(quote) in compact(passage)


def _unmet_constraints(question: str, passage: str) -> list[str]:
    """The question's numbers and names that the passage does not state."""
    stated_numbers = numbers_stated_in(passage)
    passage_compact = compact(with_arabic_numerals(passage))
    missing = [number for number in sorted(numbers_in(question)) if number not in stated_numbers]
    missing += [name for name in sorted(names_in(question)) if not name_stated_in(name, passage_compact)]
    return missing


def _quote_problem(answer: str, quote: str, min_overlap: float) -> str:
    """Why ``quote`` does not support ``answer``; empty when it does."""
    unsupported_numbers = numbers_in(answer) - numbers_stated_in(quote)
    if unsupported_numbers:
        return f"the answer states {', '.join(sorted(unsupported_numbers))}, which its quote does not"
    quote_compact = compact(with_arabic_numerals(quote))
    unsupported_names = [name for name in sorted(names_in(answer)) if not name_stated_in(name, quote_compact)]
    if unsupported_names:
        return f"the answer names {', '.join(unsupported_names)}, which its quote does not"
    words = content_words(answer)
    if not words:
        return "the answer says nothing that could be checked"
    found = sum(word in quote_compact for word in words) / len(words)
    if found < min_overlap:
        return f"only {found:.0%} of the answer's words are in its quote"
    return ""
