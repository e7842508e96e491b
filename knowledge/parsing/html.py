"""HTML (.html): headings become heading paths; paragraphs, list items, table rows and loose text become blocks."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString

from knowledge.parsing.base import Block, ParsedDocument, RawFile, library_errors, read_text
from knowledge.parsing.blocks import HeadingPath, add_block, clean, clean_code, push_heading, titles

_DROPPED = ["script", "style", "nav", "footer", "header", "noscript", "template"]
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {"p", "li", "blockquote", "dd", "dt", "figcaption", "caption"}
# Tags inside running text: their words belong to the sentence around them, not to a block of their own.
_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "img", "ins",
    "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
}  # fmt: skip


def parse(file: RawFile) -> ParsedDocument:
    text = read_text(file)
    with library_errors("The HTML page could not be read"):
        soup = BeautifulSoup(text, "lxml")
        for tag in soup.find_all(_DROPPED):
            tag.extract()  # page furniture and code repeat on every page and answer nothing
        walker = _Walker()
        walker.walk(soup.body or soup)
        walker.flush()
        first_h1 = soup.find("h1")
        title = _text(soup.title) if soup.title else ""
        title = title or (_text(first_h1) if isinstance(first_h1, Tag) else "")
    return ParsedDocument(title=title, blocks=walker.blocks, metadata={"format": "html"})


def _text(tag: Tag) -> str:
    """The words of ``tag``; block tags and <br> break lines so words either side do not run together."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag) and node.name not in _INLINE:
            parts.append("\n")  # a newline, so clean() joins wrapped Chinese without a space
        elif _is_text(node):
            parts.append(str(node))
    return clean("".join(parts))


def _is_text(node: PageElement) -> bool:
    # Comments, CDATA and doctypes are strings to bs4 but not text a reader sees.
    return isinstance(node, NavigableString) and not isinstance(node, PreformattedString)


class _Walker:
    """Walks the page in document order, so every block knows the headings above it."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.path: HeadingPath = []
        self.loose: list[str] = []  # text outside any block tag, gathered until the next block starts

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                self.visit(child)
            elif _is_text(child):
                self.loose.append(str(child))

    def flush(self) -> None:
        add_block(self.blocks, "".join(self.loose), titles(self.path))
        self.loose = []

    def visit(self, tag: Tag) -> None:
        if tag.name in _INLINE:
            self.walk(tag)
            return
        if tag.name == "br":
            self.loose.append("\n")  # a line break inside running text, not the end of a block
            return
        self.flush()  # any other tag starts a new block
        if tag.name in _HEADINGS:
            push_heading(self.path, _HEADINGS[tag.name], _text(tag))
        elif tag.name == "pre":
            self._add_code(tag)
        elif tag.name == "tr":
            self._add_row(tag)
        elif tag.name in _BLOCKS and not _has_block_inside(tag):
            add_block(self.blocks, _text(tag), titles(self.path))
        else:
            self.walk(tag)  # a container (div, ul, table, a <li> holding a list...): its parts are the blocks
            self.flush()

    def _add_code(self, tag: Tag) -> None:
        code = clean_code(tag.get_text())
        if code:
            self.blocks.append(Block(text=code, heading_path=titles(self.path)))

    def _add_row(self, tag: Tag) -> None:
        cells = [_text(cell) for cell in tag.find_all(["td", "th"], recursive=False)]
        if any(cells):
            add_block(self.blocks, " | ".join(cells), titles(self.path))


def _has_block_inside(tag: Tag) -> bool:
    return any(inner.name not in _INLINE and inner.name != "br" for inner in tag.find_all(True))
