"""Answer quality in RAG-realistic conditions: is what the asker sees right, a refusal, or wrong?

From SQuAD 2.0 (English) and CMRC 2018 (Chinese) in ../shared/eval, each sampled question is asked
twice through Enclave's answer path after retrieval (prompt, greedy generation, claim verification,
the model's own support check):

- answerable: its gold paragraph among the 4 (--distractors) paragraphs most similar to the question
  (multilingual-e5-small), in similarity order, as retrieval would hand them over;
- no answer: the same question with the gold paragraph removed, so no passage holds the answer
  (questions whose answer text also occurs in a distractor are left out of this condition);
- and, for SQuAD, its own unanswerable questions with the paragraph they were written against
  present (adversarial: plausible, but the paragraph does not say).

It prints per language and condition: answerable -> correct / passages / refused / wrong;
no answer -> refused / passages / answered (every "answered" there is wrong), then the latency of
first token and whole answer. "correct" = a verified answer whose text contains a gold answer
(compared ignoring case, spacing and punctuation). Set ENCLAVE_LLM_MODEL (or ENCLAVE_LLM_URL) to
choose the model.

    .venv/bin/python bench/answer_quality.py --questions 40          # 40 per language
    .venv/bin/python bench/answer_quality.py --smoke                 # 2 per language, the test model
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import add_eval_dir_argument, eval_dir, setup_django, smoke_answering_model


@dataclass(frozen=True)
class Case:
    language: str  # "en" | "zh-hans"
    condition: str  # "answerable" | "no answer" | "squad unanswerable"
    question: str
    answers: tuple[str, ...]
    paragraphs: tuple[tuple[str, str], ...]  # (title, text), in the order the model reads them


@dataclass
class Outcome:
    case: Case
    verdict: str
    text: str
    first_token: float | None
    total: float
    reason: str = ""
    support: float | None = None
    quote: str = ""

    @property
    def contains_gold(self) -> bool:
        from assistant.services.verification import compact

        return any(compact(gold) in compact(self.text) for gold in self.case.answers if compact(gold))

    @property
    def label(self) -> str:
        if self.verdict != "answered":
            return {"refused": "refused", "passages": "passages"}.get(self.verdict, self.verdict)
        if self.case.condition == "answerable":
            return "correct" if self.contains_gold else "wrong"
        return "answered"


@dataclass
class Corpus:
    language: str
    paragraphs: dict[str, tuple[str, str]]  # id -> (title, text)
    questions: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # (gold id, text, answers)
    unanswerable: list[tuple[str, str]] = field(default_factory=list)  # (paragraph id, text)


def read_jsonl(path: Path) -> list[dict]:
    import json

    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_corpus(folder: Path, language: str) -> Corpus:
    paragraphs = {row["_id"]: (row.get("title", ""), row["text"]) for row in read_jsonl(folder / "corpus.jsonl")}
    gold: dict[str, str] = {}
    for line in (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, paragraph_id, _ = line.split("\t")
        gold[query_id] = paragraph_id
    corpus = Corpus(language, paragraphs)
    for row in read_jsonl(folder / "queries.jsonl"):
        answers = tuple(row["metadata"].get("answers", []))
        if row["_id"] in gold and answers:
            corpus.questions.append((gold[row["_id"]], row["text"], answers))
    unanswerable = folder / "queries_unanswerable.jsonl"
    if unanswerable.exists():
        corpus.unanswerable = [(r["metadata"]["written_against_doc"], r["text"]) for r in read_jsonl(unanswerable)]
    return corpus


class Similarity:
    """Paragraphs ranked by closeness to a question, with the embedding model Enclave searches with."""

    def __init__(self, corpus: Corpus) -> None:
        from knowledge.services.embeddings import passages_embed

        self.ids = list(corpus.paragraphs)
        self.matrix = passages_embed([corpus.paragraphs[i][1] for i in self.ids])

    def ranked(self, question: str) -> list[str]:
        import numpy as np

        from knowledge.services.embeddings import query_embed

        scores = self.matrix @ np.asarray(query_embed(question))
        return [self.ids[i] for i in np.argsort(-scores)]


def cases_of(corpus: Corpus, count: int, distractors: int, rng: random.Random) -> list[Case]:
    from assistant.services.verification import compact

    similarity = Similarity(corpus)
    cases: list[Case] = []
    for gold_id, question, answers in rng.sample(corpus.questions, min(count, len(corpus.questions))):
        ranked = similarity.ranked(question)
        others = [i for i in ranked if i != gold_id]
        with_gold = sorted([gold_id, *others[:distractors]], key=ranked.index)
        cases.append(Case(corpus.language, "answerable", question, answers, _texts(corpus, with_gold)))
        without = others[: distractors + 1]
        if not any(compact(a) in compact(corpus.paragraphs[i][1]) for a in answers for i in without):
            cases.append(Case(corpus.language, "no answer", question, answers, _texts(corpus, without)))
    for paragraph_id, question in rng.sample(corpus.unanswerable, min(count, len(corpus.unanswerable))):
        ranked = [i for i in similarity.ranked(question) if i != paragraph_id]
        shown = sorted([paragraph_id, *ranked[:distractors]], key=similarity.ranked(question).index)
        cases.append(Case(corpus.language, "squad unanswerable", question, (), _texts(corpus, shown)))
    return cases


def _texts(corpus: Corpus, ids: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple(corpus.paragraphs[i] for i in ids)


def passages_of(paragraphs: tuple[tuple[str, str], ...]) -> list:  # type: ignore[type-arg]
    """The paragraphs as the answer path gets them from search (rows that are never saved)."""
    from assistant.services.answering import Passage
    from knowledge.models import Chunk, Document, Source
    from knowledge.selectors.search import SearchHit

    source = Source(name="bench")
    return [
        Passage(
            number, SearchHit(Chunk(text=text, document=Document(title=title, source=source)), 0.0, number, None, 0.1)
        )
        for number, (title, text) in enumerate(paragraphs, start=1)
    ]


def run(case: Case) -> Outcome:
    from assistant.services.answering import Answer, answer_from_passages

    answer = Answer(question=case.question, language=case.language, passages=passages_of(case.paragraphs))
    started, first_token = time.perf_counter(), None
    for event in answer_from_passages(answer):
        if event.kind == "token" and first_token is None:
            first_token = time.perf_counter() - started
    total = time.perf_counter() - started
    return Outcome(
        case, answer.verdict.value, answer.text, first_token, total, answer.reason, answer.support, answer.quote
    )


ANSWERABLE = ("correct", "passages", "refused", "wrong")
NO_ANSWER = ("refused", "passages", "answered")


def print_table(outcomes: list[Outcome]) -> None:
    print("\n| language | condition | n | " + " | ".join(ANSWERABLE) + " |")
    print("|---|---|---:|" + "---:|" * len(ANSWERABLE))
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.case.language, outcome.case.condition), []).append(outcome)
    for (language, condition), group in sorted(groups.items()):
        counts = Counter(o.label for o in group)
        labels = ANSWERABLE if condition == "answerable" else NO_ANSWER
        cells = [f"{name} {counts[name] / len(group):.0%}" for name in labels]
        cells += [""] * (len(ANSWERABLE) - len(cells))
        print(f"| {language} | {condition} | {len(group)} | " + " | ".join(cells) + " |")
    wrong = sum(o.label in ("wrong", "answered") for o in outcomes)
    print(f"\nwrong cited answers: {wrong} of {len(outcomes)} questions ({wrong / max(len(outcomes), 1):.1%})")
    firsts = [o.first_token for o in outcomes if o.first_token is not None]
    totals = [o.total for o in outcomes]
    if firsts:
        print(f"first token: p50 {statistics.median(firsts):.2f} s, p95 {_p95(firsts):.2f} s")
    print(f"whole answer: p50 {statistics.median(totals):.2f} s, p95 {_p95(totals):.2f} s")


def _p95(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=40, help="sampled questions per language and source")
    parser.add_argument("--distractors", type=int, default=4)
    parser.add_argument("--language", choices=("en", "zh-hans"), action="append", help="default: both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="the tiny built-in sets and the test model")
    parser.add_argument("--show", action="store_true", help="print every question, verdict and answer")
    add_eval_dir_argument(parser)
    args = parser.parse_args()
    sets_dir = eval_dir(parser, args)
    if args.smoke:
        args.questions, args.distractors = 2, 1
        smoke_answering_model()
    setup_django()
    from django.conf import settings

    print(f"model: {settings.ENCLAVE_LLM_URL or settings.ENCLAVE_LLM_MODEL}; {os.cpu_count()} cores")
    rng = random.Random(args.seed)  # noqa: S311 - sampling questions, not secrets
    sets = {"en": (sets_dir / "squad2" / "beir", "en"), "zh-hans": (sets_dir / "cmrc2018" / "beir_dev", "zh-hans")}
    cases = [
        case
        for language in args.language or list(sets)
        for case in cases_of(load_corpus(*sets[language]), args.questions, args.distractors, rng)
    ]
    outcomes = []
    for number, case in enumerate(cases, start=1):
        outcome = run(case)
        outcomes.append(outcome)
        if args.show:
            print(
                f"{number:>4} {case.language} {case.condition:<18} {outcome.label:<9} {outcome.total:5.1f}s "
                f"{case.question!r} -> {outcome.text[:120]!r} yes={outcome.support} {outcome.reason[:300]}",
                flush=True,
            )
    print_table(outcomes)


if __name__ == "__main__":
    main()
