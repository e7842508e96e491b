"""PostgreSQL row-level security, the second wall: it holds even when the application's filter is skipped."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, connections, transaction

from core.rls import acting_as, acting_as_system
from knowledge.models import Chunk, Document
from tests.conftest import Corpus, People

pytestmark = pytest.mark.django_db


def raw_ids(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table}")  # noqa: S608 - fixed table names
        return {row[0] for row in cursor.fetchall()}


def test_the_runtime_role_is_not_privileged_and_owns_no_table(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        assert cursor.fetchone() == (0,)
    assert connection.settings_dict["USER"] != connections["owner"].settings_dict["USER"]


def test_with_no_user_set_no_document_or_chunk_row_is_readable(corpus: Corpus) -> None:
    with acting_as_system():
        assert len(raw_ids("knowledge_document")) == 3
        assert len(raw_ids("knowledge_chunk")) == 5
    assert raw_ids("knowledge_document") == set()
    assert raw_ids("knowledge_chunk") == set()
    assert Document.objects.count() == 0  # the ORM without any filter, too


def test_raw_sql_as_charlie_returns_none_of_alices_rows(people: People, corpus: Corpus) -> None:
    with acting_as(people.charlie):
        assert raw_ids("knowledge_document") == {corpus.notice.pk}
        assert Document.objects.filter(pk=corpus.salaries.pk).count() == 0
        assert not Chunk.objects.filter(document=corpus.salaries).exists()
    with acting_as(people.alice):
        assert corpus.salaries.pk in raw_ids("knowledge_document")


def test_nearest_neighbour_search_that_skips_the_filter_still_hides_rows(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        salary_chunk = Chunk.objects.filter(document=corpus.salaries).first()
    assert salary_chunk is not None and salary_chunk.embedding is not None
    with acting_as(people.charlie), connection.cursor() as cursor:
        cursor.execute(
            "SELECT document_id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 10",
            [str(list(salary_chunk.embedding))],
        )
        assert {row[0] for row in cursor.fetchall()} == {corpus.notice.pk}


def test_staff_cannot_write_documents_or_chunks_even_for_themselves(people: People, corpus: Corpus) -> None:
    with acting_as(people.alice):
        forged_insert = (
            "INSERT INTO knowledge_document (source_id, title, uri, checksum, status, error, metadata,"
            " size_bytes, visible_to_all_staff, principals, created_at, updated_at)"
            " VALUES (%s, 'Forged', 'forged.txt', '', 'ready', '', '{}', 0, true, '{}', now(), now())"
        )
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(forged_insert, [corpus.handbook.pk])
        assert Document.objects.filter(pk=corpus.salaries.pk).update(title="Changed") == 0
        assert Chunk.objects.filter(document=corpus.salaries).delete()[0] == 0
    with acting_as_system():
        assert Document.objects.get(pk=corpus.salaries.pk).title == "Salary bands"


def test_a_forged_principals_column_is_recomputed_by_the_database(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        Document.objects.filter(pk=corpus.memo.pk).update(principals=["staff"])
        assert Document.objects.get(pk=corpus.memo.pk).principals == ["*", f"u:{people.alice.pk}"]
    with acting_as(people.charlie):
        assert raw_ids("knowledge_document") == {corpus.notice.pk}


def test_settings_do_not_outlive_the_block(people: People, corpus: Corpus) -> None:
    with acting_as(people.alice):
        with acting_as(people.charlie):
            assert raw_ids("knowledge_document") == {corpus.notice.pk}
        assert len(raw_ids("knowledge_document")) == 3
    assert raw_ids("knowledge_document") == set()
