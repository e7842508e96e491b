"""What the assistant itself writes in place of an answer (a refusal, a stop notice), in the answer's language.

An answer's language is the language of its question, not the reader's page language (a Chinese
question asked from the English page is answered in Chinese), so these words are rendered under
``translation.override`` rather than the request's active language. They are marked with
``gettext_noop`` where they are defined; their English text is the msgid and their Chinese text is
in ``locale/zh_Hans/LC_MESSAGES/django.po``.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def in_language(language: str, message: str) -> str:
    """``message`` in ``language``; in English for a language Enclave has no catalog for (or none recorded)."""
    known = {code for code, _ in settings.LANGUAGES}
    with translation.override(language if language in known else "en"):
        return translation.gettext(message)
