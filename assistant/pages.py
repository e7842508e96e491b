"""The staff chat page and the HTML fragments htmx swaps into it.

The page is rendered by the server; chat.js asks, streams the tokens (views.py's SSE endpoint),
then swaps in the finished answer as rendered here, so an answer looks the same live and after a
reload. Every fragment goes through the same selectors as the page: someone else's conversation,
answer or citation is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from assistant.selectors import (
    access_conversation_by_id,
    access_message_by_id,
    answer_shown,
    citation_shown,
    conversation_list,
    message_list,
)
from assistant.services.conversations import MAX_QUESTION_CHARS, conversation_delete, conversation_rename
from knowledge.selectors import document_list, document_original

CONVERSATIONS_SHOWN = 100
DOCUMENTS_SHOWN = 200
# Scripts only from Enclave itself, no plugins, no framing, images only from here: whatever a
# document or the model manages to put into the page cannot load or run anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return wrapped


@login_required
@require_GET
@content_security_policy
def chat_page(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    conversation = (
        access_conversation_by_id(fetched_by=request.user, conversation_id=conversation_id)
        if conversation_id is not None
        else None
    )
    documents = document_list(fetched_by=request.user)
    messages = message_list(fetched_by=request.user, conversation=conversation) if conversation else []  # type: ignore[arg-type]
    context = {
        "conversation": conversation,
        "conversations": conversation_list(fetched_by=request.user)[:CONVERSATIONS_SHOWN],
        "messages": messages,
        "documents_visible": documents.count(),
        "documents": documents.order_by("source__name", "title")[:DOCUMENTS_SHOWN],
        "max_question_chars": MAX_QUESTION_CHARS,
        "strings": _page_strings(),
        "urls": _page_urls(),
    }
    return render(request, "assistant/chat.html", context)


@login_required
@require_GET
def conversations_fragment(request: HttpRequest) -> HttpResponse:
    """The sidebar's list, refreshed after a first question creates a conversation."""
    context = {
        "conversations": conversation_list(fetched_by=request.user)[:CONVERSATIONS_SHOWN],
        "active_id": _id_or_none(request.GET.get("active")),
    }
    return render(request, "assistant/_conversation_list.html", context)


@login_required
@require_POST
def conversation_rename_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation_by_id(fetched_by=request.user, conversation_id=conversation_id)
    conversation_rename(conversation=conversation, title=request.POST.get("title", ""))
    context = {"item": conversation, "active_id": _id_or_none(request.POST.get("active"))}
    return render(request, "assistant/_conversation_item.html", context)


@login_required
@require_POST
def conversation_delete_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation_by_id(fetched_by=request.user, conversation_id=conversation_id)
    conversation_delete(conversation=conversation)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("chat")
        return response
    return redirect("chat")


@login_required
@require_GET
def answer_fragment(request: HttpRequest, message_id: int) -> HttpResponse:
    """One answer as the page shows it once finished (or "still being answered", which polls)."""
    message = access_message_by_id(fetched_by=request.user, message_id=message_id)
    shown = answer_shown(fetched_by=request.user, message=message)  # type: ignore[arg-type]
    return render(request, "assistant/_answer.html", {"shown": shown})


@login_required
@require_GET
def citation_fragment(request: HttpRequest, message_id: int, number: int) -> HttpResponse:
    """The passage behind chip [number], re-read through the visibility rule."""
    message = access_message_by_id(fetched_by=request.user, message_id=message_id)
    citation = citation_shown(fetched_by=request.user, message=message, number=number)  # type: ignore[arg-type]
    original = (
        document_original(fetched_by=request.user, document_id=citation.chunk.document_id) if citation.chunk else None
    )
    return render(request, "assistant/_passage.html", {"citation": citation, "original": original})


def _id_or_none(value: str | None) -> int | None:
    """Which conversation to mark as open in the list; anything but a number marks none."""
    return int(value) if value and value.isdigit() else None


def _page_urls() -> dict[str, str]:
    """URL patterns for chat.js, with "{id}" where an answer's id goes."""
    return {
        "ask": reverse("ask"),
        "answer": reverse("answer", args=[0]).replace("/0", "/{id}"),
        "stop": reverse("answer-stop", args=[0]).replace("/0/", "/{id}/"),
        "conversation": reverse("conversation", args=[0]).replace("/0", "/{id}"),
        "conversations": reverse("conversation-list"),
    }


def _page_strings() -> dict[str, str]:
    """What chat.js says, translated here so the script needs no catalog of its own."""
    return {
        "searching": _("Searching the documents you can see…"),
        "writing": _("Writing a draft answer (not yet checked)…"),
        "checking": _("Checking the draft against the passages…"),
        "queued": _("The model is busy answering someone else. You are number {position} in line."),
        "stopping": _("Stopping…"),
        "connectionLost": _("The connection dropped before the answer finished."),
        "retry": _("Try again"),
        "askFailed": _("Your question could not be sent."),
        "requestFailed": _("That did not work: Enclave could not be reached, or refused. Please try again."),
        "tooLong": _("The question is too long."),
        "copied": _("Copied"),
        "copy": _("Copy answer"),
    }
