"""One HNSW index per embedding model, over just that model's chunks.

The embedding column has no fixed dimension, because the selectable models differ (384, 512), and
pgvector indexes only fixed-dimension vectors. So each model gets a partial expression index:

    CREATE INDEX ... USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WHERE embedding_model = 'multilingual-e5-small'

and search filters on the model and orders by the same expression, which is what lets the planner
use the index (and what keeps a query from ever being compared with another model's vectors).
The index of the configured model is created after every `migrate`; switching models means
setting ENCLAVE_EMBEDDING_MODEL, running `migrate`, then re-ingesting. An index built with other
build settings than HNSW_M / HNSW_EF_CONSTRUCTION is rebuilt by `migrate` (minutes per million
chunks: the 1M bench corpus took about 20 minutes on 2 cores).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connections
from psycopg import sql

from knowledge.services.embeddings import EmbeddingModel, current_model

# Above pgvector's defaults (16, 64): at 1M chunks those reached recall@10 of only 0.91 even with
# ef_search 800; a denser graph reaches 0.95 at a lower ef_search, so search is faster too, for
# about twice the build time (bench/retrieval_scale.py).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128


def vector_index_name(model: EmbeddingModel) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model.name.lower()).strip("_")
    return f"chunk_embedding_hnsw_{slug}"[:63]


def vector_expression(model: EmbeddingModel, column: str = "embedding") -> str:
    """The expression the index is built on; a query must order by exactly this to use it."""
    return f"({column}::vector({int(model.dimensions)}))"


def vector_index_sql(model: EmbeddingModel) -> str:
    return (
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {name} ON knowledge_chunk USING hnsw ({expression} vector_cosine_ops) "
            "WITH (m = {m}, ef_construction = {ef}) WHERE embedding_model = {model}"
        )
        .format(
            name=sql.Identifier(vector_index_name(model)),
            expression=sql.SQL(vector_expression(model)),
            m=sql.Literal(HNSW_M),
            ef=sql.Literal(HNSW_EF_CONSTRUCTION),
            model=sql.Literal(model.name),
        )
        .as_string()
    )


def vector_index_ensure(*, using: str, **_: Any) -> None:
    """post_migrate: make sure the configured model's index exists with the current build settings."""
    model = current_model()
    with connections[using].cursor() as cursor:
        name = vector_index_name(model)
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s AND relkind = 'i'", [name])
        row = cursor.fetchone()
        if row is not None and sorted(row[0] or []) != _build_options():
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)).as_string())
        cursor.execute(vector_index_sql(model))


def _build_options() -> list[str]:
    """The index's reloptions as PostgreSQL lists them, to tell whether it was built as configured."""
    return sorted([f"m={HNSW_M}", f"ef_construction={HNSW_EF_CONSTRUCTION}"])
