"""Token streams from the answering model: local (llama.cpp, loaded once per process) or remote.

With ENCLAVE_LLM_URL set, generation goes to an OpenAI-compatible server (a llama.cpp server, vLLM,
...), which is how a deployment scales generation out to other machines; nothing is loaded here.
Otherwise the GGUF model from model_files runs in this process. llama.cpp is imported lazily:
web views that never answer must not pay for it.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from django.conf import settings

from assistant.services.model_files import model_path
from core.errors import EnclaveError

Messages = list[dict[str, str]]  # [{"role": "system" | "user" | "assistant", "content": ...}]


class GenerationError(EnclaveError):
    """The model could not produce an answer (missing file, server down); the message is for people."""

    code = "generation_failed"
    http_status = 503


class Generator(Protocol):
    def stream(self, messages: Messages, *, max_tokens: int, should_stop: Callable[[], bool]) -> Iterator[str]: ...


class LocalGenerator:
    """One llama.cpp model per process; it serves one generation at a time (a lock, because a
    llama.cpp context is not thread-safe, and two at once on the same cores only slow both)."""

    def __init__(self) -> None:
        from llama_cpp import Llama

        self._lock = threading.Lock()
        self._llama = Llama(
            model_path=str(model_path()),
            n_ctx=settings.ENCLAVE_LLM_CONTEXT_TOKENS,
            n_threads=settings.ENCLAVE_LLM_THREADS or os.cpu_count(),
            verbose=False,
        )
        # Free it before the interpreter tears down the modules llama.cpp's destructor needs.
        atexit.register(self._llama.close)

    def stream(self, messages: Messages, *, max_tokens: int, should_stop: Callable[[], bool]) -> Iterator[str]:
        with self._lock:
            # The model's own chat template (from the GGUF metadata) formats the messages.
            chunks: Any = self._llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]  # plain dicts of the same shape
                max_tokens=max_tokens,
                temperature=0.1,
                # Small models loop ("The office is open ... The office is open ..."); llama.cpp's
                # usual completion default, which its chat completion does not apply.
                repeat_penalty=1.1,
                stream=True,
            )
            try:
                for chunk in chunks:
                    if should_stop():
                        return  # leaving the loop ends the generation at the next token
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            except ValueError as exc:
                # llama.cpp refuses a prompt longer than its context (a very long question, with the
                # passages and the conversation so far): a failed answer that says so, not a crash.
                if "context window" not in str(exc):
                    raise
                raise GenerationError(f"The question is too long for the model: {exc}. Ask a shorter one.") from exc

    def prompt_tokens(self, messages: Messages) -> int:
        """How many tokens the model reads for these messages, formatted by the GGUF's own template."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama: Any = self._llama
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:  # no template to apply: count the contents, a close lower bound
            return sum(len(llama.tokenize(m["content"].encode(), add_bos=False)) for m in messages)
        eos, bos = llama.token_eos(), llama.token_bos()
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
        )
        prompt = formatter(messages=messages).prompt  # type: ignore[arg-type]  # plain dicts of the same shape
        return len(llama.tokenize(prompt.encode(), add_bos=False, special=True))

    def forget_prompt(self) -> None:
        """Drop the cached prompt, so the next call reads its whole prompt (benchmarks compare like
        with like; serving keeps the cache, which spares re-reading the shared system prompt)."""
        with self._lock:
            self._llama.reset()


class RemoteGenerator:
    """An OpenAI-compatible /v1/chat/completions endpoint, streamed."""

    def __init__(self, base_url: str) -> None:
        self._url = base_url.rstrip("/") + "/v1/chat/completions"

    def stream(self, messages: Messages, *, max_tokens: int, should_stop: Callable[[], bool]) -> Iterator[str]:
        body = {
            "model": settings.ENCLAVE_LLM_REMOTE_MODEL,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.1,
            "stream": True,
        }
        headers = {"Content-Type": "application/json"}
        if settings.ENCLAVE_LLM_API_KEY:
            headers["Authorization"] = f"Bearer {settings.ENCLAVE_LLM_API_KEY}"
        request = urllib.request.Request(self._url, json.dumps(body).encode(), headers)  # noqa: S310 - operator's URL
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                for line in response:
                    if should_stop():
                        return  # closing the connection tells the server to stop
                    text = _sse_delta(line)
                    if text:
                        yield text
        except OSError as exc:
            raise GenerationError(f"The answering server at {self._url} did not answer: {exc}") from exc


def _sse_delta(line: bytes) -> str:
    if not line.startswith(b"data:"):
        return ""
    payload = line[5:].strip()
    if payload == b"[DONE]":
        return ""
    choices = json.loads(payload).get("choices") or [{}]
    return str(choices[0].get("delta", {}).get("content") or "")


@functools.cache
def _local(model: str) -> LocalGenerator:
    return LocalGenerator()


def local_generator_loaded() -> bool:
    return _local.cache_info().currsize > 0


def generator() -> Generator:
    """The configured generator; the local model is loaded on first use and kept."""
    if settings.ENCLAVE_LLM_URL:
        return RemoteGenerator(settings.ENCLAVE_LLM_URL)
    return _local(str(settings.ENCLAVE_LLM_MODEL))
