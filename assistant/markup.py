"""Answers as safe HTML: Markdown with raw HTML switched off, and "[2]" turned into citation chips.

Model output is untrusted (a document can carry a prompt injection, and the model can echo any
text it read), so nothing it writes may become markup of its own: raw HTML is escaped, link
targets go through markdown-it's scheme check (no ``javascript:``), and images are not rendered
at all, because an image's URL is fetched the moment the answer is shown and could carry what
the answer says to someone else's server. The page's Content-Security-Policy is a second wall.
"""

from __future__ import annotations

from functools import cache

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from assistant.services.answering import CITATION


def answer_html(text: str, *, message_id: int, citations: set[int]) -> SafeString:
    """The answer's Markdown as HTML; "[n]" becomes a chip that opens passage n when the answer has
    a citation numbered n (other bracketed numbers stay plain text)."""
    env = {"message_id": message_id, "citations": citations}
    return mark_safe(_markdown().render(text, env))  # noqa: S308 - markdown-it escapes all input (html=False)


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_inline", "html_block"])
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("link_open", _render_link_open)
    return md


def _citation_rule(state: StateInline, silent: bool) -> bool:
    match = CITATION.match(state.src, state.pos)
    if not match or int(match.group(1)) not in state.env.get("citations", ()):
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.meta = {"number": int(match.group(1))}
    state.pos = match.end()
    return True


def _render_citation(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    number = tokens[idx].meta["number"]
    url = reverse("answer-citation", args=[env["message_id"], number])
    return (
        f'<button type="button" class="chip" data-citation="{number}" hx-get="{escape(url)}" '
        f'hx-target="#passage-body" aria-haspopup="dialog">{number}</button>'
    )


def _render_link_open(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # A link in an answer leaves Enclave: it must not learn where it came from or reach back.
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)
