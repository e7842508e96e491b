from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from accounts.models import Role, User
from core.rls import acting_as_system
from knowledge.models import Document, Source
from knowledge.services.grants import grant_create
from tests.factories import ChunkFactory, DocumentFactory, GroupFactory, SourceFactory, UserFactory
from tests.knowledge.helpers import folder_source, sync_inline

pytest_plugins = ["tests.worker", "tests.accounts.ldap_fixtures"]


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Create and migrate the test database as the owner role; tests then run as the runtime role.

    pytest-django would set up only the aliases tests ask for ("default"), but "default" is a
    mirror of "owner" (see config/settings.py), so the owner alias must be set up explicitly.
    """
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        # Django takes any collection of aliases; its stubs ask for a Mapping.
        config = setup_databases(verbosity=0, interactive=False, aliases={"default", "owner"})  # type: ignore[arg-type]
    yield
    with django_db_blocker.unblock():
        connections.close_all()  # the owner cannot drop a database the runtime role is connected to
        teardown_databases(config, verbosity=0)


@pytest.fixture(autouse=True)
def small_answering_model(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests answer with SmolLM2-135M (`make test-model`): fast, and as prone to invent as any."""
    settings.ENCLAVE_LLM_MODEL = "smollm2-135m"
    settings.ENCLAVE_LLM_URL = ""


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    # PBKDF2 costs ~0.5 s a user on these machines; tests make many users and test no hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def system(db: None) -> Iterator[None]:
    """Everything in the test body may write documents and chunks, as ingestion does."""
    with acting_as_system():
        yield


@dataclass
class People:
    alice: User  # granted directly
    bob: User  # in a granted group
    charlie: User  # outsider
    admin: User  # knowledge admin
    hr: Group


@pytest.fixture
def people(db: None) -> People:
    hr = GroupFactory.create(name="hr")
    bob = UserFactory.create(username="bob")
    bob.groups.add(hr)
    return People(
        alice=UserFactory.create(username="alice"),
        bob=bob,
        charlie=UserFactory.create(username="charlie"),
        admin=UserFactory.create(username="admin", role=Role.KNOWLEDGE_ADMIN),
        hr=hr,
    )


@dataclass
class Corpus:
    handbook: Source  # granted to alice (user) and hr (group)
    salaries: Document  # in the handbook
    notices: Source  # visible to all staff
    notice: Document
    memo: Document  # a document granted only to alice, in an ungranted source


@pytest.fixture
def corpus(people: People) -> Corpus:
    with acting_as_system():
        handbook = SourceFactory.create(name="HR handbook")
        grant_create(user=people.alice, source=handbook)
        grant_create(group=people.hr, source=handbook)
        salaries = DocumentFactory.create(source=handbook, title="Salary bands")
        ChunkFactory.create_batch(3, document=salaries)
        notices = SourceFactory.create(name="Company notices", visible_to_all_staff=True)
        notice = DocumentFactory.create(source=notices, title="Office closed Friday")
        ChunkFactory.create(document=notice)
        memo = DocumentFactory.create(source=SourceFactory.create(name="Board"), title="Board memo")
        ChunkFactory.create(document=memo)
        grant_create(user=people.alice, document=memo)
    return Corpus(handbook=handbook, salaries=salaries, notices=notices, notice=notice, memo=memo)


DEMO = Path(django_settings.BASE_DIR) / "deploy" / "demo"


@pytest.fixture
def demo(people: People) -> dict[str, Source]:
    """The demo corpus with the demo grants: hr (alice directly, group hr), finance (alice), company (all)."""
    sources = {name: folder_source(DEMO / name, name=name) for name in ("hr", "finance", "company")}
    with acting_as_system():
        grant_create(user=people.alice, source=sources["hr"])
        grant_create(group=people.hr, source=sources["hr"])
        grant_create(user=people.alice, source=sources["finance"])
        sources["company"].visible_to_all_staff = True
        sources["company"].save()
    for source in sources.values():
        sync_inline(source)
    return sources
