"""Ingestion speed on the SciFact corpus, beside the raw embedding rate of the same texts.

Writes each abstract as a text file into a scratch folder source, ingests it with the same service
the Celery worker runs (in this process, so the numbers exclude queueing), then embeds the very
chunk texts that were stored with a bare `model.encode` call for comparison. Uses the development
database (var/) and deletes its scratch source afterwards.

    .venv/bin/python bench/ingest.py                 # all 5,183 abstracts
    .venv/bin/python bench/ingest.py --limit 500
    .venv/bin/python bench/ingest.py --smoke      # six abstracts of bench/smoke_eval, in a scratch database
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from harness import add_eval_dir_argument, eval_dir, scratch_database, setup_django

CORPUS = Path("scifact") / "corpus.jsonl"
SMOKE_DATABASE = "enclave_smoke_ingest"


def write_corpus(corpus: Path, folder: Path, limit: int | None) -> int:
    count = 0
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            (folder / f"{record['_id']}.txt").write_text(f"{record['title']}\n\n{record['text']}", encoding="utf-8")
            count += 1
            if limit and count >= limit:
                break
    return count


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N abstracts")
    parser.add_argument("--smoke", action="store_true", help="the smoke corpus, in a database of its own")
    add_eval_dir_argument(parser)
    args = parser.parse_args()
    corpus = eval_dir(parser, args) / CORPUS
    if args.smoke:
        with scratch_database(SMOKE_DATABASE):
            measure(corpus, args.limit)
    else:
        setup_django()
        measure(corpus, args.limit)


def measure(corpus: Path, limit: int | None) -> None:
    from core.rls import acting_as_system
    from knowledge.models import Chunk, Source
    from knowledge.services.embeddings import encoder, passages_embed
    from knowledge.services.sources import source_ensure, source_sync, sync_run_ingest_inline

    encoder()  # load outside the timings, as a running worker has it loaded
    with tempfile.TemporaryDirectory() as scratch:
        documents = write_corpus(corpus, Path(scratch), limit)
        with acting_as_system():
            Source.objects.filter(name="bench: scifact").delete()
            source = source_ensure(name="bench: scifact", kind=Source.Kind.FOLDER, config={"path": scratch})
        run = source_sync(source_id=source.pk, enqueue=False)
        started = time.perf_counter()
        sync_run_ingest_inline(run, lambda document, result: None)
        pipeline_seconds = time.perf_counter() - started

    with acting_as_system():
        texts = list(Chunk.objects.filter(document__source=source).values_list("text", flat=True))
    started = time.perf_counter()
    passages_embed(texts)
    raw_seconds = time.perf_counter() - started
    with acting_as_system():
        Source.objects.filter(pk=source.pk).delete()

    chunks = len(texts)
    print(f"SciFact: {documents:,} documents -> {chunks:,} chunks; peak memory {peak_rss_mb():,.0f} MB\n")
    print(f"| {'what':<43} | {'seconds':>8} | {'documents/s':>11} | {'chunks/s':>9} |")
    print(f"|{'-' * 45}|{'-' * 10}|{'-' * 13}|{'-' * 11}|")
    print(f"| {'pipeline (read, parse, chunk, embed, store)':<43} | {pipeline_seconds:>8.1f} | "
          f"{documents / pipeline_seconds:>11.1f} | {chunks / pipeline_seconds:>9.1f} |")  # fmt: skip
    print(f"| {'raw model.encode of the same chunks':<43} | {raw_seconds:>8.1f} | {'':>11} | "
          f"{chunks / raw_seconds:>9.1f} |")  # fmt: skip
    print(f"\npipeline reaches {100 * raw_seconds / pipeline_seconds:.0f}% of the raw encode rate")


if __name__ == "__main__":
    main()
