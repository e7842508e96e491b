from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.scim.tokens import scim_token_create

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Answer:
    status: int
    body: Any


class Scim:
    """A directory's SCIM client, through Django's test client, with a real SCIM token."""

    def __init__(self, secret: str) -> None:
        self.client = Client()
        self.secret = secret

    def send(
        self, method: str, path: str, body: Any = None, *, raw: str | None = None, token: str | None = None
    ) -> Answer:
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        response = self.client.generic(
            method,
            f"/scim/v2/{path.lstrip('/')}",
            data=data,
            content_type=SCIM_JSON,
            HTTP_AUTHORIZATION=f"Bearer {self.secret if token is None else token}",
        )
        content = response.content.decode()
        return Answer(response.status_code, json.loads(content) if content else None)

    def get(self, path: str) -> Answer:
        return self.send("GET", path)

    def post(self, path: str, body: Any) -> Answer:
        return self.send("POST", path, body)

    def put(self, path: str, body: Any) -> Answer:
        return self.send("PUT", path, body)

    def patch(self, path: str, operations: list[dict[str, Any]]) -> Answer:
        return self.send("PATCH", path, {"schemas": [PATCH_SCHEMA], "Operations": operations})

    def delete(self, path: str) -> Answer:
        return self.send("DELETE", path)


@pytest.fixture
def scim(db: None) -> Scim:
    return Scim(scim_token_create(name="okta").secret)
