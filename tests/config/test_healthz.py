from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_pgvector(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    major, minor = (int(part) for part in body["pgvector"].split(".")[:2])
    assert (major, minor) >= (0, 8)
