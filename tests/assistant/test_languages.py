"""The assistant's own words (refusals, stop notices) come out in the answer's language, from the catalog."""

from __future__ import annotations

import pytest
from django.utils import translation

from assistant.languages import in_language
from assistant.selectors import WITHHELD
from assistant.services.answering import PASSAGES_INSTEAD, REFUSAL, STOPPED_UNWRITTEN
from assistant.services.conversations import ABANDONED, STOPPED_EARLY

CHINESE = {
    REFUSAL: "在您有权访问的文档中找不到相关内容。",
    STOPPED_UNWRITTEN: "在生成任何内容之前已停止。",
    PASSAGES_INSTEAD: "无法根据这些段落给出有依据的回答。以下是最相关的段落：",
    STOPPED_EARLY: "回答在完成前已停止。",
    ABANDONED: "此回答被中断（Enclave 在生成时重新启动）。请重新提问。",
    WITHHELD: "此回答所依据的文档您已无权查看。",
}


@pytest.mark.parametrize(("english", "chinese"), CHINESE.items())
def test_each_message_reads_in_english_and_in_chinese(english: str, chinese: str) -> None:
    assert in_language("en", english) == english
    assert in_language("zh-hans", english) == chinese


def test_the_answer_language_wins_over_the_page_language_and_leaves_it_as_it_was() -> None:
    # A Chinese question asked from the English page is refused in Chinese, and the reverse.
    with translation.override("en"):
        assert in_language("zh-hans", REFUSAL) == CHINESE[REFUSAL]
        assert translation.get_language() == "en"
    with translation.override("zh-hans"):
        assert in_language("en", REFUSAL) == REFUSAL
        assert translation.get_language() == "zh-hans"


@pytest.mark.parametrize("language", ["", "fr"])
def test_a_language_without_a_catalog_reads_in_english(language: str) -> None:
    # A message's language stays empty until an answer is written into it.
    with translation.override("zh-hans"):
        assert in_language(language, WITHHELD) == WITHHELD
