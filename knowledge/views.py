"""Downloads of documents' originals (searching is the REST API's /api/v1/search, which a signed-in
session may call too, with the same access)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.views.decorators.http import require_GET

from core.errors import NotFound
from knowledge.selectors import Original, document_original


@login_required
@require_GET
def document_download(request: HttpRequest, document_id: int) -> HttpResponseBase:
    """The document's original, for a reader who may see it (everyone else: 404, as if missing).

    Always an attachment: an uploaded HTML file opened inline would run in Enclave's own origin.
    """
    return original_response(document_original(fetched_by=request.user, document_id=document_id))


def original_response(original: Original) -> HttpResponseBase:
    """The file as an attachment, or a redirect to the web page (the page's and the API's downloads)."""
    if original.url:
        return HttpResponseRedirect(original.url)
    if original.path is None:
        raise NotFound("The original file is no longer available.")
    return FileResponse(original.path.open("rb"), as_attachment=True, filename=original.path.name)
