"""Generation over ENCLAVE_LLM_URL, against a real HTTP server started here that speaks the
OpenAI-compatible protocol as llama-server does (a streamed chat completion; a one-token reply with
its top log-probabilities). It records what Enclave sends: greedy, seeded, uncached decoding is what
makes a remote answer as repeatable as a local one (issue 17), and the yes/no confirmation must read
the server's log-probabilities, not its text."""

from __future__ import annotations

import json
import math
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.services.answering import PASSAGES_INSTEAD, Verdict, answer_stream, relevant_passages
from assistant.services.generation import SEED, GenerationError, RemoteGenerator, generator
from knowledge.models import Source
from tests.conftest import People

MESSAGES = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "How much leave?"}]


@dataclass
class Script:
    """What the server answers, and what it was asked."""

    pieces: list[str] = field(default_factory=lambda: ["Staff get", " 25 days", "."])
    top_logprobs: list[tuple[str, float]] = field(default_factory=lambda: [("Yes", -0.1), ("No", -2.4)])
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, _, body in self.requests]


class ModelServerHandler(BaseHTTPRequestHandler):
    server: ModelServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        script = self.server.script
        script.requests.append((self.path, dict(self.headers), body))
        if body.get("stream"):
            self._stream(script.pieces)
        else:
            self._reply(script.top_logprobs)

    def _stream(self, pieces: list[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        deltas = [{"role": "assistant", "content": None}, *({"content": p} for p in pieces), {}]
        for number, delta in enumerate(deltas):
            finish = "stop" if number == len(deltas) - 1 else None
            chunk = {
                "choices": [{"finish_reason": finish, "index": 0, "delta": delta}],
                "created": 1767225600,
                "id": "chatcmpl-1",
                "model": "qwen",
                "object": "chat.completion.chunk",
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def _reply(self, top: list[tuple[str, float]]) -> None:
        options = [
            {"id": n, "token": token, "logprob": lp, "bytes": list(token.encode())} for n, (token, lp) in enumerate(top)
        ]
        reply = {
            "choices": [
                {
                    "finish_reason": "length",
                    "index": 0,
                    "message": {"role": "assistant", "content": top[0][0]},
                    "logprobs": {"content": [{**options[0], "top_logprobs": options}]},
                }
            ],
            "created": 1767225600,
            "id": "chatcmpl-2",
            "model": "qwen",
            "object": "chat.completion",
            "usage": {"completion_tokens": 1, "prompt_tokens": 40, "total_tokens": 41},
        }
        encoded = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, *args: object) -> None:
        pass


class ModelServer(ThreadingHTTPServer):
    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), ModelServerHandler)
        self.script = script


@pytest.fixture
def script(settings) -> Iterator[Script]:  # type: ignore[no-untyped-def]
    """A model server on this machine, configured as Enclave's generator; yields its script."""
    script = Script()
    server = ModelServer(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ENCLAVE_LLM_URL = f"http://127.0.0.1:{server.server_address[1]}/"
    settings.ENCLAVE_LLM_REMOTE_MODEL = "qwen"
    settings.ENCLAVE_LLM_API_KEY = "secret-key"
    yield script
    server.shutdown()
    server.server_close()


def test_the_remote_model_is_asked_for_a_greedy_seeded_stream_that_no_cached_prompt_can_change(
    script: Script,
) -> None:
    pieces = list(generator().stream(MESSAGES, max_tokens=32, should_stop=lambda: False))

    assert pieces == ["Staff get", " 25 days", "."]
    ((path, headers, body),) = script.requests
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer secret-key"
    assert body == {
        "model": "qwen",
        "messages": MESSAGES,
        "max_tokens": 32,
        "temperature": 0,
        "seed": SEED,
        "cache_prompt": False,
        "stream": True,
    }


def test_the_yes_probability_is_read_from_the_top_log_probabilities_of_one_token(script: Script) -> None:
    # Every spelling of yes counts for yes, every spelling of no for no; other tokens for neither.
    script.top_logprobs = [("Yes", -0.3), (" yes", -2.5), ("No", -1.6), ("Maybe", -3.0), (" no", -4.0)]
    yes, no = math.exp(-0.3) + math.exp(-2.5), math.exp(-1.6) + math.exp(-4.0)

    assert generator().yes_probability(MESSAGES) == pytest.approx(yes / (yes + no))
    (body,) = script.bodies()
    assert body["messages"] == MESSAGES and (body["max_tokens"], body["temperature"]) == (1, 0)
    assert body["logprobs"] is True and body["top_logprobs"] >= 2 and not body.get("stream")


def test_a_reply_that_is_neither_yes_nor_no_confirms_nothing(script: Script) -> None:
    script.top_logprobs = [("The", -0.2), ("Passage", -1.9)]
    assert generator().yes_probability(MESSAGES) == 0.0


def test_a_server_that_does_not_answer_is_a_generation_error_naming_it(settings) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as unused:  # a port nothing listens on once this closes
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    remote = RemoteGenerator(f"http://127.0.0.1:{port}")
    with pytest.raises(GenerationError, match=f"127.0.0.1:{port}"):
        list(remote.stream(MESSAGES, max_tokens=8, should_stop=lambda: False))
    with pytest.raises(GenerationError, match=f"127.0.0.1:{port}"):
        remote.yes_probability(MESSAGES)


LEAVE_QUESTION = "How many days of paid annual leave does every employee get per year?"


@pytest.mark.django_db
def test_an_answer_from_a_remote_model_stands_only_when_the_model_confirms_its_quote(
    people: People, demo: dict[str, Source], script: Script
) -> None:
    """The whole answer path over HTTP: the remote draft is checked by the rules, then the remote
    model's own yes/no on the quote decides between the cited answer and the passages."""
    (number,) = [p.number for p in relevant_passages(people.bob, LEAVE_QUESTION) if "25 days" in p.text][:1]
    draft = f"Every employee is entitled to 25 days of paid annual leave per calendar year [{number}]."
    script.pieces = [draft[:20], draft[20:45], draft[45:]]

    confirmed = list(answer_stream(asked_by=people.bob, question=LEAVE_QUESTION))[-1].answer
    assert confirmed is not None
    assert (confirmed.verdict, confirmed.text, confirmed.cited) == (Verdict.ANSWERED, draft, [number])
    assert "25 days of paid annual leave" in confirmed.quote
    assert confirmed.support == pytest.approx(1 / (1 + math.exp(-2.3)))
    streamed, confirming = script.bodies()
    assert streamed["stream"] is True and streamed["cache_prompt"] is False
    assert confirming["logprobs"] is True
    assert confirmed.quote in confirming["messages"][-1]["content"]

    script.top_logprobs = [("No", -0.1), ("Yes", -2.4)]
    denied = list(answer_stream(asked_by=people.bob, question=LEAVE_QUESTION))[-1].answer
    assert denied is not None
    assert (denied.verdict, denied.text, denied.quote) == (Verdict.PASSAGES, PASSAGES_INSTEAD, "")
    assert denied.cited == [p.number for p in denied.passages] and "25 days" not in denied.text
