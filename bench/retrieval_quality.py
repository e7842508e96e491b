"""Retrieval quality of chunk_search on public sets, per embedding model and search mode.

- SciFact (English, BEIR test split: 300 claims over 5,183 abstracts): nDCG@10 and Recall@100.
- CMRC 2018 dev (Chinese, 848 Wikipedia paragraphs, 3,219 questions): Recall@5 and MRR@10.

Each corpus goes through the real pipeline (files in a folder source -> parse -> chunk -> embed
-> store) once per model, into a source of its own in the development database. The sources are kept: a second run
skips what is already embedded (so an interrupted run resumes), and `ingest s` counts only the
new work. Questions are asked through `chunk_search` in the dense, keyword and hybrid modes; a
document's rank is the rank of its best chunk. nDCG@10, Recall@5 and MRR@10 come from the same
k=10 search the assistant makes; Recall@100 from a k=100 search.

    .venv/bin/python bench/retrieval_quality.py                         # every model, both sets
    .venv/bin/python bench/retrieval_quality.py --model multilingual-e5-small --set cmrc
    .venv/bin/python bench/retrieval_quality.py --smoke    # bench/smoke_eval, one model, a scratch database
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness import EVAL, ROOT, add_eval_dir_argument, eval_dir, scratch_database, setup_django

MODES = ("dense", "keyword", "hybrid")
SMOKE_DATABASE = "enclave_smoke_quality"
SMOKE_MODEL = "multilingual-e5-small"  # the default model; loading another takes longer than the whole smoke run


@dataclass(frozen=True)
class EvalSet:
    name: str
    folder: Path
    queries_file: str
    metrics: tuple[str, str]


def eval_sets(root: Path) -> dict[str, EvalSet]:
    """The sets under ``root``: the public ones (harness.EVAL) or the smoke ones (harness.SMOKE_EVAL)."""
    return {
        "scifact": EvalSet("scifact", root / "scifact", "queries.jsonl", ("nDCG@10", "Recall@100")),
        "cmrc": EvalSet("cmrc", root / "cmrc2018" / "beir_dev", "queries.jsonl", ("Recall@5", "MRR@10")),
    }


SET_NAMES = sorted(eval_sets(EVAL))


def read_jsonl(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def relevant_documents(eval_set: EvalSet) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = {}
    with (eval_set.folder / "qrels" / "test.tsv").open(encoding="utf-8") as rows:
        next(rows)  # header
        for row in rows:
            query_id, corpus_id, score = row.rstrip("\n").split("\t")
            if int(score) > 0:
                relevant.setdefault(query_id, set()).add(corpus_id)
    return relevant


def questions(eval_set: EvalSet, relevant: dict[str, set[str]], limit: int | None) -> list[tuple[str, str]]:
    asked = [(q["_id"], q["text"]) for q in read_jsonl(eval_set.folder / eval_set.queries_file) if q["_id"] in relevant]
    return asked[:limit] if limit else asked


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    gain = sum(1 / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]) if doc in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), 10)))
    return gain / ideal


def recall_at(k: int) -> Callable[[list[str], set[str]], float]:
    return lambda ranked, relevant: len(relevant & set(ranked[:k])) / len(relevant)


def mrr_at_10(ranked: list[str], relevant: set[str]) -> float:
    return next((1 / (rank + 1) for rank, doc in enumerate(ranked[:10]) if doc in relevant), 0.0)


METRICS: dict[str, tuple[Callable[[list[str], set[str]], float], int]] = {
    # name: (function, how many chunks the search returns for it)
    "nDCG@10": (ndcg_at_10, 10),
    "Recall@100": (recall_at(100), 100),
    "Recall@5": (recall_at(5), 10),
    "MRR@10": (mrr_at_10, 10),
}


def corpus_source(eval_set: EvalSet, model: str, files: Path | None = None):  # type: ignore[no-untyped-def]
    """The folder source holding the corpus embedded by ``model``. Ingestion resumes where an
    earlier run stopped (unchanged, already embedded files are skipped); returns the seconds spent.
    The corpus is written as files into ``files`` (default var/bench/), once."""
    from core.rls import acting_as_system
    from knowledge.models import Source
    from knowledge.services.sources import source_ensure, source_sync, sync_run_ingest_inline

    folder = (files or ROOT / "var" / "bench") / eval_set.name
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for record in read_jsonl(eval_set.folder / "corpus.jsonl"):
            text = f"{record.get('title', '')}\n\n{record['text']}".strip()
            (folder / f"{record['_id']}.txt").write_text(text, encoding="utf-8")
    with acting_as_system():
        source = source_ensure(
            name=f"bench quality: {eval_set.name} / {model}", kind=Source.Kind.FOLDER, config={"path": str(folder)}
        )
        Source.objects.filter(pk=source.pk).update(config={"path": str(folder)})  # the checkout may have moved
    run = source_sync(source_id=source.pk, enqueue=False)
    started = time.perf_counter()
    sync_run_ingest_inline(run, lambda document, result: None)
    return source, time.perf_counter() - started


def ranked_documents(hits: list) -> list[str]:  # type: ignore[type-arg]
    """Corpus ids in the order of each document's best chunk (the file name is the corpus id)."""
    ranked: list[str] = []
    for hit in hits:
        corpus_id = hit.chunk.document.uri.removesuffix(".txt")
        if corpus_id not in ranked:
            ranked.append(corpus_id)
    return ranked


