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
import math
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

    def yes_probability(self, messages: Messages) -> float:
        """How likely the model's reply to ``messages`` starts with "yes" rather than "no" (0..1),
        read from its log-probabilities for one token, without generating anything."""
        ...


# Decoding is greedy: the same question over the same passages gets the same answer, word for word.
# Sampling (even at a low temperature) made the verdict a coin toss near the boundary.
TEMPERATURE = 0.0
SEED = 1
YES, NO = ("yes", "是", "对"), ("no", "否", "不")


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
            seed=SEED,
            verbose=False,
        )
        self._kept: list[int] = []  # the prompt prefix kept in the cache (see _keep_only_the_shared_prefix)
        # Free it before the interpreter tears down the modules llama.cpp's destructor needs.
        atexit.register(self._llama.close)

    def stream(self, messages: Messages, *, max_tokens: int, should_stop: Callable[[], bool]) -> Iterator[str]:
        with self._lock:
            self._keep_only_the_shared_prefix(messages)
            # The model's own chat template (from the GGUF metadata) formats the messages.
            chunks: Any = self._llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]  # plain dicts of the same shape
                max_tokens=max_tokens,
                temperature=TEMPERATURE,
                seed=SEED,
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

    def yes_probability(self, messages: Messages) -> float:
        """Read from the logits after the prompt. The prompt usually extends the answer's own prompt
        and answer, which are still in the cache: only the new tokens are read (a few dozen)."""
        import numpy as np

        with self._lock:
            llama: Any = self._llama
            tokens = self._tokens_of(messages, generation_prompt=True)
            cached = llama.input_ids[: llama.n_tokens].tolist()
            shared = next((i for i, (a, b) in enumerate(zip(cached, tokens, strict=False)) if a != b), None)
            shared = min(len(cached), len(tokens) - 1) if shared is None else min(shared, len(tokens) - 1)
            llama._ctx.kv_cache_seq_rm(-1, shared, -1)
            llama.n_tokens = shared
            llama.eval(tokens[shared:])
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
            return _yes_share(logits, self._first_token_ids(YES), self._first_token_ids(NO))

    def _first_token_ids(self, words: tuple[str, ...]) -> list[int]:
        spellings = {form for word in words for form in (word, word.capitalize(), " " + word, " " + word.capitalize())}
        return sorted({self._llama.tokenize(form.encode(), add_bos=False, special=False)[0] for form in spellings})

    def _keep_only_the_shared_prefix(self, messages: Messages) -> None:
        """Make every answer independent of what the prompt cache held before it.

        llama.cpp reuses the longest cached prefix of a prompt; how much that was (one earlier
        question, or the same one asked twice) changed how the rest was computed, and near a
        tie a greedy answer could change with it. So the cache keeps only the system prompt,
        computed once and alone, and everything after it is read afresh for every answer."""
        llama: Any = self._llama
        system = self._tokens_of(messages[:1], generation_prompt=False) if messages else []
        cached = llama.input_ids[: min(llama.n_tokens, len(system))].tolist()
        if self._kept != system or cached != system:
            llama.reset()
            llama._ctx.kv_cache_clear()
            llama.eval(system)
            self._kept = system
        llama._ctx.kv_cache_seq_rm(-1, len(system), -1)
        llama.n_tokens = len(system)

    def prompt_tokens(self, messages: Messages) -> int:
        """How many tokens the model reads for these messages, formatted by the GGUF's own template."""
        return len(self._tokens_of(messages, generation_prompt=True))

    def _tokens_of(self, messages: Messages, *, generation_prompt: bool) -> list[int]:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama: Any = self._llama
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:  # no template to apply: the contents alone, a close lower bound
            return [t for m in messages for t in llama.tokenize(m["content"].encode(), add_bos=False)]
        eos, bos = llama.token_eos(), llama.token_bos()
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
            add_generation_prompt=generation_prompt,
        )
        prompt = formatter(messages=messages).prompt  # type: ignore[arg-type]  # plain dicts of the same shape
        return list(llama.tokenize(prompt.encode(), add_bos=False, special=True))

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
            "temperature": TEMPERATURE,
            "seed": SEED,
            "cache_prompt": False,  # llama-server: no answer depends on what an earlier one left cached
            "stream": True,
        }
        try:
            with urllib.request.urlopen(self._request(body), timeout=120) as response:  # noqa: S310
                for line in response:
                    if should_stop():
                        return  # closing the connection tells the server to stop
                    text = _sse_delta(line)
                    if text:
                        yield text
        except OSError as exc:
            raise GenerationError(f"The answering server at {self._url} did not answer: {exc}") from exc

    def yes_probability(self, messages: Messages) -> float:
        """One token with its top log-probabilities (llama-server and vLLM return them)."""
        body = {
            "model": settings.ENCLAVE_LLM_REMOTE_MODEL,
            "messages": messages,
            "max_tokens": 1,
            "temperature": TEMPERATURE,
            "seed": SEED,
            "cache_prompt": False,  # as for answers: a yes/no near the bar must not depend on the cache
            "logprobs": True,
            "top_logprobs": 10,
        }
        try:
            with urllib.request.urlopen(self._request(body), timeout=60) as response:  # noqa: S310
                reply = json.load(response)
        except OSError as exc:
            raise GenerationError(f"The answering server at {self._url} did not answer: {exc}") from exc
        content = ((reply.get("choices") or [{}])[0].get("logprobs") or {}).get("content") or [{}]
        options = content[0].get("top_logprobs") or []
        yes = sum(math.exp(o["logprob"]) for o in options if o.get("token", "").strip().lower() in YES)
        no = sum(math.exp(o["logprob"]) for o in options if o.get("token", "").strip().lower() in NO)
        return yes / (yes + no) if yes + no > 0 else 0.0

    def _request(self, body: dict[str, Any]) -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        if settings.ENCLAVE_LLM_API_KEY:
            headers["Authorization"] = f"Bearer {settings.ENCLAVE_LLM_API_KEY}"
        return urllib.request.Request(self._url, json.dumps(body).encode(), headers)  # noqa: S310 - operator's URL


def _yes_share(logits: Any, yes_ids: list[int], no_ids: list[int]) -> float:
    """P(yes) / (P(yes) + P(no)) over the spellings of each, from raw logits."""
    import numpy as np

    chosen = logits[yes_ids + no_ids].astype(np.float64)
    weights = np.exp(chosen - chosen.max())
    yes = float(weights[: len(yes_ids)].sum())
    return yes / float(weights.sum())


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
