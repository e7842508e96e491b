"""Every read of knowledge goes through here, with the requesting user as an argument."""

from knowledge.selectors.documents import (
    Original,
    access_document_by_id,
    chunk_list,
    chunks_by_id,
    document_list,
    document_original,
    source_list,
)
from knowledge.selectors.sync import (
    SyncProgress,
    source_list_with_sync_progress,
    sync_progress_of,
    sync_queued,
    sync_run_progress,
)

__all__ = [
    "Original",
    "SyncProgress",
    "access_document_by_id",
    "chunk_list",
    "chunks_by_id",
    "document_list",
    "document_original",
    "source_list",
    "source_list_with_sync_progress",
    "sync_progress_of",
    "sync_queued",
    "sync_run_progress",
]