def evaluate(eval_set: EvalSet, source, reader, asked, relevant) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    from knowledge.selectors.search import SearchFilters, chunk_search
    from knowledge.services.embeddings import query_embed

    only_this_corpus = SearchFilters(source_ids=[source.pk])
    scores: dict[str, dict[str, float]] = {mode: {} for mode in MODES}
    for query_id, text in asked:
        vector = query_embed(text)  # once per question, shared by the modes
        for mode in MODES:
            by_depth: dict[int, list[str]] = {}
            for metric in eval_set.metrics:
                function, k = METRICS[metric]
                if k not in by_depth:
                    hits = chunk_search(
                        fetched_by=reader, query=text, k=k, filters=only_this_corpus, mode=mode, query_vector=vector
                    )
                    by_depth[k] = ranked_documents(hits)
                scores[mode][metric] = scores[mode].get(metric, 0.0) + function(by_depth[k], relevant[query_id])
    return {mode: {metric: total / len(asked) for metric, total in values.items()} for mode, values in scores.items()}


def bench_reader():  # type: ignore[no-untyped-def]
    """A knowledge admin, who may see every document: visibility is not what is measured here."""
    from accounts.models import Role, User

    reader, _ = User.objects.get_or_create(username="bench-quality", defaults={"role": Role.KNOWLEDGE_ADMIN})
    return reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="an ENCLAVE_EMBEDDING_MODEL value (repeatable; default all)")
    parser.add_argument("--set", choices=SET_NAMES, action="append", help="default: both")
    parser.add_argument("--queries", type=int, default=None, help="only the first N questions of each set")
    parser.add_argument("--smoke", action="store_true", help="the tiny smoke sets in a scratch database, one model")
    add_eval_dir_argument(parser)
    args = parser.parse_args()
    sets = eval_sets(eval_dir(parser, args))
    if args.smoke:
        with scratch_database(SMOKE_DATABASE), tempfile.TemporaryDirectory() as files:
            run(sets, [SMOKE_MODEL], args.set, args.queries, Path(files))
    else:
        setup_django()
        run(sets, args.model, args.set, args.queries)


def run(sets: dict[str, EvalSet], models, set_names, limit: int | None, files: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from knowledge.services.embeddings import MODELS

    reader = bench_reader()
    rows = []
    for model in models or list(MODELS):
        settings.ENCLAVE_EMBEDDING_MODEL = model
        for set_name in set_names or list(sets):
            eval_set = sets[set_name]
            relevant = relevant_documents(eval_set)
            asked = questions(eval_set, relevant, limit)
            source, ingest_seconds = corpus_source(eval_set, model, files)
            started = time.perf_counter()
            results = evaluate(eval_set, source, reader, asked, relevant)
            per_question_ms = 1000 * (time.perf_counter() - started) / len(asked)
            for mode in MODES:
                rows.append((eval_set, model, mode, results[mode], ingest_seconds, per_question_ms, len(asked)))
            print(f"done: {set_name} / {model}: " + json.dumps(results), file=sys.stderr, flush=True)
    print_table(rows)


def print_table(rows: list) -> None:  # type: ignore[type-arg]
    print(f"| {'set':<8} | {'model':<22} | {'mode':<8} | {'metric 1':>17} | {'metric 2':>17} | {'ingest s':>8} |")
    print(f"|{'-' * 10}|{'-' * 24}|{'-' * 10}|{'-' * 19}|{'-' * 19}|{'-' * 10}|")
    for eval_set, model, mode, values, ingest_seconds, _per_question_ms, _asked in rows:
        first, second = (f"{metric} {values[metric]:.3f}" for metric in eval_set.metrics)
        ingest = f"{ingest_seconds:.0f}"
        print(f"| {eval_set.name:<8} | {model:<22} | {mode:<8} | {first:>17} | {second:>17} | {ingest:>8} |")
    asked = {row[0].name: row[6] for row in rows}
    print("\nquestions: " + ", ".join(f"{name} {count:,}" for name, count in asked.items()))


if __name__ == "__main__":
    main()
