"""chunk_search at scale: latency and recall of the permission-filtered vector search.

Builds a scratch database (enclave_scale) on the embedded server with the real schema, 1,000
users, 200 groups, 100 sources and N synthetic clustered 384-d chunks (COPY, not the ORM). Three
measured users may see 100%, 10% and 1% of the chunks through group grants. For each, it times
`chunk_search(mode="dense")` with precomputed query vectors and compares its top 10 with the exact
filtered answer from a sequential scan.

    .venv/bin/python bench/retrieval_scale.py --chunks 100000
    .venv/bin/python bench/retrieval_scale.py --chunks 1000000
    .venv/bin/python bench/retrieval_scale.py --smoke     # 2,000 chunks; its database is dropped afterwards
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from harness import database_drop, database_migrate, database_recreate, model_defaults_in_database, setup_django

DATABASE = "enclave_scale"  # the default of --database; another name keeps corpora of two sizes
SMOKE_DATABASE = "enclave_smoke_scale"
SOURCES, GROUPS, USERS, DIMENSIONS, CLUSTERS = 100, 200, 1000, 384, 200
MODEL = "multilingual-e5-small"

# The raw SQL names only the columns it sets; model_defaults_in_database gives the others their defaults.
GRANT_GROUP_SOURCE = (
    "INSERT INTO knowledge_grant (group_id, source_id) VALUES ("
    "(SELECT id FROM auth_group WHERE name = 'group' || %s), "
    "(SELECT id FROM knowledge_source WHERE name = 'source' || %s))"
)
ADD_TO_GROUP = (
    "INSERT INTO accounts_user_groups (user_id, group_id) "
    "VALUES (%s, (SELECT id FROM auth_group WHERE name = 'group' || %s))"
)


def owner_connection(database: str):  # type: ignore[no-untyped-def]
    from harness import server_connection
    from pgvector.psycopg import register_vector

    conn = server_connection(database)
    register_vector(conn)
    return conn


def people_and_grants(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Group g < 100 is granted source g (1%); 100..109 ten sources each (10%); 110 all (100%)."""
    conn.execute(
        "INSERT INTO accounts_user (username, password) SELECT 'user' || n, '!' FROM generate_series(1, %s) n",
        [USERS],
    )
    conn.execute("INSERT INTO auth_group (name) SELECT 'group' || g FROM generate_series(0, %s - 1) g", [GROUPS])
    conn.execute(
        "INSERT INTO knowledge_source (name, kind) SELECT 'source' || s, 'folder' FROM generate_series(0, %s - 1) s",
        [SOURCES],
    )
    for g in range(SOURCES):
        conn.execute(GRANT_GROUP_SOURCE, [g, g])
    for block in range(10):
        for source in range(block * 10, block * 10 + 10):
            conn.execute(GRANT_GROUP_SOURCE, [100 + block, source])
    for source in range(SOURCES):
        conn.execute(GRANT_GROUP_SOURCE, [110, source])
    # Everyone else is in two random groups of the rest, so memberships look lived-in.
    conn.execute(
        "INSERT INTO accounts_user_groups (user_id, group_id) SELECT u.id, g.id FROM accounts_user u"
        " CROSS JOIN generate_series(0, 1) k JOIN auth_group g ON g.name = 'group' || (111 + (u.id * 7 + k * 13) % 89)"
        " ON CONFLICT DO NOTHING"
    )
    measured = {"100%": 110, "10%": 100, "1%": 0}
    users: dict[str, int] = {}
    for label, g in measured.items():
        user_id = conn.execute(
            "SELECT id FROM accounts_user WHERE username = %s", [f"user{len(users) + 1}"]
        ).fetchone()[0]
        conn.execute(ADD_TO_GROUP, [user_id, g])
        users[label] = user_id
    return users


