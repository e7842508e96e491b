"""The REST API's URLs come from its viewsets (NetBox's dcim/api/urls.py is the model)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """``<prefix>`` and ``<prefix>/<int:pk>``, and each ``@action`` under them, with no trailing slash
    and no root view: /api/v1/documents, /api/v1/documents/1, /api/v1/sources/1/sync. The id is an
    ``int`` path converter (ApiViewSet.lookup_value_converter), so /api/v1/documents/abc is the
    API's "no such endpoint" 404."""

    def __init__(self) -> None:
        super().__init__(trailing_slash=False, use_regex_path=False)
