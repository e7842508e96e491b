import hmac

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from accounts.identity import ldap_way_in, oidc_way_in, origin_counts, scim_status, scim_way_in
from config.health import (
    database_probe,
    models_probe,
    pgvector_version,
    questions_last_day,
    queue_probe,
    workers_probe,
)
from config.metrics import scrape_registry
from knowledge.selectors.counts import knowledge_counts


@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """Liveness (Kubernetes restarts a pod that fails it): the process answers. It asks nothing of
    the database, whose outage a restart cannot fix; /readyz takes the pod out of service instead."""
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for people and load balancers: the database answers and pgvector is installed."""
    try:
        version = pgvector_version()
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": f"unreachable: {exc}".strip()}, status=503)
    if version is None:
        return JsonResponse({"status": "error", "database": "ok", "pgvector": "missing"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "pgvector": version})


def health_page(request: HttpRequest) -> TemplateResponse:
    """The admin console's health dashboard (wrapped in admin_view in urls.py: knowledge admins only)."""
    from django.contrib import admin

    checks = [("Database", database_probe()), ("Task queue", queue_probe()), ("Workers", workers_probe())]
    context = {
        **admin.site.each_context(request),
        "title": "Health",
        "checks": checks + [("Models", probe) for probe in models_probe()],
        "counts": knowledge_counts(fetched_by=request.user),
        "questions_last_day": questions_last_day(fetched_by=request.user),
    }
    return TemplateResponse(request, "admin/health.html", context)


def identity_page(request: HttpRequest) -> TemplateResponse:
    """The console's identity page: which ways in are configured and answer, the last SCIM request,
    and who comes from where (wrapped in admin_view in urls.py: knowledge admins only)."""
    from django.contrib import admin

    scim = scim_status()
    context = {
        **admin.site.each_context(request),
        "title": "Identity",
        "ways_in": [oidc_way_in(), ldap_way_in(), scim_way_in(scim)],
        "scim": scim,
        "origins": origin_counts(),
        "local_passwords": settings.ENCLAVE_LOCAL_PASSWORDS,
    }
    return TemplateResponse(request, "admin/identity.html", context)


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for load balancers and Kubernetes: this web process can serve questions only when
    the database answers (with pgvector) and the broker takes tasks (uploads and syncs queue work)."""
    database, broker = database_probe(), queue_probe()
    body = {"status": "ready" if database.ok and broker.ok else "not ready", "database": database.text}
    body["broker"] = broker.text
    return JsonResponse(body, status=200 if database.ok and broker.ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; with ENCLAVE_METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    expected = settings.ENCLAVE_METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if expected and not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse("A metrics token is required.\n", status=401, content_type="text/plain")
    registry = scrape_registry(with_knowledge=True)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
