"""chunk_search at scale: latency and recall of the permission-filtered vector search.

Builds a scratch database (enclave_scale) on the embedded server with the real schema, 1,000
users, 200 groups, 100 sources and N synthetic clustered 384-d chunks (COPY, not the ORM). Three
measured users may see 100%, 10% and 1% of the chunks through group grants. For each, it times
`chunk_search(mode="dense")` with precomputed query vectors and compares its top 10 with the exact
filtered answer from a sequential scan.

    .venv/bin/python bench/retrieval_scale.py --chunks 100000
    .venv/bin/python bench/retrieval_scale.py --chunks 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "enclave_scale"  # the default of --database; another name keeps corpora of two sizes
SOURCES, GROUPS, USERS, DIMENSIONS, CLUSTERS = 100, 200, 1000, 384, 200
MODEL = "multilingual-e5-small"


GRANT_GROUP_SOURCE = (
    "INSERT INTO knowledge_grant (group_id, source_id, created_at) VALUES ("
    "(SELECT id FROM auth_group WHERE name = 'group' || %s), "
    "(SELECT id FROM knowledge_source WHERE name = 'source' || %s), now())"
)
ADD_TO_GROUP = (
    "INSERT INTO accounts_user_groups (user_id, group_id) "
    "VALUES (%s, (SELECT id FROM auth_group WHERE name = 'group' || %s))"
)


def setup_django(database: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["ENCLAVE_DATABASE_NAME"] = database
    os.environ["ENCLAVE_EMBEDDING_MODEL"] = MODEL  # the chunks claim to come from it; its index is 384-d
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def recreate_database(database: str) -> None:
    import psycopg

    from config import embedded_db

    host = embedded_db.ensure_running(ROOT / "var")
    with psycopg.connect(host=host, dbname="postgres", user=embedded_db.OWNER_ROLE, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def owner_connection(database: str):  # type: ignore[no-untyped-def]
    import psycopg
    from pgvector.psycopg import register_vector

    from config import embedded_db

    host = embedded_db.ensure_running(ROOT / "var")
    conn = psycopg.connect(host=host, dbname=database, user=embedded_db.OWNER_ROLE, autocommit=True)
    register_vector(conn)
    return conn


def people_and_grants(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Group g < 100 is granted source g (1%); 100..109 ten sources each (10%); 110 all (100%)."""
    conn.execute(
        "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
        " is_active, date_joined, role) SELECT '!', false, 'user' || n, '', '', '', false, true, now(), 'staff'"
        " FROM generate_series(1, %s) n",
        [USERS],
    )
    conn.execute("INSERT INTO auth_group (name) SELECT 'group' || g FROM generate_series(0, %s - 1) g", [GROUPS])
    conn.execute(
        "INSERT INTO knowledge_source (name, kind, config, visible_to_all_staff, created_at, updated_at)"
        " SELECT 'source' || s, 'folder', '{}', false, now(), now() FROM generate_series(0, %s - 1) s",
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
        "INSERT INTO knowledge_document (source_id, title, uri, checksum, status, error, metadata, size_bytes,"
        " visible_to_all_staff, principals, created_at, updated_at)"
        " SELECT (SELECT id FROM knowledge_source WHERE name = 'source' || (d %% %s)), 'doc ' || d, 'doc' || d,"
        " '', 'ready', '', '{\"format\": \"txt\"}', 0, false, '{}', now(), now() FROM generate_series(0, %s - 1) d",
        [SOURCES, documents],
    )
    first_document = conn.execute("SELECT min(id) FROM knowledge_document").fetchone()[0]
    centers = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)
    from knowledge.services.embeddings import current_model
    from knowledge.vector_index import vector_index_name

    # Built once at the end: far faster than row by row.
    conn.execute(f"DROP INDEX {vector_index_name(current_model())}")
    with conn.cursor().copy(
        "COPY knowledge_chunk (document_id, ordinal, text, metadata, embedding, embedding_model, principals)"
        " FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int4", "text", "jsonb", "vector", "varchar", "text[]"])
        for start in range(0, count, 10000):
            size = min(10000, count - start)
            vectors = centers[rng.integers(0, CLUSTERS, size)] + 0.6 * rng.normal(size=(size, DIMENSIONS))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            for i, vector in enumerate(vectors.astype(np.float32)):
                n = start + i
                copy.write_row([first_document + n // per_document, n % per_document, "", "{}", vector, MODEL, []])
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
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    setup_django(args.database)
    if args.reuse:
        conn = owner_connection(args.database)
        users = {label: conn.execute("SELECT id FROM accounts_user WHERE username = %s", [f"user{n}"]).fetchone()[0]
                 for n, label in enumerate(("100%", "10%", "1%"), start=1)}  # fmt: skip
        centers = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)  # the same draw as the build
    else:
        recreate_database(args.database)
        conn = owner_connection(args.database)
        started = time.perf_counter()
        users = people_and_grants(conn)
        centers = chunks(conn, args.chunks, args.per_document, rng)
        loaded = time.perf_counter() - started
        build_index(conn)
        built = time.perf_counter() - started - loaded
        print(f"{args.chunks:,} chunks: loaded in {loaded:.0f} s, HNSW index built in {built:.0f} s\n")

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
