"""The claim rules on fixed model outputs: the right answer stands; the year-swapped, the
wrong-name, the wrong-figure and the stitched one do not (assistant/services/verification.py)."""

from __future__ import annotations

import pytest

from assistant.services.verification import claim_check, compact, names_in, numbers_in

FINAL = (
    "The 2022 final was played at the Lusail Stadium in Qatar. "
    "Argentina won the 2022 final against France on penalties after a 3-3 draw."
)
PAY_SCALE = "Grade 7 engineers are paid EUR 85,000 a year. Grade 8 engineers are paid EUR 97,500 a year."
MEMO = "Contoso will be acquired for EUR 40 million, closing in Q3 2027."
LEAVE = "Every employee is entitled to twenty-five days of paid annual leave a year."
CHINESE_FINAL = "2022年世界杯决赛在卡塔尔的卢赛尔体育场举行。阿根廷队在点球大战中击败法国队，赢得冠军。"
CHINESE_LEAVE = "员工每年享有二十五天带薪年假，入职满十年后增加至三十天。"


def check(question: str, answer: str, passage: str, quote: str = "") -> bool:
    return claim_check(question=question, answer=answer, passage=passage, quote=quote).ok


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who won the 2022 final?", "Argentina won the 2022 final. [1]"),
        ("Where was the 2022 final played?", "At the Lusail Stadium in Qatar [1]"),
        ("Who won the final?", "Argentina [1]"),
        ("How did the 2022 final end?", "Argentina won on penalties after a 3-3 draw [1]"),
    ],
)
def test_the_answer_the_passage_gives_stands(question: str, answer: str) -> None:
    assert check(question, answer, FINAL)


def test_an_answer_about_another_year_than_the_passage_does_not_stand() -> None:
    # The shape of the worst answer: every word is in the passage, the claim is false.
    result = claim_check(question="Who won the 2018 final?", answer="Argentina won the 2018 final. [1]", passage=FINAL)
    assert not result.ok and "2018" in result.reason
    # Even when the answer leaves the year out, the question's year must be the passage's.
    assert not check("Who won the 2018 final?", "Argentina won the final. [1]", FINAL)


def test_a_name_the_passage_does_not_give_does_not_stand() -> None:
    result = claim_check(question="Who won the final?", answer="Brazil won the final. [1]", passage=FINAL)
    assert not result.ok and "brazil" in result.reason
    assert not check("Which stadium hosted the 2022 final?", "The Maracana Stadium [1]", FINAL)


def test_a_figure_the_quote_does_not_give_does_not_stand() -> None:
    assert not check("What was the score of the 2022 final?", "It ended 2-2 [1]", FINAL)
    assert check("What was the score of the 2022 final?", "It ended 3-3 [1]", FINAL)


def test_a_claim_stitched_from_another_document_does_not_stand() -> None:
    # The asker may see the pay scale, not the memo: the deal's name is not in what was cited.
    stitched = "We are acquiring Contoso for EUR 85,000. [1]"
    assert not check("How much are we paying for Contoso?", stitched, PAY_SCALE)
    assert not check("How much is the acquisition?", stitched, PAY_SCALE)
    assert check("How much are we paying for Contoso?", "Contoso will be acquired for EUR 40 million [1]", MEMO)


def test_the_question_s_codes_and_quarters_must_be_in_the_passage() -> None:
    assert check("When does the Contoso deal close?", "In Q3 2027 [1]", MEMO)
    assert not check("When does the Contoso deal close in Q4?", "In Q3 2027 [1]", MEMO)
    assert not check("What does grade E2 pay?", "EUR 85,000 a year [1]", PAY_SCALE)


def test_numbers_match_however_they_are_written() -> None:
    assert check("What does a grade 7 engineer earn?", "EUR 85000 a year [1]", PAY_SCALE)
    assert check("How many days of annual leave?", "25 days of paid annual leave [1]", LEAVE)
    assert not check("How many days of annual leave?", "30 days of paid annual leave [1]", LEAVE)
    assert numbers_in("二〇一八年，二十五天，1,000 and 3.50") == {"2018", "25", "1000", "3.5"}


def test_a_quote_matches_across_spacing_case_and_full_width_punctuation() -> None:
    quote = "ARGENTINA  won the 2022 final against France，on penalties"
    result = claim_check(question="Who won the 2022 final?", answer="Argentina [1]", passage=FINAL, quote=quote)
    assert result.ok and result.quote == quote
    assert compact("“卢赛尔体育场”。") == compact('"卢赛尔体育场".')


def test_a_quote_the_passage_does_not_hold_is_not_taken_as_support() -> None:
    invented = "Brazil won the 2022 final"
    result = claim_check(question="Who won the 2022 final?", answer="Brazil [1]", passage=FINAL, quote=invented)
    assert not result.ok


@pytest.mark.parametrize(
    ("question", "answer", "stands"),
    [
        ("2022年世界杯决赛在哪里举行？", "在卡塔尔的卢赛尔体育场举行。[1]", True),
        ("二〇二二年世界杯决赛谁赢了？", "阿根廷队赢得冠军。[1]", True),
        ("2018年世界杯决赛谁赢了？", "阿根廷队赢得了冠军。[1]", False),  # another year
        ("2022年世界杯决赛谁赢了？", "巴西队赢得冠军。[1]", False),  # a name the passage does not give
    ],
)
def test_chinese_claims_are_checked_alike(question: str, answer: str, stands: bool) -> None:
    assert check(question, answer, CHINESE_FINAL) is stands


def test_chinese_numerals_and_digits_are_one_number() -> None:
    assert check("每年有多少天年假？", "每年二十五天 [1]", CHINESE_LEAVE)
    assert check("每年有多少天年假？", "每年25天带薪年假 [1]", CHINESE_LEAVE)
    assert not check("每年有多少天年假？", "每年20天带薪年假 [1]", CHINESE_LEAVE)
    assert not check("入职满五年后有多少天年假？", "三十天 [1]", CHINESE_LEAVE)


def test_function_words_opening_a_sentence_are_not_names() -> None:
    assert names_in("The answer is in the passage. According to it, Argentina won in Q3.") == {"argentina", "q3"}


def test_an_answer_that_only_repeats_the_question_does_not_stand() -> None:
    # Every word is in the quote because the question's words are: it names no answer.
    sentence = FINAL.split(". ")[1]
    result = claim_check(question="Who played France in the 2022 final?", answer="France [1]", passage=sentence)
    assert not result.ok and "repeats the question" in result.reason
    assert not check("Who played France in the 2022 final?", "France [1]", FINAL)
    assert check("Who played France in the 2022 final?", "Argentina [1]", FINAL)
    assert not check("阿根廷队击败了谁？", "阿根廷队 [1]", CHINESE_FINAL)
    assert check("阿根廷队击败了谁？", "法国队 [1]", CHINESE_FINAL)
