"""Single sign-on in a real browser (Debian's chromium, driven by Playwright) against the real test
provider (oidc-provider, tests/identity/conftest.py) and a live Enclave: the redirect, the
provider's login and consent pages, the return, the chat page; groups from the provider deciding
what the person finds, and changing when the provider changes them; signing out ending the
provider's session too; and each way a sign-in is refused saying so on the page.

The sign-in times are printed (run pytest with -s to see them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Browser, Page, expect

from accounts.directory import DirectoryPerson, directory_person_sync
from accounts.models import Origin, User
from accounts.services import user_activation_set
from core.rls import acting_as_system
from knowledge.models import Source
from knowledge.services.grants import grant_create
from tests.browser.conftest import browser, screenshot  # noqa: F401 (the browser fixture)
from tests.browser.test_chat import ask
from tests.conftest import People
from tests.factories import UserFactory
from tests.identity.conftest import PROVIDER_NAME, LocalProvider, ProviderPerson, free_port

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

PASSWORD = "correct horse battery staple"  # the local accounts' (tests/factories.py)
DANA = ProviderPerson(
    sub="sub-dana",
    login="dana",
    password="dana's provider password",
    claims={
        "preferred_username": "dana",
        "email": "dana@example.com",
        "email_verified": True,
        "name": "Dana Scully",
        "given_name": "Dana",
        "family_name": "Scully",
        "groups": ["hr", "badminton-club"],
    },
)
SIGN_IN_BUTTON = f"Sign in with {PROVIDER_NAME}"


@pytest.fixture
def page(browser: Browser, live_server, oidc_settings: Any) -> Iterator[Page]:  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 820})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def finance_group(demo: dict[str, Source]) -> Group:
    """A group that Enclave made and granted the finance policies to, before anyone signed in."""
    finance = Group.objects.create(name="finance")
    with acting_as_system():
        grant_create(group=finance, source=demo["finance"])
    return finance


def through_the_provider(page: Page, person: ProviderPerson) -> float:
    """From Enclave's sign-in page to the provider, its login (and, the first time, its consent) and
    back; returns when the button was clicked (time.monotonic)."""
    page.goto("/")
    clicked = time.monotonic()
    page.get_by_role("button", name=SIGN_IN_BUTTON).click()
    expect(page.get_by_role("heading", name="Test provider sign-in")).to_be_visible()
    page.get_by_label("Login").fill(person.login)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in at the provider").click()
    allow = page.get_by_role("button", name="Allow")
    back_at_enclave = page.locator("header.topbar")
    expect(allow.or_(back_at_enclave)).to_be_visible()
    if allow.is_visible():
        allow.click()
        expect(back_at_enclave).to_be_visible()
    return clicked


def sign_in_with_the_provider(page: Page, person: ProviderPerson) -> float:
    """Sign in through the provider and land on the chat page; returns the seconds from the click."""
    clicked = through_the_provider(page, person)
    expect(page.get_by_label("Your question")).to_be_visible()
    return time.monotonic() - clicked


def search_sources(page: Page, query: str) -> set[str]:
    """The sources of what the search API finds for the signed-in browser (its session)."""
    response = page.request.get(f"/api/v1/search?q={quote(query)}&k=10")
    assert response.ok, response.text()
    return {result["source"] for result in response.json()["results"]}


def groups_of(username: str) -> set[str]:
    return {group.name for group in User.objects.get(username=username).groups.all()}


def test_a_provider_sign_in_lands_on_the_chat_page_with_the_providers_groups_and_follows_their_change(
    page: Page, oidc_provider: LocalProvider, oidc_settings: Any, people: People, finance_group: Group
) -> None:
    oidc_settings.ENCLAVE_OIDC_GROUPS = "hr,finance"  # the badminton club stays out of Enclave
    oidc_provider.people_set(DANA)
    page.goto("/")
    expect(page.get_by_role("button", name=SIGN_IN_BUTTON)).to_be_visible()
    screenshot(page, "sign-in-with-provider")

    first = sign_in_with_the_provider(page, DANA)

    dana = User.objects.get(username="dana")
    assert (dana.origin, dana.external_id, dana.email) == (Origin.OIDC, "sub-dana", "dana@example.com")
    assert dana.get_full_name() == "Dana Scully" and not dana.has_usable_password()
    assert groups_of("dana") == {"hr"}
    assert not Group.objects.filter(name="badminton-club").exists()
    expect(page.locator(".username")).to_have_text("dana")
    assert "hr" in search_sources(page, "salary bands for engineers")
    assert "finance" not in search_sources(page, "travel and expense policy, booking flights")
    answer = ask(page, "What are the salary bands for engineers?")
    answer.locator(".sources summary").click()
    expect(answer.locator(".sources")).to_contain_text("Salary bands 2026")  # only the hr group may see it
    screenshot(page, "signed-in-with-provider")
    conversation = page.url
    assert "Salary bands 2026" in (page.locator("main").text_content() or "")

    # The directory moves dana from hr to finance; her next sign-in brings Enclave in line.
    oidc_provider.people_set(replace(DANA, claims={**DANA.claims, "groups": ["finance"]}))
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider's own sign-out page
    expect(page.get_by_role("heading", name="Sign in to Enclave")).to_be_visible()
    assert page.request.get("/api/v1/search?q=salary").status in (401, 403)

    second = sign_in_with_the_provider(page, DANA)  # the provider asks for the password again: its session ended

    assert groups_of("dana") == {"finance"}
    assert "hr" not in search_sources(page, "salary bands for engineers")
    assert "finance" in search_sources(page, "travel and expense policy, booking flights")
    page.goto(conversation)  # her earlier answer no longer shows what only hr may see
    expect(page.locator(".question")).to_have_text("What are the salary bands for engineers?")
    assert "Salary bands 2026" not in (page.locator("main").text_content() or "")

    # Enclave's session ends, the provider's stays: signing in again is redirects only.
    redirects_only = sorted(sign_in_while_signed_in_at_the_provider(page) for _ in range(5))
    print(
        f"sign-in times: first (provider login and consent) {first * 1000:.0f} ms, "
        f"again after signing out (provider login) {second * 1000:.0f} ms, "
        f"with the provider's session alive (redirects only) median {redirects_only[2] * 1000:.0f} ms, "
        f"slowest {redirects_only[-1] * 1000:.0f} ms of 5"
    )
    assert groups_of("dana") == {"finance"}


def sign_in_while_signed_in_at_the_provider(page: Page) -> float:
    """Enclave's session gone, the provider's kept: the button leads straight back to the chat page."""
    page.context.clear_cookies(domain="localhost")
    page.goto("/")
    started = time.monotonic()
    page.get_by_role("button", name=SIGN_IN_BUTTON).click()
    expect(page.get_by_label("Your question")).to_be_visible()
    return time.monotonic() - started


def test_a_replayed_or_forged_return_from_the_provider_is_refused(  # type: ignore[no-untyped-def]
    page: Page,
    browser: Browser,  # noqa: F811 (the fixture imported above)
    live_server,
    oidc_provider: LocalProvider,
    people: People,
) -> None:
    oidc_provider.people_set(DANA)
    returns: list[str] = []
    page.on("request", lambda request: returns.append(request.url) if "/oidc/callback/" in request.url else None)
    sign_in_with_the_provider(page, DANA)
    assert len(returns) == 1 and "code=" in returns[0] and "state=" in returns[0]

    replayed = page.goto(returns[0])  # the same code and state a second time, in the same browser
    assert replayed is not None and replayed.status == 400
    expect(page.get_by_role("heading", name="This sign-in could not be completed")).to_be_visible()

    forged = page.goto("/accounts/oidc/callback/?code=made-up&state=made-up")
    assert forged is not None and forged.status == 400

    # Another browser handed this return (a login-CSRF attempt) is not signed in as dana.
    stranger = browser.new_context(base_url=live_server.url, locale="en-US")
    other = stranger.new_page()
    response = other.goto(returns[0])
    assert response is not None and response.status == 400
    other.goto("/")
    expect(other.get_by_role("heading", name="Sign in to Enclave")).to_be_visible()
    stranger.close()


def test_a_deactivated_person_signing_in_at_the_provider_is_refused_with_a_page_that_says_so(
    page: Page, oidc_provider: LocalProvider, people: People
) -> None:
    oidc_provider.people_set(DANA)
    dana = directory_person_sync(DirectoryPerson(origin=Origin.OIDC, external_id="sub-dana", username="dana"))
    user_activation_set(user=dana, active=False, acting_user=people.admin)

    through_the_provider(page, DANA)

    expect(page.get_by_role("heading", name="Your Enclave account is deactivated")).to_be_visible()
    screenshot(page, "sign-in-deactivated")
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to Enclave")).to_be_visible()
    assert not User.objects.get(username="dana").is_active


def test_a_refused_person_is_told_why(page: Page, oidc_provider: LocalProvider, people: People) -> None:
    # The provider names someone who is Enclave's break-glass superuser: never taken over by a sign-in.
    UserFactory.create(username="root", is_superuser=True)
    oidc_provider.people_set(replace(DANA, claims={**DANA.claims, "preferred_username": "root"}))

    through_the_provider(page, DANA)

    expect(page.get_by_role("heading", name=f"Signing in with {PROVIDER_NAME} was refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("break-glass account is never taken over")
    assert User.objects.get(username="root").origin == Origin.LOCAL


def test_an_unreachable_provider_says_so_and_the_break_glass_admin_still_signs_in_with_a_password(
    page: Page, oidc_settings: Any, people: People
) -> None:
    oidc_settings.ENCLAVE_OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    oidc_settings.ENCLAVE_LOCAL_PASSWORDS = "admins-only"
    UserFactory.create(username="root", is_superuser=True)

    page.goto("/")
    page.get_by_role("button", name=SIGN_IN_BUTTON).click()
    expect(page.get_by_role("heading", name=f"{PROVIDER_NAME} cannot be reached")).to_be_visible()
    expect(page.get_by_text("Administrators can still sign in with their Enclave password.")).to_be_visible()
    screenshot(page, "sign-in-provider-unreachable")
    page.get_by_role("link", name="Back to the sign-in page").click()

    # Staff have no password way in any more, and are told where to go instead.
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(f"Everyone else signs in with {PROVIDER_NAME}")

    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_label("Your question")).to_be_visible()
    expect(page.locator(".username")).to_have_text("root")
