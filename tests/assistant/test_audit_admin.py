"""The question log in the admin console: narrowed by document, exported as CSV, admins only."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from accounts.models import User
from assistant.models import QuestionLog
from tests.conftest import Corpus, People

pytestmark = pytest.mark.django_db

LOG = "/admin/assistant/questionlog/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def log(people: People, corpus: Corpus) -> list[QuestionLog]:
    return [
        QuestionLog.objects.create(
            username="bob", question="What are the salary bands?", status="answered",
            retrieved_document_ids=[corpus.salaries.pk, corpus.notice.pk], cited_document_ids=[corpus.salaries.pk],
        ),
        QuestionLog.objects.create(
            username="charlie", question="=HYPERLINK(\"http://evil\")", status="refused",
            retrieved_document_ids=[corpus.notice.pk],
        ),
        QuestionLog.objects.create(username="alice", question="年假有多少天？", status="passages"),
    ]  # fmt: skip


def test_the_log_is_narrowed_to_the_questions_that_retrieved_a_document(
    people: People, corpus: Corpus, log: list[QuestionLog]
) -> None:
    admin = signed_in(people.admin)
    page = admin.get(LOG).content.decode()
    assert "Salary bands" in page  # offered in the "document retrieved" filter
    narrowed = admin.get(LOG, {"document": str(corpus.salaries.pk)}).content.decode()
    assert "What are the salary bands?" in narrowed and "HYPERLINK" not in narrowed and "年假" not in narrowed


def test_knowledge_admins_export_the_log_as_csv_that_no_spreadsheet_runs(
    people: People, log: list[QuestionLog]
) -> None:
    response = signed_in(people.admin).post(
        LOG, {"action": "export_csv", "_selected_action": [entry.pk for entry in log]}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["asked_at", "username", "channel", "status", "question"]
    questions = [row[4] for row in rows[1:]]
    assert questions == ["What are the salary bands?", '\'=HYPERLINK("http://evil")', "年假有多少天？"]
    assert rows[1][6] == f"{log[0].retrieved_document_ids[0]} {log[0].retrieved_document_ids[1]}"


def test_staff_cannot_export_the_log(people: People, log: list[QuestionLog]) -> None:
    response = signed_in(people.bob).post(LOG, {"action": "export_csv", "_selected_action": [log[0].pk]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
