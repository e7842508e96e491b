"""Answers on SQuAD 2.0 (English Wikipedia, answerable and unanswerable questions): speed and honesty.

The 646 SQuAD paragraphs go through the real pipeline into a folder source of their own, granted
to one staff user, who asks every question; nothing else in the database is visible to them.

    .venv/bin/python bench/answer.py --part threshold           # retrieval only: the refusal threshold
    .venv/bin/python bench/answer.py --part guard --questions 50 # the model, with and without the guard
    .venv/bin/python bench/answer.py --part speed --questions 50 # time to first token, tokens/s
    .venv/bin/python bench/answer.py --smoke    # every part, a question or two, SmolLM2, a scratch database

- threshold: the closest passage's cosine distance for answerable and unanswerable questions, and
  for each candidate threshold the share of answerable questions that still reach the model and the
  share of unanswerable ones refused without it.
- guard: one generation per question (passages always given), judged twice: as the model wrote it
  ("without guard": gold answer contained? "I don't know"?) and as Enclave shows it (the threshold,
  then answer_judge: refused, passages instead, or a cited answer).
- speed: Enclave's whole path (retrieval, prompt, generation) against a raw llama-cpp call with the
  same final prompt, in the same run, alternating which goes first. The model's prompt cache is reset
  before every call so neither side reuses the other's work. Set ENCLAVE_LLM_MODEL to pick the model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import add_eval_dir_argument, eval_dir, scratch_database, setup_django, smoke_answering_model
from retrieval_quality import EvalSet, corpus_source, read_jsonl

SMOKE_DATABASE = "enclave_smoke_answer"
# Per kind. Questions that reach the model cost seconds each; the threshold part's deciles need two.
SMOKE_QUESTIONS = {"threshold": 2, "guard": 1, "speed": 1}
THRESHOLDS = (0.14, 0.16, 0.17, 0.18, 0.19, 0.20, 0.21, 0.22, 0.24)


@dataclass(frozen=True)
class Question:
    text: str
    answers: list[str]  # empty for unanswerable questions

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def sampled(path: Path, count: int) -> list[Question]:
    """``count`` questions spread evenly over the file (and so over the articles)."""
    rows = list(read_jsonl(path))
    step = max(len(rows) // count, 1)
    return [Question(row["text"], row["metadata"].get("answers", [])) for row in rows[::step][:count]]


def asker(source):  # type: ignore[no-untyped-def]
    from accounts.models import User
    from core.rls import acting_as_system
    from knowledge.services.grants import grant_create

    user, _ = User.objects.get_or_create(username="bench-squad")
    with acting_as_system():
        grant_create(user=user, source=source)
    return user


def closest_distance(user, question: str) -> float:  # type: ignore[no-untyped-def]
    from knowledge.selectors.search import chunk_search

    hits = chunk_search(fetched_by=user, query=question, k=4, mode="dense")
    return min((hit.distance for hit in hits if hit.distance is not None), default=2.0)


def part_threshold(user, answerable: list[Question], unanswerable: list[Question]) -> None:  # type: ignore[no-untyped-def]
    near = [closest_distance(user, q.text) for q in answerable]
    far = [closest_distance(user, q.text) for q in unanswerable]
    print("closest-passage distance   p10    p50    p90")
    for name, values in (("answerable", near), ("unanswerable", far)):
        deciles = statistics.quantiles(values, n=10)
        print(f"{name:<25} {deciles[0]:.3f}  {statistics.median(values):.3f}  {deciles[8]:.3f}")
    print("\n| threshold | answerable that reach the model | unanswerable refused without it |")
    print("|---|---|---|")
    for limit in THRESHOLDS:
        reach = sum(d <= limit for d in near) / len(near)
        refused = sum(d > limit for d in far) / len(far)
        print(f"| {limit:.2f} | {reach:.1%} | {refused:.1%} |")
    print(f"\n{len(near)} answerable and {len(far)} unanswerable questions")


def contains_gold(text: str, answers: list[str]) -> bool:
    folded = " ".join(text.lower().split())
    return any(" ".join(a.lower().split()) in folded for a in answers)


def part_guard(user, questions: list[Question]) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from assistant.services.answering import _DONT_KNOW, Answer, Passage, Verdict, answer_judge, prompt_messages
    from assistant.services.generation import generator
    from knowledge.selectors.search import chunk_search

    counts: dict[tuple[bool, str], int] = {}
    for number, question in enumerate(questions, start=1):
        hits = chunk_search(fetched_by=user, query=question.text, k=settings.ENCLAVE_ANSWER_PASSAGES)
        passages = [Passage(n, hit) for n, hit in enumerate(hits, start=1)]
        raw = "".join(
            generator().stream(
                prompt_messages(question.text, passages),
                max_tokens=settings.ENCLAVE_ANSWER_MAX_TOKENS,
                should_stop=lambda: False,
            )
        )
        answer = Answer(question=question.text, language="en", passages=passages)
        closest = min((h.distance for h in hits if h.distance is not None), default=2.0)
        if closest > settings.ENCLAVE_ANSWER_MAX_DISTANCE:
            answer.verdict = Verdict.REFUSED
        else:
            answer_judge(answer, raw)
        outcomes = {
            "raw: gold answer": contains_gold(raw, question.answers),
            "raw: says it does not know": bool(_DONT_KNOW.search(raw)),
            "guard: cited answer": answer.verdict == Verdict.ANSWERED,
            "guard: cited answer with gold": answer.verdict == Verdict.ANSWERED
            and contains_gold(answer.text, question.answers),
            "guard: refused": answer.verdict == Verdict.REFUSED,
            "guard: passages instead": answer.verdict == Verdict.PASSAGES,
        }
        for name, happened in outcomes.items():
            counts[(question.answerable, name)] = counts.get((question.answerable, name), 0) + happened
        print(f"{number}/{len(questions)} {answer.verdict.value}: {raw[:80]!r}", file=sys.stderr, flush=True)
    print_guard_table(questions, counts)


def print_guard_table(questions: list[Question], counts: dict[tuple[bool, str], int]) -> None:
    total = {kind: sum(q.answerable == kind for q in questions) for kind in (True, False)}
    print(f"\n| outcome | answerable ({total[True]}) | unanswerable ({total[False]}) |")
    print("|---|---|---|")
    for name in dict.fromkeys(name for _, name in counts):
        cells = [f"{counts.get((kind, name), 0) / max(total[kind], 1):.1%}" for kind in (True, False)]
        print(f"| {name} | {cells[0]} | {cells[1]} |")


@dataclass
class Timing:
    first_token: float
    total: float
    tokens: int

    @property
    def tokens_per_second(self) -> float:
        return (self.tokens - 1) / max(self.total - self.first_token, 1e-6)


def timed(pieces) -> Timing:  # type: ignore[no-untyped-def]
    started, first, tokens = time.perf_counter(), None, 0
    for _ in pieces:
        first = first if first is not None else time.perf_counter() - started
        tokens += 1
    total = time.perf_counter() - started
    return Timing(first if first is not None else total, total, tokens)


def part_speed(user, questions: list[Question]) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from assistant.services.answering import answer_stream, prompt_messages, relevant_passages
    from assistant.services.generation import LocalGenerator, generator

    local = generator()
    assert isinstance(local, LocalGenerator), "the speed part measures the local model (unset ENCLAVE_LLM_URL)"
    enclave: list[Timing] = []
    raw: list[Timing] = []
    prompt_tokens: list[int] = []
    for number, question in enumerate(questions, start=1):
        passages = relevant_passages(user, question.text)
        if not passages:
            continue  # refused without the model: nothing to compare
        messages = prompt_messages(question.text, passages)
        prompt_tokens.append(local.prompt_tokens(messages))

        first_enclave = number % 2 == 1  # alternate, so neither side always runs on a warmer machine
        for side in ("enclave", "raw") if first_enclave else ("raw", "enclave"):
            local.forget_prompt()
            if side == "enclave":
                events = answer_stream(asked_by=user, question=question.text)
                enclave.append(timed(e for e in events if e.kind == "token"))
            else:
                max_tokens = settings.ENCLAVE_ANSWER_MAX_TOKENS
                raw.append(timed(local.stream(messages, max_tokens=max_tokens, should_stop=lambda: False)))
        print(f"{number}/{len(questions)} enclave {enclave[-1]} raw {raw[-1]}", file=sys.stderr, flush=True)
    if not enclave:
        print("\nno question reached the model (each was refused on distance): nothing to time")
        return
    print_speed_table(str(settings.ENCLAVE_LLM_MODEL), enclave, raw, prompt_tokens)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def print_speed_table(model: str, enclave: list[Timing], raw: list[Timing], prompt_tokens: list[int]) -> None:
    print(
        f"\nmodel {model}; {len(enclave)} questions; prompt tokens p50 {percentile(prompt_tokens, 0.5):.0f}, "
        f"p95 {percentile(prompt_tokens, 0.95):.0f}"
    )
    print("\n| path | first token p50 s | p95 s | total p50 s | p95 s | tokens/s p50 | tokens p50 |")
    print("|---|---|---|---|---|---|---|")
    for name, timings in (("Enclave (retrieval + prompt + model)", enclave), ("raw llama-cpp, same prompt", raw)):
        cells = [
            percentile([t.first_token for t in timings], 0.5),
            percentile([t.first_token for t in timings], 0.95),
            percentile([t.total for t in timings], 0.5),
            percentile([t.total for t in timings], 0.95),
            percentile([t.tokens_per_second for t in timings], 0.5),
        ]
        tokens = percentile([float(t.tokens) for t in timings], 0.5)
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + f" | {tokens:.0f} |")
    for label, pick in (("first token", lambda t: t.first_token), ("total", lambda t: t.total)):
        e, r = percentile([pick(t) for t in enclave], 0.5), percentile([pick(t) for t in raw], 0.5)
        print(f"Enclave overhead in {label} (p50): {100 * (e - r) / r:+.1f}%")


def squad(root: Path) -> EvalSet:
    return EvalSet("squad2", root / "squad2" / "beir", "queries.jsonl", ("Recall@5", "MRR@10"))


PARTS = ("threshold", "guard", "speed")
QUESTIONS_PER_PART = {"threshold": 300, "guard": 50, "speed": 50}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=PARTS, help="required, except with --smoke (which runs every part)")
    parser.add_argument("--questions", type=int, default=None, help="per kind (answerable, unanswerable)")
    parser.add_argument("--smoke", action="store_true", help="the smoke set in a scratch database, SmolLM2")
    add_eval_dir_argument(parser)
    args = parser.parse_args()
    eval_set = squad(eval_dir(parser, args))
    if args.smoke:
        smoke_answering_model()
        parts = [args.part] if args.part else list(PARTS)
        counts = {part: args.questions or SMOKE_QUESTIONS[part] for part in parts}
        with scratch_database(SMOKE_DATABASE), tempfile.TemporaryDirectory() as files:
            run(counts, eval_set, Path(files))
    elif args.part is None:
        parser.error("--part is required (or --smoke)")
    else:
        setup_django()
        run({args.part: args.questions or QUESTIONS_PER_PART[args.part]}, eval_set)


def run(questions_per_part: dict[str, int], eval_set: EvalSet, files: Path | None = None) -> None:
    source, seconds = corpus_source(eval_set, "multilingual-e5-small", files)
    print(f"corpus ready ({seconds:.0f} s of ingestion in this run)", file=sys.stderr, flush=True)
    user = asker(source)
    for part, count in questions_per_part.items():
        answerable = sampled(eval_set.folder / "queries.jsonl", count)
        unanswerable = sampled(eval_set.folder / "queries_unanswerable.jsonl", count)
        print(f"\n## {part}\n")
        if part == "threshold":
            part_threshold(user, answerable, unanswerable)
        elif part == "guard":
            part_guard(user, [q for pair in zip(answerable, unanswerable, strict=True) for q in pair])
        else:
            part_speed(user, answerable)


if __name__ == "__main__":
    main()
