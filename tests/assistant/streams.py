"""What a person receives from an answer stream, for the tests of honest streaming: the events of a
server-sent event body, the draft they carried, and what of that draft is left in what is shown."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

Events = list[tuple[str, dict[str, Any]]]


def sse_events(chunks: Iterable[bytes | str]) -> Events:
    """The (event, data) pairs of a text/event-stream body, in order (one event a chunk or many)."""
    body = "".join(chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks)
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def draft_of(events: Events) -> str:
    return "".join(data["text"] for kind, data in events if kind == "token")


def assert_checked_before_done(events: Events) -> None:
    """The draft's tokens, then one "checking", then one "done", last: nothing of the draft arrives
    once it is being checked, and the verdict comes only after the check."""
    kinds = [kind for kind, _ in events]
    assert "token" in kinds, f"no draft streamed: {kinds}"
    assert kinds.count("checking") == 1 and kinds.count("done") == 1 and kinds[-1] == "done", kinds
    checking = kinds.index("checking")
    assert "token" not in kinds[checking:], kinds
    assert kinds.index("token") < checking


def text_of(markup: str) -> str:
    """What a reader sees of an HTML fragment: its text, unescaped, with spacing collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def claims_of(draft: str, passages: Iterable[str]) -> list[str]:
    """The draft's sentences that are the model's own words (a sentence copied whole from a passage
    is the document's, and may be shown as the passage itself)."""
    quoted = " ".join(" ".join(text.split()) for text in passages)
    sentences = re.split(r"(?<=[.!?。！？])\s+", " ".join(draft.split()))
    return [s for s in sentences if len(s) > 3 and s not in quoted]


def assert_no_trace_of_the_draft(draft: str, passages: Iterable[str], *shown: str) -> None:
    claims = claims_of(draft, passages)
    assert claims, f"the test needs a draft of the model's own words, got {draft!r}"
    for text in shown:
        flat = " ".join(text.split())
        for claim in claims:
            assert claim not in flat, f"the unverified draft {claim!r} is shown: {flat!r}"
