"""Template helpers of the chat page."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from assistant.markup import answer_html
from assistant.selectors import ShownMessage

register = template.Library()


@register.simple_tag
def answer_markup(shown: ShownMessage) -> SafeString:
    """The answer as HTML; only passages the reader may still open become chips."""
    openable = {c.number for c in shown.citations if c.chunk is not None}
    return answer_html(shown.text, message_id=shown.message.pk, citations=openable)


@register.filter
def location_of(metadata: dict) -> str:
    """Where in the document a passage is: its section, or its page."""
    if metadata.get("section"):
        return str(metadata["section"])
    return _("page %(page)s") % {"page": metadata["page"]} if metadata.get("page") else ""
