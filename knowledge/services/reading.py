"""What a source holds, and the bytes of one item: files in a folder or upload area, or web pages."""

from __future__ import annotations

import fnmatch
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import EnclaveError
from knowledge.models import Source
from knowledge.parsing import BadDocument


class SourceUnavailable(EnclaveError):
    """The source as a whole cannot be listed (a folder gone, no pages configured). Shown to admins."""

    code = "source_unavailable"
    http_status = 409  # the source's state (its folder, its configuration) is what stands in the way


@dataclass(frozen=True)
class FetchedItem:
    data: bytes
    filename: str  # used to recognise the format by its extension
    content_type: str | None = None


def source_root(source: Source) -> Path:
    """The folder holding a folder or upload source's files."""
    if source.kind == Source.Kind.UPLOAD:
        return Path(settings.UPLOADS_DIR) / str(source.pk)
    return Path(str(source.config.get("path", ""))).expanduser()


def source_file_path(source: Source, uri: str) -> Path | None:
    """Where a folder or upload source keeps the file ``uri``; None for a path that leads out of
    the source's folder (through ``..`` or a symlink), which must be neither served nor deleted."""
    root = source_root(source).resolve()
    path = (root / uri).resolve()
    return path if path.is_relative_to(root) else None


def source_item_uris(source: Source) -> list[str]:
    if source.kind == Source.Kind.URL:
        urls = [str(url).strip() for url in source.config.get("urls", []) if str(url).strip()]
        if not urls:
            raise SourceUnavailable("No web pages are configured for this source.")
        return list(dict.fromkeys(urls))
    root = source_root(source)
    if source.kind == Source.Kind.UPLOAD and not root.exists():
        return []
    if not root.is_dir():
        raise SourceUnavailable(f"The folder {root} does not exist or is not a folder.")
    return _folder_files(root, source.config)


def _folder_files(root: Path, config: dict) -> list[str]:
    include = config.get("include") or ["*"]
    exclude = config.get("exclude") or []
    found = []
    for directory, subdirectories, files in os.walk(root):
        # Hidden folders (.git, .cache) are never documents; pruning here also skips their walk.
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        if not config.get("recursive", True):
            subdirectories.clear()
        for name in sorted(files):
            relative = (Path(directory) / name).relative_to(root).as_posix()
            if not name.startswith(".") and _matches(relative, include) and not _matches(relative, exclude):
                found.append(relative)
    return found


def _matches(relative: str, patterns: list[str]) -> bool:
    name = PurePosixPath(relative).name
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(name, p) for p in patterns)


def item_read(source: Source, uri: str) -> FetchedItem:
    if source.kind == Source.Kind.URL:
        return _fetch_page(uri)
    return _read_file(source_root(source) / uri)


def _read_file(path: Path) -> FetchedItem:
    try:
        size = path.stat().st_size
        _refuse_if_too_large(size)
        return FetchedItem(data=path.read_bytes(), filename=path.name)
    except FileNotFoundError:
        raise BadDocument("The file is no longer there.") from None
    except PermissionError:
        raise BadDocument("Enclave is not allowed to read this file (permission denied).") from None
    except IsADirectoryError:
        raise BadDocument("This is a folder, not a file.") from None


def _refuse_if_too_large(size: int) -> None:
    limit = settings.ENCLAVE_MAX_FILE_BYTES
    if size > limit:
        raise BadDocument(f"The file is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit.")


def _fetch_page(url: str) -> FetchedItem:
    if urlsplit(url).scheme not in {"http", "https"}:
        raise BadDocument("Only http:// and https:// pages can be fetched.")
    timeout = settings.ENCLAVE_FETCH_TIMEOUT_SECONDS
    request = urllib.request.Request(url, headers={"User-Agent": "Enclave/0.1 (knowledge ingestion)"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            data = response.read(settings.ENCLAVE_MAX_FILE_BYTES + 1)
            content_type = response.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        raise BadDocument(f"The server answered HTTP {exc.code} {exc.reason}.") from None
    except TimeoutError:
        raise BadDocument(f"The page did not answer within {timeout} seconds.") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise BadDocument(f"The page did not answer within {timeout} seconds.") from None
        raise BadDocument(f"The page could not be reached: {exc.reason}.") from None
    _refuse_if_too_large(len(data))
    return FetchedItem(data=data, filename=PurePosixPath(urlsplit(url).path).name, content_type=content_type)
