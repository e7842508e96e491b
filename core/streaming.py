"""Responses that stream under both kinds of server: WSGI (runserver) and ASGI (uvicorn, production).

Under ASGI, Django serves a *synchronous* iterator by reading it to the end first (it warns, then
calls list() on it in a thread), so a token stream would arrive as one late block. Under ASGI the
iterator therefore runs in a thread of its own and hands each piece over as soon as it is made. When
the client goes away, the iterator is closed in that thread at the next piece, just as a WSGI server
closes it, so an abandoned answer stops generating.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse


def streaming_response(request: HttpRequest, pieces: Iterator[str], content_type: str) -> StreamingHttpResponse:
    body = _handed_over_from_a_thread(pieces) if isinstance(request, ASGIRequest) else pieces
    return StreamingHttpResponse(body, content_type=content_type)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


async def _handed_over_from_a_thread(pieces: Iterator[str]) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    handed: asyncio.Queue[object] = asyncio.Queue()
    client_left = threading.Event()
    thread = threading.Thread(target=_produce, args=(pieces, loop, handed, client_left), name="stream", daemon=True)
    thread.start()
    try:
        while (item := await handed.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield str(item)
    finally:
        client_left.set()  # a no-op when the stream ended by itself


def _produce(
    pieces: Iterator[str], loop: asyncio.AbstractEventLoop, handed: asyncio.Queue[object], client_left: threading.Event
) -> None:
    def hand(item: object) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(handed.put_nowait, item)

    try:
        for piece in pieces:
            if client_left.is_set():
                break
            hand(piece)
    except Exception as error:  # raised again in the response, where a synchronous iterator's would be
        hand(_Failed(error))
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # a generator's cleanup (stopping the answer) runs here, in its own thread
        connections.close_all()  # this thread's own database connections end with it
        hand(_END)
