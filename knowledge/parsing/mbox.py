"""Mailboxes (.mbox): every message read as an .eml file is, each its own section of one document.

A sync makes one document of each file, so a mailbox is one document and its citations name the message
("Q3 budget (Alice Smith, 2024-03-01)"). A message that cannot be read is skipped and listed with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.parsing import eml
from knowledge.parsing.base import BadDocument, Block, ParsedDocument, RawFile

# Each message starts with a "From " line; lines in a body that start so are escaped (">From ") by
# whatever wrote the mailbox. This is how Python's mailbox module splits them too, without needing a file.
_FROM_LINE = re.compile(rb"^From [^\n]*\n", re.MULTILINE)


def parse(file: RawFile) -> ParsedDocument:
    if not file.data.startswith(b"From "):
        raise BadDocument("The file is not a mailbox: an .mbox file starts with a line beginning 'From '.")
    blocks: list[Block] = []
    skipped: list[dict[str, Any]] = []
    messages = [raw for raw in _FROM_LINE.split(file.data) if raw.strip()]
    for number, raw in enumerate(messages, start=1):
        try:
            found, info = eml.message_blocks(eml.read_message(raw), file)
        except BadDocument as exc:  # a hostile message (nested too deep) loses only itself
            skipped.append({"message": number, "reason": str(exc)})
            continue
        blocks += found
        skipped += [{"message": number, **attachment} for attachment in info["skipped_attachments"]]
    metadata = {"format": "mbox", "messages": len(messages), "skipped": skipped}
    return ParsedDocument(title="", blocks=blocks, metadata=metadata)
