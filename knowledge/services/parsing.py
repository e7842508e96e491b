"""Turning a file's bytes into text blocks that keep their structure (headings, pages).

Every way a file can be unusable raises BadDocument with a reason written for a knowledge admin;
the ingestion service stores that reason on the document and carries on with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BadDocument(Exception):
    """A document that cannot be ingested. ``str(exc)`` is the reason shown to admins, in words."""


@dataclass(frozen=True)
class Block:
    """A run of text that belongs together: a paragraph, a list item, a table row, a page's text."""

    text: str
    heading_path: tuple[str, ...] = ()  # the headings above this block, outermost first
    page: int | None = None  # 1-based page number, for formats that have pages


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. {"format": "pdf", "pages": 12}
