"""The schema and its documentation pages, served by Enclave itself (no CDN: the machines running it
may have no internet)."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.conftest import People


def test_the_schema_is_openapi_3_and_public(db: None) -> None:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.") and schema["info"]["title"] == "Enclave API"
    assert schema["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["token"]["description"],
    }
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "message", "fields"}


def test_the_documentation_page_loads_its_scripts_from_enclave(db: None) -> None:
    page = Client().get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    local = [a for a in assets if a.startswith("/static/")]
    assert local and all(finders.find(a.removeprefix("/static/")) for a in local)


def test_the_swagger_page_script_is_its_own_file(db: None) -> None:
    """The page runs no inline script (a Content-Security-Policy may forbid them)."""
    page = Client().get("/api/docs/").content.decode()
    script = re.search(r'<script src="(/api/docs/\?script=)"', page)
    assert script
    assert "SwaggerUIBundle" in Client().get(script.group(1)).content.decode()


@pytest.mark.django_db
def test_signed_in_the_documentation_page_can_try_calls_with_the_session(people: People) -> None:
    client = Client()
    client.force_login(people.alice)
    script = client.get("/api/docs/?script=").content.decode()
    assert "x-csrftoken" in script.lower()  # "Try it out" sends the session's CSRF token
