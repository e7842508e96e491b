"""Pagination and rate limits of the REST API (named in settings.REST_FRAMEWORK; kept apart from the
views because DRF imports them while defining its own view class)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100  # a larger page_size is served as 100
    invalid_page_message = "There is no page {page_number} ({message})."

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters

    def get_page_size(self, request: Request) -> int:
        """DRF ignores a malformed page_size; here it is a 400 like any other invalid parameter."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["A whole number from 1 (at most 100 are served)."]})
        return min(int(raw), self.max_page_size)


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per minute for each token (or signed-in session), counted per web process."""

    scope = "api"
    setting = "ENCLAVE_API_REQUESTS_PER_MINUTE"

    def get_rate(self) -> str:
        return f"{getattr(settings, self.setting)}/min"

    def get_cache_key(self, request: Request, view: Any) -> str:
        token_id = getattr(request.auth, "pk", None)  # an API token (session sign-ins carry none)
        if token_id is not None:
            caller = f"token:{token_id}"
        elif request.user and request.user.is_authenticated:
            caller = f"user:{request.user.pk}"
        else:
            caller = f"address:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{caller}"

    def limit_in_words(self) -> str:
        return f"at most {getattr(settings, self.setting)} requests a minute for each token"


class AskRateThrottle(TokenRateThrottle):
    """Questions cost a model's time: a tighter limit of their own."""

    scope = "ask"
    setting = "ENCLAVE_API_ASKS_PER_MINUTE"

    def limit_in_words(self) -> str:
        return f"at most {getattr(settings, self.setting)} questions a minute for each token"
