"""The Prometheus scrape: every counter the apps record (core/metrics.py), plus the queue and the
documents counted at each scrape. Web serves it at /metrics; a worker on ENCLAVE_WORKER_METRICS_PORT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class KnowledgeCollector(Collector):
    """Read at scrape time: the task queue's length and the documents by status."""

    def collect(self) -> Iterator[Metric]:
        from config.health import queue_length
        from knowledge.selectors.counts import documents_by_status

        waiting = GaugeMetricFamily("enclave_task_queue_length", "Tasks waiting in the ingestion queue")
        length = queue_length()
        if length is not None:
            waiting.add_metric([], length)
        yield waiting
        documents = GaugeMetricFamily("enclave_documents", "Documents by ingestion status", labels=["status"])
        for status, count in documents_by_status().items():
            documents.add_metric([status], count)
        yield documents


def scrape_registry(*, with_knowledge: bool) -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    if with_knowledge:
        registry.register(KnowledgeCollector())
    return registry


class _Default(Collector):
    """This process's own metrics, lent to a fresh registry so the knowledge collector is per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
