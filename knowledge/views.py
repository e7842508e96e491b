"""The JSON search endpoint (retrieval without the chat), and downloads of documents' originals."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.views.decorators.http import require_GET

from knowledge.selectors import Original, document_original
from knowledge.selectors.search import SearchFilters, SearchHit, chunk_search

MAX_K = 50


@require_GET
def search(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in to search."}, status=401)
    query = request.GET.get("q", "").strip()
    if not query:
        return JsonResponse({"error": "Give a query as ?q=..."}, status=400)
    try:
        k = min(int(request.GET.get("k", "10")), MAX_K)
        filters = SearchFilters(
            source_ids=[int(v) for v in request.GET.getlist("source")],
            formats=request.GET.getlist("format"),
        )
    except ValueError:
        return JsonResponse({"error": "k and source must be whole numbers."}, status=400)
    hits = chunk_search(fetched_by=request.user, query=query, k=max(k, 1), filters=filters)
    return JsonResponse({"query": query, "results": [_as_json(hit) for hit in hits]})


def _as_json(hit: SearchHit) -> dict[str, object]:
    chunk = hit.chunk
    return {
        "chunk_id": chunk.pk,
        "document_id": chunk.document_id,
        "title": chunk.document.title,
        "source": chunk.document.source.name,
        "section": chunk.metadata.get("section", ""),
        "page": chunk.metadata.get("page"),
        "text": chunk.text,
        "score": round(hit.score, 6),
    }


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
        raise Http404("The original file is no longer available.")
    return FileResponse(original.path.open("rb"), as_attachment=True, filename=original.path.name)
