from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for people and load balancers: the database answers and pgvector is installed."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": f"unreachable: {exc}".strip()}, status=503)
    if row is None:
        return JsonResponse({"status": "error", "database": "ok", "pgvector": "missing"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "pgvector": row[0]})
