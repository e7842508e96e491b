"""The SCIM endpoint, /scim/v2/...: authenticate the directory's token, hand the request to
scim2-server with Enclave's storage, answer in SCIM's JSON, and note the request on the token.

Each request's writes run in one savepoint: a request refused half-way (a PATCH whose second
operation is invalid) changes nothing. Every failure answers in the SCIM error schema
(``urn:ietf:params:scim:api:messages:2.0:Error``) with words saying what was wrong.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from scim2_models import (
    PayloadTooLargeException,
    SCIMException,
    UnauthorizedException,
    UniquenessException,
)
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse

from accounts.scim.service import EnclaveScimService
from accounts.scim.storage import EnclaveStorage
from accounts.scim.tokens import scim_request_note, scim_token_authenticate

log = logging.getLogger("enclave.scim")
SERVICE = EnclaveScimService()
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@csrf_exempt
def scim_endpoint(request: HttpRequest, path: str = "") -> HttpResponse:
    token, refusal = scim_token_authenticate(request.headers.get("Authorization", ""))
    if refusal or token is None:
        log.info("SCIM %s %s refused: %s", request.method, request.path, refusal)
        return _http(SERVICE.error_response(UnauthorizedException(detail=refusal)))
    response = _served(request, path)
    scim_request_note(
        token=token, request=f"{request.method} {request.path}", status=response.status, result=_result(response)
    )
    return _http(response)


def _served(request: HttpRequest, path: str) -> ScimResponse:
    try:
        scim_request = ScimRequest(
            method=request.method or "GET",
            base_url=request.build_absolute_uri(reverse("scim:root")).rstrip("/"),
            path=f"/{path}",
            query=request.GET.dict(),
            headers=list(request.headers.items()),
            body=request.body,
        )
        handler = ScimHandler(SERVICE, EnclaveStorage(lock=request.method in WRITES))
        with transaction.atomic():
            return handler.handle(scim_request)
    except SCIMException as error:
        return SERVICE.error_response(error)
    except RequestDataTooBig:
        return SERVICE.error_response(PayloadTooLargeException(detail="The request body is too large."))
    except IntegrityError:
        # Two requests creating the same user or group at once: the second loses the race.
        return SERVICE.error_response(UniquenessException(detail="Another request made this user or group first."))
    except Exception as error:  # a bug: answered in SCIM's shape, logged with its traceback
        log.exception("SCIM %s %s failed", request.method, request.path)
        return SERVICE.error_response(error)


def _result(response: ScimResponse) -> str:
    """A few words on how the request went, for the console."""
    body = response.body or {}
    if response.status >= HTTPStatus.BAD_REQUEST:
        return str(body.get("detail") or HTTPStatus(response.status).phrase)
    if "totalResults" in body:
        return f"{body['totalResults']} found"
    name = body.get("userName") or body.get("displayName")
    return f"{body.get('meta', {}).get('resourceType', '')} {name or ''}".strip() or HTTPStatus(response.status).phrase


def _http(response: ScimResponse) -> HttpResponse:
    content = json.dumps(response.body) if response.body is not None else ""
    answer = HttpResponse(content, status=response.status)
    for header, value in response.headers.items():
        answer[header] = value
    answer.setdefault("Cache-Control", "no-store")
    return answer
