"""The Chinese catalog is complete: an untranslated or fuzzy entry would show English (or, for a
fuzzy one, nothing translated at all) on the Chinese page."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_entry_of_the_chinese_catalog_is_translated_and_not_fuzzy() -> None:
    with CATALOG.open("rb") as po:
        catalog = read_po(po)
    entries = [message for message in catalog if message.id]
    untranslated = [
        message.id
        for message in entries
        if not all(message.string if isinstance(message.string, tuple) else [message.string])
    ]
    fuzzy = [message.id for message in entries if message.fuzzy]
    assert len(entries) > 50
    assert untranslated == [] and fuzzy == []
