"""Web page sources against a real HTTP server on this machine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.rls import acting_as_system
from knowledge.models import Document, Source
from knowledge.services.ingest import Outcome
from knowledge.services.sources import source_ensure
from tests.knowledge.helpers import chunks_of, documents_by_uri, sync_inline

pytestmark = pytest.mark.django_db

PAGES = {
    "/travel": (
        "text/html; charset=utf-8",
        "<html><head><title>Travel policy</title></head><body><h1>Travel</h1>"
        "<p>Economy class is the default for flights under six hours.</p></body></html>",
    ),
    "/notice.txt": ("text/plain; charset=gb18030", "办公室在十二月二十四日至一月一日期间关闭。"),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        if self.path not in PAGES:
            self.send_error(404, "Not Found")
            return
        content_type, body = PAGES[self.path]
        encoded = body.encode(content_type.split("charset=")[1])
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_pages_are_fetched_and_bad_ones_fail_with_a_reason(site: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENCLAVE_FETCH_TIMEOUT_SECONDS = 1
    urls = [f"{site}/travel", f"{site}/notice.txt", f"{site}/missing", f"{site}/slow"]
    with acting_as_system():
        source = source_ensure(name="Intranet", kind=Source.Kind.URL, config={"urls": urls})
    _, results = sync_inline(source)
    documents = documents_by_uri(source)
    assert results[urls[0]].outcome == Outcome.INGESTED
    assert documents[urls[0]].title == "Travel policy"
    assert "Economy class" in chunks_of(documents[urls[0]])[0].text
    assert "十二月二十四日" in chunks_of(documents[urls[1]])[0].text  # decoded with the server's charset
    assert documents[urls[2]].status == Document.Status.FAILED
    assert "HTTP 404" in documents[urls[2]].error
    assert "did not answer within 1 seconds" in documents[urls[3]].error
