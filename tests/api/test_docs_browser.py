"""The documentation page in a real browser (Debian's chromium) against a live server, with every
request outside the server refused: it must render from Enclave's own files."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.conftest import browser, screenshot  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def test_the_documentation_page_renders_offline(browser: Browser, live_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(base_url=live_server.url)
    outside: list[str] = []

    def only_enclave(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_enclave)
    page = context.new_page()
    page.goto("/api/docs/")
    expect(page.get_by_text("Enclave API").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/api/v1/ask", exact=True).first).to_be_visible()
    screenshot(page, "api-docs")
    context.close()
    assert outside == []