def chunks(conn, count: int, per_document: int, rng: np.random.Generator) -> np.ndarray:  # type: ignore[no-untyped-def]
    documents = count // per_document
    conn.execute(
        "INSERT INTO knowledge_document (source_id, title, uri, status, metadata)"
        " SELECT (SELECT id FROM knowledge_source WHERE name = 'source' || (d %% %s)), 'doc ' || d, 'doc' || d,"
        " 'ready', '{\"format\": \"txt\"}' FROM generate_series(0, %s - 1) d",
        [SOURCES, documents],
    )
    first_document = conn.execute("SELECT min(id) FROM knowledge_document").fetchone()[0]
    centers = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)
    from knowledge.services.embeddings import current_model
    from knowledge.vector_index import vector_index_name

    # Built once at the end: far faster than row by row.
    conn.execute(f"DROP INDEX {vector_index_name(current_model())}")
    with conn.cursor().copy(
        "COPY knowledge_chunk (document_id, ordinal, text, embedding, embedding_model) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int4", "text", "vector", "varchar"])
        for start in range(0, count, 10000):
            size = min(10000, count - start)
            vectors = centers[rng.integers(0, CLUSTERS, size)] + 0.6 * rng.normal(size=(size, DIMENSIONS))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            for i, vector in enumerate(vectors.astype(np.float32)):
                n = start + i
                copy.write_row([first_document + n // per_document, n % per_document, "", vector, MODEL])
    return centers


def build_index(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute("SET maintenance_work_mem = '4GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    from knowledge.services.embeddings import current_model
    from knowledge.vector_index import vector_index_sql

    conn.execute(vector_index_sql(current_model()))  # the very index `migrate` creates
    conn.execute("VACUUM ANALYZE knowledge_chunk")


def exact_top10(conn, principals: list[str], vector: np.ndarray) -> list[int]:  # type: ignore[no-untyped-def]
    conn.execute("SET enable_indexscan = off")
    rows = conn.execute(
        "SELECT id FROM knowledge_chunk WHERE principals && %s ORDER BY embedding <=> %s LIMIT 10",
        [principals, vector],
    ).fetchall()
    conn.execute("RESET enable_indexscan")
    return [row[0] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--per-document", type=int, default=100)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="query the corpus the previous run built")
    parser.add_argument("--database", default=DATABASE, help="the scratch database (dropped and rebuilt)")
    parser.add_argument("--smoke", action="store_true", help="a tiny run, in a database of its own that is dropped")
    args = parser.parse_args()
    if args.smoke:
        args.chunks, args.per_document, args.queries, args.database, args.reuse = 2000, 10, 3, SMOKE_DATABASE, False
        # So few chunks would send every user to the exact scan; a lower limit sends the two broad
        # ones through the HNSW index, as at full size, so both paths of chunk_search run.
        os.environ["ENCLAVE_EXACT_SEARCH_MAX_ROWS"] = "100"
    os.environ["ENCLAVE_EMBEDDING_MODEL"] = MODEL  # the chunks claim to come from it; its index is 384-d
    setup_django(args.database)
    try:
        measure(args)
    finally:
        if args.smoke:
            database_drop(args.database)


def build(args: argparse.Namespace, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """A new corpus in the scratch database: its connection, the measured users and the cluster centers."""
    database_recreate(args.database)
    database_migrate()
    conn = owner_connection(args.database)
    started = time.perf_counter()
    with model_defaults_in_database():
        users = people_and_grants(conn)
        centers = chunks(conn, args.chunks, args.per_document, rng)
    loaded = time.perf_counter() - started
    build_index(conn)
    built = time.perf_counter() - started - loaded
    print(f"{args.chunks:,} chunks: loaded in {loaded:.0f} s, HNSW index built in {built:.0f} s\n")
    return conn, users, centers


def measure(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(7)
    if args.reuse:
        conn = owner_connection(args.database)
        users = {label: conn.execute("SELECT id FROM accounts_user WHERE username = %s", [f"user{n}"]).fetchone()[0]
                 for n, label in enumerate(("100%", "10%", "1%"), start=1)}  # fmt: skip
        centers = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)  # the same draw as the build
    else:
        conn, users, centers = build(args, rng)
    with conn:
        print_table(args, conn, users, centers, rng)


def print_table(args, conn, users: dict[str, int], centers: np.ndarray, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    from accounts.models import User
    from knowledge.permissions import principals_of
    from knowledge.selectors.search import chunk_search

    queries = centers[rng.integers(0, CLUSTERS, args.queries)] + 0.6 * rng.normal(size=(args.queries, DIMENSIONS))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    print(f"| {'chunks':>9} | {'user sees':>9} | {'visible':>9} | {'p50 ms':>7} | {'p95 ms':>7} | {'recall@10':>9} |")
    print(f"|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 11}|")
    # Every search first, then every exact answer: the exact answers are sequential scans of the
    # whole table, which would evict the index from the cache between timed searches if interleaved.
    measured = {}
    for label, user_id in users.items():
        user = User.objects.get(pk=user_id)
        timings, found = [], []
        for vector in queries:
            t = time.perf_counter()
            hits = chunk_search(fetched_by=user, query="", query_vector=vector.tolist(), k=10, mode="dense")
            timings.append((time.perf_counter() - t) * 1000)
            found.append({h.chunk.pk for h in hits})
        measured[label] = (principals_of(user), timings, found)
    for label, (principals, timings, found) in measured.items():
        visible = conn.execute("SELECT count(*) FROM knowledge_chunk WHERE principals && %s", [principals]).fetchone()[
            0
        ]
        recalls = []
        for vector, found_ids in zip(queries, found, strict=True):
            exact = exact_top10(conn, principals, vector.astype(np.float32))
            recalls.append(len(found_ids & set(exact)) / max(len(exact), 1))
        p50, p95 = statistics.median(timings), sorted(timings)[int(0.95 * (len(timings) - 1))]
        recall = statistics.mean(recalls)
        print(f"| {args.chunks:>9,} | {label:>9} | {visible:>9,} | {p50:>7.1f} | {p95:>7.1f} | {recall:>9.3f} |")


if __name__ == "__main__":
    main()
