"""How should "who may see this chunk" be stored? Measures two representations at scale.

  A. denormalised: chunks.principals text[] with a GIN index, filtered with `principals && $mine`
  B. normalised: no copy on chunks; each query joins documents and checks grants (EXISTS) per row

It builds a scratch database (enclave_bench) on the embedded server, fills it with synthetic
documents, chunks, groups and grants, and times three things for a narrow user (sees ~1% of
chunks) and a broad one (~50%): counting the visible chunks, taking the best 10 by a ranking column
(the shape of a vector search with the filter inside), and the cost of a grant change on a source.

    .venv/bin/python bench/visibility_representation.py --chunks 1000000
    .venv/bin/python bench/visibility_representation.py --smoke    # 2,000 chunks, in seconds
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import psycopg
from harness import database_drop, database_recreate, server_connection

DATABASE = "enclave_bench"
SMOKE_DATABASE = "enclave_smoke_visibility"
SCHEMA = """
DROP TABLE IF EXISTS chunks, documents, grants, memberships;
CREATE TABLE documents (id int PRIMARY KEY, source_id int NOT NULL, principals text[] NOT NULL);
CREATE TABLE chunks (id int PRIMARY KEY, document_id int NOT NULL, score float8 NOT NULL,
                     principals text[] NOT NULL);
CREATE TABLE grants (user_id int, group_id int, source_id int, document_id int);
CREATE TABLE memberships (user_id int, group_id int);
"""


def fill(conn: psycopg.Connection, chunks: int, per_document: int, sources: int) -> None:
    documents = chunks // per_document
    conn.execute(SCHEMA)
    # Group g is granted source g (200 sources, 200 groups), so a member of one group sees 1/200 of
    # the corpus; user 2 is in half the groups (the broad user), user 1 in group 0 (the narrow one).
    conn.execute("INSERT INTO grants (group_id, source_id) SELECT g, g FROM generate_series(0, %s - 1) g", [sources])
    conn.execute("INSERT INTO memberships VALUES (1, 0)")
    conn.execute("INSERT INTO memberships SELECT 2, g FROM generate_series(0, %s / 2 - 1) g", [sources])
    conn.execute(
        "INSERT INTO documents SELECT d, d %% %s, ARRAY['g:' || (d %% %s)] FROM generate_series(0, %s - 1) d",
        [sources, sources, documents],
    )
    conn.execute(
        "INSERT INTO chunks SELECT c, c / %s, random(), ARRAY['g:' || ((c / %s) %% %s)]"
        " FROM generate_series(0, %s - 1) c",
        [per_document, per_document, sources, chunks],
    )
    conn.execute("CREATE INDEX ON chunks USING gin (principals)")
    conn.execute("CREATE INDEX ON chunks (score)")
    conn.execute("CREATE INDEX ON chunks (document_id)")
    conn.execute("CREATE INDEX ON documents (source_id)")
    conn.execute("CREATE INDEX ON grants (source_id)")
    conn.execute("CREATE INDEX ON grants (document_id)")
    conn.execute("ANALYZE")


def principals(conn: psycopg.Connection, user_id: int) -> list[str]:
    rows = conn.execute("SELECT group_id FROM memberships WHERE user_id = %s", [user_id]).fetchall()
    return [f"u:{user_id}", *(f"g:{row[0]}" for row in rows)]


NORMALISED_FILTER = """
EXISTS (SELECT 1 FROM documents d JOIN grants g ON g.document_id = d.id OR g.source_id = d.source_id
        WHERE d.id = c.document_id
          AND (g.user_id = %(user)s OR g.group_id IN (SELECT group_id FROM memberships WHERE user_id = %(user)s)))
"""
QUERIES = {
    ("A array", "count"): "SELECT count(*) FROM chunks c WHERE principals && %(mine)s",
    ("A array", "top 10"): "SELECT id FROM chunks c WHERE principals && %(mine)s ORDER BY score LIMIT 10",
    ("B join", "count"): f"SELECT count(*) FROM chunks c WHERE {NORMALISED_FILTER}",  # noqa: S608
    ("B join", "top 10"): f"SELECT id FROM chunks c WHERE {NORMALISED_FILTER} ORDER BY score LIMIT 10",  # noqa: S608
}


def fetch_all(conn: psycopg.Connection, sql: str, params: dict[str, object]) -> list[tuple[object, ...]]:
    return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def timed(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--per-document", type=int, default=50)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a tiny run, in a database of its own")
    args = parser.parse_args()
    database = DATABASE
    if args.smoke:
        args.chunks, args.per_document, args.sources, args.repeats, database = 2000, 10, 20, 1, SMOKE_DATABASE

    database_recreate(database)
    try:
        with server_connection(database) as conn:
            measure(conn, args)
    finally:
        database_drop(database)


def measure(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    fill(conn, args.chunks, args.per_document, args.sources)
    print(f"built {args.chunks:,} chunks in {time.perf_counter() - started:.1f} s\n")
    print(f"| {'representation':<14} | {'query':<7} | {'user':<15} | {'visible':>9} | {'median ms':>9} |")
    print(f"|{'-' * 16}|{'-' * 9}|{'-' * 17}|{'-' * 11}|{'-' * 11}|")
    for user_id, label in ((1, f"narrow ({100 / args.sources:g}%)"), (2, "broad (50%)")):
        params = {"mine": principals(conn, user_id), "user": user_id}
        visible = conn.execute(QUERIES[("A array", "count")], params).fetchone()[0]  # type: ignore[index]
        for (representation, query), sql in QUERIES.items():
            ms = timed(partial(fetch_all, conn, sql, params), args.repeats)
            print(f"| {representation:<14} | {query:<7} | {label:<15} | {visible:>9,} | {ms:>9.1f} |")
    source_chunks = args.chunks // args.sources
    ms = timed(
        lambda: conn.execute(
            "UPDATE chunks SET principals = principals || 'u:9'::text WHERE document_id IN "
            "(SELECT id FROM documents WHERE source_id = 3)"
        ),
        1,
    )
    print(f"\ngrant change on one source rewrites {source_chunks:,} chunk rows (A only): {ms:.0f} ms")


if __name__ == "__main__":
    main()
