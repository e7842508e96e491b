"""E-mail (.eml): from, to, date and subject as metadata and as the message's first block; the body (the
plain-text part, else the HTML one, read as a web page); each attachment read by its own format's parser.

Every block's heading path starts with the message ("Q3 budget (Alice Smith, 2024-03-01)"), and an
attachment's blocks add "attachment report.xlsx" and the attachment's own path, so a citation names both.
An attachment's name is only a label: nothing is ever written to or read from the filesystem. An attachment
that cannot be read (a picture, a damaged file) is skipped and listed with the reason; e-mails attached
inside e-mails deeper than MAX_DEPTH fail the whole file, as a zip bomb does.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from typing import Any, cast

from knowledge.parsing.base import BadDocument, Block, ParsedDocument, RawFile, library_errors
from knowledge.parsing.blocks import clean

MAX_DEPTH = 5  # e-mails inside e-mails: forwarding as an attachment rarely goes past two or three
HEADERS = ("from", "to", "cc", "date", "subject")


class NestedTooDeep(BadDocument):
    """Raised through every level of attachments: it fails the file rather than skipping one attachment."""


def parse(file: RawFile) -> ParsedDocument:
    blocks, info = message_blocks(read_message(file.data), file)
    return ParsedDocument(title=info["subject"], blocks=blocks, metadata={"format": "eml", **info})


def read_message(data: bytes) -> EmailMessage:
    with library_errors("The e-mail could not be read"):
        return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(data))  # what policy.default builds


def message_blocks(message: EmailMessage, file: RawFile) -> tuple[list[Block], dict[str, Any]]:
    """The message's blocks (headers, body, attachments) and its metadata (headers, attachments)."""
    if file.depth > MAX_DEPTH:
        raise NestedTooDeep(
            f"The e-mail has e-mails attached inside e-mails more than {MAX_DEPTH} levels deep; "
            "it looks like an attempt to exhaust the server. Forward the innermost message on its own."
        )
    with library_errors("The e-mail's headers could not be read"):
        headers = _headers(message)
        path = (_label(message, headers),)
    lines = [f"{name.capitalize()}: {headers[name]}" for name in HEADERS if headers[name]]
    blocks = [Block(text="\n".join(lines), heading_path=path)] if lines else []
    blocks += _body(message, file, path)
    attached, skipped = _attachments(message, file, path, blocks)
    return blocks, {**headers, "attachments": attached, "skipped_attachments": skipped}


def _headers(message: EmailMessage) -> dict[str, str]:
    headers = {name: clean(str(message.get(name) or "")) for name in HEADERS}
    when = getattr(message.get("date"), "datetime", None)  # None when the date is malformed
    if when is not None:
        headers["date"] = when.isoformat()
    return headers


def _label(message: EmailMessage, headers: dict[str, str]) -> str:
    """How people name an e-mail: its subject, who sent it and when."""
    senders = getattr(message.get("from"), "addresses", ())
    sender = clean(senders[0].display_name or senders[0].addr_spec) if senders else headers["from"]
    about = ", ".join(part for part in (sender, headers["date"][:10]) if part)
    subject = headers["subject"] or "(no subject)"
    return f"{subject} ({about})" if about else subject


def _body(message: EmailMessage, file: RawFile, path: tuple[str, ...]) -> list[Block]:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return []
    try:  # through the same parsers as uploads: text/plain as text, text/html as a web page
        parsed = file.attachment_parse(_payload(body), "", _content_type(body))
    except BadDocument:  # an empty body: the message may be all attachments
        return []
    return [Block(b.text, (*path, *b.heading_path), b.page) for b in parsed.blocks]


def _attachments(
    message: EmailMessage, file: RawFile, path: tuple[str, ...], blocks: list[Block]
) -> tuple[list[str], list[dict[str, str]]]:
    attached: list[str] = []
    skipped: list[dict[str, str]] = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        name = clean(part.get_filename() or "") or f"{number} ({part.get_content_type()})"
        try:
            parsed = file.attachment_parse(_payload(part), name, _content_type(part))
        except NestedTooDeep:
            raise
        except BadDocument as exc:
            skipped.append({"name": name, "reason": str(exc)})
            continue
        here = (*path, f"attachment {name}")
        blocks += [Block(b.text, (*here, *b.heading_path), b.page) for b in parsed.blocks]
        attached.append(name)
    return attached, skipped


def _payload(part: MIMEPart) -> bytes:
    if part.get_content_maintype() == "message":  # an attached e-mail is a parsed message, not bytes
        inner = part.get_payload(0)
        return inner.as_bytes() if isinstance(inner, EmailMessage) else b""
    payload = part.get_payload(decode=True)  # undoes base64 and quoted-printable
    return payload if isinstance(payload, bytes) else b""


def _content_type(part: MIMEPart) -> str:
    charset = part.get_content_charset()
    return part.get_content_type() + (f"; charset={charset}" if charset else "")
