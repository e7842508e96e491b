"""schemathesis against the live schema (/api/schema/), through the WSGI application as a server
would run it, authenticated with a real knowledge admin's token that has every scope.

Every operation gets generated valid and invalid requests: no answer may be a 5xx, and every
answer must match the schema (status code, content type, headers, body). Where they disagree, the
schema or the code is fixed, not the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from accounts.models import ApiToken
from accounts.tokens import token_create
from config.wsgi import application
from tests.conftest import Corpus, People

# Outside the sequence tests use, so no generated DELETE /tokens/{id} revokes the run's own token.
TOKEN_ID = 2_000_000_000


@pytest.fixture(autouse=True)
def world(db: None, people: People, corpus: Corpus, settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.ENCLAVE_API_REQUESTS_PER_MINUTE = 1_000_000
    settings.ENCLAVE_API_ASKS_PER_MINUTE = 1_000_000
    settings.UPLOADS_DIR = tmp_path / "uploads"
    # A server closes its database connection around each request; here the connection holds the
    # test's transaction, so it stays open (as in Django's own test client).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_token(people: People) -> str:
    issued = token_create(user=people.admin, name="schemathesis", scopes=["ask", "read", "admin"])
    ApiToken.objects.filter(pk=issued.token.pk).update(id=TOKEN_ID)
    return issued.secret


# positive_data_acceptance expects a request that fits the schema to succeed. Some rules cannot be
# written in JSON Schema and give a documented 400: an expiry in the past, exactly one of user or
# group in a grant, a username that does not exist, a folder config without a path, a question
# that is only spaces. Everything else about the check stays as schemathesis has it.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 409, 429]}}}
)
# Read from the running application when the tests are collected (the schema needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=30,  # 100 per operation ran clean too (6 minutes on 2 cores); 30 keeps the suite quick
    deadline=None,
    derandomize=True,  # the same cases on every run: a CI failure can be reproduced
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_matches_its_schema_and_never_fails(case: Any, admin_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"})
