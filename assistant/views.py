"""The assistant's web endpoints: ask, stream the answer (server-sent events), stop, feedback.

Views stay thin: parse, call one selector or service, render; a service's refusal (an EnclaveError)
is answered by ``json_errors`` as ``{"error", "code"}`` with its status. The answer stream runs after the
view has returned (and after the request's transaction has ended); every read it makes opens its
own ``acting_as`` block (chunk_search does), so nothing in it can see more than the asker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from assistant.selectors import access_conversation_by_id, access_message_by_id, answer_shown
from assistant.services.answering import Answer, Event, Passage
from assistant.services.conversations import (
    answer_events,
    answer_stop,
    conversation_create,
    feedback_give,
    question_submit,
)
from assistant.services.generation import GenerationError
from core.pages import json_errors
from core.streaming import streaming_response


@login_required
@require_POST
@json_errors
def ask(request: HttpRequest) -> JsonResponse:
    """Start an answer: {"question", "conversation"?} -> {"conversation", "message", "stream"}."""
    conversation_id = request.POST.get("conversation")
    if conversation_id:
        conversation = access_conversation_by_id(fetched_by=request.user, conversation_id=conversation_id)
    else:
        conversation = conversation_create(owner=request.user)  # type: ignore[arg-type]
    question = request.POST.get("question", "")
    message = question_submit(conversation=conversation, asked_by=request.user, text=question)  # type: ignore[arg-type]
    return JsonResponse(
        {"conversation": conversation.pk, "message": message.pk, "stream": f"/chat/answers/{message.pk}/stream"}
    )


@login_required
@require_GET
@json_errors
def answer_stream_view(request: HttpRequest, message_id: int) -> HttpResponseBase:
    message = access_message_by_id(fetched_by=request.user, message_id=message_id)
    events = answer_events(message=message, asked_by=request.user)  # type: ignore[arg-type]
    response = streaming_response(request, sse_stream(events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the tokens back
    return response


@login_required
@require_POST
@json_errors
def answer_stop_view(request: HttpRequest, message_id: int) -> JsonResponse:
    answer_stop(message=access_message_by_id(fetched_by=request.user, message_id=message_id))
    return JsonResponse({"stopping": True})


@login_required
@require_POST
@json_errors
def feedback_view(request: HttpRequest, message_id: int) -> HttpResponse:
    """Thumbs up or down; the page (htmx) gets its feedback buttons back, showing the choice."""
    message = access_message_by_id(fetched_by=request.user, message_id=message_id)
    rating = _whole_number(request.POST.get("rating", "0"))
    feedback_give(message=message, given_by=request.user, rating=rating, comment=request.POST.get("comment", ""))  # type: ignore[arg-type]
    if request.headers.get("HX-Request"):
        shown = answer_shown(fetched_by=request.user, message=message)  # type: ignore[arg-type]
        return render(request, "assistant/_feedback.html", {"shown": shown})
    return JsonResponse({"rating": rating})


def _whole_number(value: str) -> int:
    """The form's number; anything else is 0, which feedback_give refuses in words."""
    try:
        return int(value)
    except ValueError:
        return 0


def sse_stream(events: Iterator[Event]) -> Iterator[str]:
    """Events as server-sent events; a model failure becomes an "error" event with its reason."""
    try:
        for event in events:
            yield _sse(event)
    except GenerationError as exc:
        yield _sse_message("error", {"message": str(exc)})


def _sse(event: Event) -> str:
    if event.kind == "token":
        return _sse_message("token", {"text": event.text})
    if event.kind == "queued":
        return _sse_message("queued", {"position": event.position})
    if event.kind == "checking":
        return _sse_message("checking", {})
    assert event.answer is not None
    if event.kind == "passages":
        return _sse_message("passages", {"passages": [passage_json(p) for p in event.answer.passages]})
    return _sse_message("done", answer_json(event.answer))


def _sse_message(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def passage_json(passage: Passage) -> dict:
    chunk = passage.hit.chunk
    return {
        "number": passage.number,
        "document": chunk.document_id,
        "title": chunk.document.title,
        "source": chunk.document.source.name,
        "location": chunk.metadata.get("section") or chunk.metadata.get("page"),
        "distance": passage.hit.distance,
    }


def answer_json(answer: Answer) -> dict:
    return {
        "verdict": answer.verdict.value,
        "stopped": answer.stopped,
        "text": answer.text,
        "cited": answer.cited,
        "language": answer.language,
        "standalone_question": answer.standalone_question,
        "quote": answer.quote,
    }
