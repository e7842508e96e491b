"""The HNSW index follows its configured build settings: `migrate` rebuilds one built otherwise."""

from __future__ import annotations

import pytest
from django.db import connections

from knowledge.services.embeddings import current_model
from knowledge.vector_index import HNSW_EF_CONSTRUCTION, HNSW_M, vector_index_ensure, vector_index_name

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def index_options() -> list[str]:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [vector_index_name(current_model())])
        row = cursor.fetchone()
        return sorted(row[0]) if row else []


def test_an_index_built_with_other_settings_is_rebuilt_with_the_configured_ones() -> None:
    assert index_options() == sorted([f"m={HNSW_M}", f"ef_construction={HNSW_EF_CONSTRUCTION}"])
    name = vector_index_name(current_model())
    with connections["owner"].cursor() as cursor:  # as an older release built it
        cursor.execute(f'ALTER INDEX "{name}" SET (m = 16)')
        cursor.execute(f'ALTER INDEX "{name}" SET (ef_construction = 64)')
    assert index_options() == ["ef_construction=64", "m=16"]

    vector_index_ensure(using="owner")

    assert index_options() == sorted([f"m={HNSW_M}", f"ef_construction={HNSW_EF_CONSTRUCTION}"])
