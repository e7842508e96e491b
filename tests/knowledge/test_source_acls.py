"""ACLs read from a source decide who sees its documents when the source says so, and deny wins:
a deny entry for a user or one of their groups beats any allow, in search, listings, the reasons and
the who-can-see list, from the next question, without re-embedding anything."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.models import PermissionChange, User
from core.rls import acting_as, acting_as_system
from knowledge.models import Chunk, Document, Source
from knowledge.permissions import visibility
from knowledge.selectors.documents import document_list
from knowledge.selectors.search import chunk_search
from knowledge.services.acls import AclEntryRead, document_acl_replace
from knowledge.services.embeddings import current_model
from knowledge.services.grants import grant_create
from tests.conftest import People
from tests.factories import ChunkFactory, DocumentFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def share(people: People) -> Document:
    """A file on a share whose ACLs count: the hr group may read it."""
    with acting_as_system():
        source = SourceFactory.create(name="Share", permissions_from=Source.PermissionsFrom.SOURCE)
        document = DocumentFactory.create(source=source, title="Reorganisation plan")
        ChunkFactory.create(document=document, text="The reorganisation moves payroll to Lisbon.")
        document_acl_replace(
            document=document, entries=[AclEntryRead(allow=True, as_read="DOMAIN\\hr", group=people.hr)]
        )
    return document


def titles(user: User) -> set[str]:
    with acting_as(user):
        return {document.title for document in document_list(fetched_by=user)}


def found_by_search(user: User) -> bool:
    vector = [1.0] * current_model().dimensions  # which chunks may come back is the question, not their rank
    hits = chunk_search(fetched_by=user, query="", query_vector=vector, k=50, mode="dense")
    return any(hit.chunk.document.title == "Reorganisation plan" for hit in hits)


def test_an_allow_entry_admits_the_group_and_nobody_else(people: People, share: Document) -> None:
    assert "Reorganisation plan" in titles(people.bob) and found_by_search(people.bob)
    assert "Reorganisation plan" not in titles(people.charlie) and not found_by_search(people.charlie)
    assert visibility.reasons(people.bob, share) == ["allowed by the source's ACL through DOMAIN\\hr (allow)"]


def test_a_deny_entry_beats_an_allow_through_another_group_and_an_enclave_grant(
    people: People, share: Document
) -> None:
    contractors = Group.objects.create(name="contractors")
    people.bob.groups.add(contractors)
    with acting_as_system():
        grant_create(user=people.bob, document=share)
        document_acl_replace(
            document=share,
            entries=[
                AclEntryRead(allow=True, as_read="DOMAIN\\hr", group=people.hr),
                AclEntryRead(allow=False, as_read="DOMAIN\\Contractors", group=contractors, inherited_from="\\Reports"),
            ],
        )
    assert "Reorganisation plan" not in titles(people.bob) and not found_by_search(people.bob)
    assert visibility.reasons(people.bob, share) == []
    assert visibility.denials(people.bob, share) == [
        "denied by the source's ACL through DOMAIN\\Contractors (deny, inherited from \\Reports)"
    ]
    assert people.bob not in visibility.audience(share).users
    assert "Reorganisation plan" in titles(people.admin)  # knowledge admins are never denied


def test_an_acl_change_applies_to_chunks_without_touching_their_vectors(people: People, share: Document) -> None:
    with acting_as_system():
        before = list(Chunk.objects.filter(document=share).values_list("embedding_model", "text"))
        document_acl_replace(document=share, entries=[AclEntryRead(allow=False, as_read="Everyone", everyone=True)])
        assert list(Chunk.objects.filter(document=share).values_list("denied", flat=True)) == [["staff"]]
        assert list(Chunk.objects.filter(document=share).values_list("embedding_model", "text")) == before
    assert not found_by_search(people.bob) and "Reorganisation plan" not in titles(people.bob)


def test_the_same_acl_again_writes_nothing(share: Document, people: People) -> None:
    with acting_as_system():
        again = document_acl_replace(
            document=share, entries=[AclEntryRead(allow=True, as_read="DOMAIN\\hr", group=people.hr)]
        )
    assert again is False
    assert PermissionChange.objects.filter(action=PermissionChange.Action.ACL_CHANGED).count() == 1


def test_acls_do_not_count_where_permissions_come_from_grants(people: People, share: Document) -> None:
    with acting_as_system():
        Source.objects.filter(pk=share.source_id).update(permissions_from=Source.PermissionsFrom.GRANTS)
        share.source.refresh_from_db()
        share.source.save()  # the trigger recomputes on the source's change
    assert "Reorganisation plan" not in titles(people.bob)


def test_an_entry_mapping_to_nobody_admits_no_one_and_is_kept(people: People, share: Document) -> None:
    with acting_as_system():
        document_acl_replace(document=share, entries=[AclEntryRead(allow=True, as_read="S-1-5-21-1-2-3-1107")])
    assert "Reorganisation plan" not in titles(people.bob)
    assert [str(entry) for entry in share.acl_entries.all()] == ["allow S-1-5-21-1-2-3-1107"]


def test_who_can_see_names_the_acl_entries_and_who_is_shut_out(people: People, share: Document) -> None:
    from django.test import Client

    contractors = Group.objects.create(name="contractors")
    with acting_as_system():
        document_acl_replace(
            document=share,
            entries=[
                AclEntryRead(allow=True, as_read="DOMAIN\\hr", group=people.hr, inherited_from="\\Reports"),
                AclEntryRead(allow=False, as_read="DOMAIN\\Contractors", group=contractors),
                AclEntryRead(allow=True, as_read="S-1-5-21-9-9-9-1107"),
            ],
        )
    admin = Client()
    admin.force_login(people.admin)
    page = admin.get(f"/admin/knowledge/document/{share.pk}/audience/").content.decode()
    assert "group hr" in page and "\\Reports" in page
    assert "denied by the source&#x27;s ACL through DOMAIN\\Contractors (deny)" in page
    assert "nobody: it maps to no Enclave user or group" in page
    api = admin.get(f"/api/v1/documents/{share.pk}/audience").json()
    assert api["acl_counts"] is True
    assert [entry["became"] for entry in api["acl"]] == [
        "group hr",
        "group contractors",
        "nobody: it maps to no Enclave user or group",
    ]


def test_switching_a_source_to_its_own_acls_over_the_api_applies_and_is_recorded(people: People) -> None:
    from django.test import Client

    with acting_as_system():
        source = SourceFactory.create(name="Projects")
        document = DocumentFactory.create(source=source, title="Project Falcon")
        document_acl_replace(document=document, entries=[AclEntryRead(allow=True, as_read="bob", user=people.bob)])
    assert "Project Falcon" not in titles(people.bob)  # the ACL is read but grants decide
    admin = Client()
    admin.force_login(people.admin)
    response = admin.patch(
        f"/api/v1/sources/{source.pk}", {"permissions_from": "source"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert "Project Falcon" in titles(people.bob)
    entry = PermissionChange.objects.get(action=PermissionChange.Action.PERMISSIONS_FROM_CHANGED)
    assert (entry.changed_by, entry.what) == (people.admin, "source 'Projects'")
