"""What every REST API view shares: the caller's database identity, request size limits, the rate
limit's message, and query-parameter filters checked like any other input."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Any

from django.conf import settings
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from core.api.errors import RequestTooLarge
from core.rls import acting_as


class CallerViewMixin:
    """Runs the handler in a transaction that tells PostgreSQL who the caller is (core/rls.py).

    The row-level security middleware leaves /api/ alone because a token is only read here, by
    DRF, once the view runs; so the block opens when authentication has succeeded (``initial``) and
    closes when the response is finalised, or with the handler's exception, which rolls it back.
    A view whose handler must not sit in one long transaction (an answer being generated) sets
    ``own_transaction = False`` and opens its own ``acting_as`` blocks.
    """

    required_scope: str | None = None  # an ApiToken must carry it (knowledge/api/permissions.py)
    own_transaction = True
    _caller_block: AbstractContextManager[None] | None = None

    def max_body_bytes(self) -> int:
        return settings.ENCLAVE_API_MAX_REQUEST_BYTES

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        declared = request.META.get("CONTENT_LENGTH") or "0"
        size = int(declared) if declared.isdigit() else 0
        if size > self.max_body_bytes():
            raise RequestTooLarge(
                f"The request body is {size:,} bytes; this endpoint takes at most {self.max_body_bytes():,}."
            )
        if self.own_transaction:
            self._caller_block = acting_as(request.user)
            self._caller_block.__enter__()

    def handle_exception(self, exc: Exception) -> Response:
        self._caller_block_close(exc)
        # Errors are always JSON in the one format, whatever the client said it accepts (an event
        # stream, a file download).
        self.request.accepted_renderer = JSONRenderer()  # type: ignore[attr-defined]
        self.request.accepted_media_type = JSONRenderer.media_type  # type: ignore[attr-defined]
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        self._caller_block_close(None)
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]

    def _caller_block_close(self, exc: Exception | None) -> None:
        block, self._caller_block = self._caller_block, None
        if block is not None:
            block.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    def check_throttles(self, request: Request) -> None:
        for throttle in self.get_throttles():  # type: ignore[attr-defined]
            if not throttle.allow_request(request, self):
                wait = math.ceil(throttle.wait() or 1)
                exc = exceptions.Throttled(
                    detail=f"Too many requests: {throttle.limit_in_words()}. Try again in {wait} seconds."
                )
                exc.wait = wait  # becomes the Retry-After header
                raise exc

    def query_params_of(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """Query parameters checked by a serializer: a malformed one is a 400 naming it."""
        checked = serializer_class(data=self.request.query_params)  # type: ignore[attr-defined]
        checked.is_valid(raise_exception=True)
        return dict(checked.validated_data)


class ApiView(CallerViewMixin, APIView):
    pass


class ApiGenericView(CallerViewMixin, GenericAPIView):
    pass


class ApiViewSet(CallerViewMixin, GenericViewSet):
    lookup_value_converter = "int"  # ids are numbers: ApiRouter routes <int:pk>
