"""Prometheus counters that the apps record into as things happen (requests, answers, ingestion),
and the middleware that counts requests. What is counted at scrape time, and the scrape itself,
are composed in config/metrics.py.

With several processes behind one address (uvicorn --workers, Celery's prefork pool), set
PROMETHEUS_MULTIPROC_DIR to an empty writable folder: each process then writes its samples there
and a scrape adds them up, instead of seeing one random process's numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from prometheus_client import Counter, Histogram

REQUESTS = Counter("enclave_http_requests", "HTTP requests served", ["method", "view", "status"])
REQUEST_SECONDS = Histogram("enclave_http_request_seconds", "Time to the response headers", ["view"])
ANSWERS = Counter("enclave_answers", "Answers finished, by how they ended", ["status", "channel"])
ANSWER_SECONDS = Histogram(
    "enclave_answer_seconds", "Question to finished answer", buckets=(0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
)
FIRST_TOKEN_SECONDS = Histogram(
    "enclave_answer_first_token_seconds",
    "Question to the answer's first token",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30),
)
DOCUMENTS_INGESTED = Counter("enclave_documents_ingested", "Documents through ingestion, by outcome", ["outcome"])
INGEST_BATCH_SECONDS = Histogram(
    "enclave_ingest_batch_seconds", "One ingestion task (a batch of documents)", buckets=(0.5, 1, 2, 5, 10, 30, 60, 300)
)


class RequestMetricsMiddleware:
    """Counts requests by route name (not by path, which would make a series per document id)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        REQUEST_SECONDS.labels(view).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method or "", view, str(response.status_code)).inc()
        return response
