"""The SCIM protocol as scim2-server serves it, with Enclave's published schemas (see schemas.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim2_models import (
    Context,
    ListResponse,
    NotFoundException,
    PatchOp,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
)
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService

from accounts.scim.patches import group_patch_for_enclave, user_patch_for_enclave
from accounts.scim.schemas import PROVIDER, PUBLISHED


class EnclaveScimService(ScimService):
    """Reads requests with the standard models; publishes only what Enclave keeps."""

    def __init__(self) -> None:
        super().__init__(PROVIDER)

    def read_patch(self, resource_type: ResourceType, body: bytes, content_type: str | None) -> PatchOp[Any]:
        if resource_type.name == "User":
            body = user_patch_for_enclave(body)
        elif resource_type.name == "Group":
            body = group_patch_for_enclave(body)
        return super().read_patch(resource_type, body, content_type)

    def patch_response(
        self, base_url: str, resource: Resource[Any], response_parameters: ResponseParameters[Any]
    ) -> ScimResponse:
        """A patched user comes back whole (Okta reads the user from its deactivating PATCH); a patched
        group answers 204, as Okta and Entra expect, sparing a large group's member list."""
        if resource.meta is not None and resource.meta.resource_type == "Group":
            return super().patch_response(base_url, resource, response_parameters)
        published = self.publish(base_url, resource)
        return self.resource_response(published, Context.RESOURCE_REPLACEMENT_RESPONSE, response_parameters)

    def resource_types(self, location: str, query: Mapping[str, str]) -> ScimResponse:
        self.forbid_filter(query)
        return _listed(list(PUBLISHED.resource_types), location, ResourceType)

    def resource_type(self, location: str, resource_type_id: str, query: Mapping[str, str]) -> ScimResponse:
        self.forbid_filter(query)
        for resource_type in PUBLISHED.resource_types:
            if resource_type.id == resource_type_id:
                return self.discovery_response(self.locate(resource_type, location))
        raise NotFoundException(detail=f"There is no resource type {resource_type_id!r}; there are User and Group.")

    def schemas(self, location: str, query: Mapping[str, str]) -> ScimResponse:
        self.forbid_filter(query)
        return _listed(list(PUBLISHED.schemas), location, Schema)

    def schema(self, location: str, schema_id: str, query: Mapping[str, str]) -> ScimResponse:
        self.forbid_filter(query)
        for schema in PUBLISHED.schemas:
            if schema.id == schema_id:
                return self.discovery_response(self.locate(schema, location))
        raise NotFoundException(detail=f"There is no schema {schema_id!r}.")


def _listed(items: list[ResourceType] | list[Schema], location: str, kind: type) -> ScimResponse:
    located = [EnclaveScimService.locate(item, f"{location}/{item.id}") for item in items]  # type: ignore[type-var]
    response = ListResponse[kind](  # type: ignore[valid-type]
        total_results=len(located), items_per_page=len(located), start_index=1, resources=located
    )
    return ScimResponse(200, response.model_dump())  # type: ignore[arg-type]
