"""HTML to the text dumps' line structure: main content only, one block element per line.

The page is parsed with lxml (libxml2's HTML parser) and walked once in Python. The same rules used to
run over a beautifulsoup4 tree built from the same libxml2 parser; bs4's tree building and `find_all`
were 90% of an HTML page's parse time (docs/benchmarks.md), so they now run on lxml's tree directly,
with identical output (the golden tests, and differential checks against the bs4 version kept in
benchmarks/bs4_reference.py).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading

from lxml import etree

from pipeline.core.record import RejectError, RejectReason

# libxml2's nesting limit with huge_tree (256 without): an element deeper than this ends the parse, and
# the rest of the page would be silently dropped.
MAX_DEPTH = 2048
# Page chrome: never part of a consultation, wherever it sits in the tree.
_CHROME_TAGS = frozenset(
    "head script style noscript template header nav footer aside form button iframe svg dialog select input".split()
)
_CHROME_NAMES = re.compile(
    r"(?:^|[\s_-])(?:breadcrumbs?|topicpath|pankuzu|cookies?|consent|share|sns|social|banner|ads?|advert\w*|"
    r"pagination|gnav|global[\s_-]?nav|site[\s_-]?header|site[\s_-]?footer|topic[\s_-]?path)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Where a camelCase name starts a word (shareButtons, breadcrumbList, adArea): the words _CHROME_NAMES looks for.
_CAMEL_CASE_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_BLOCK_TAGS = frozenset(
    "address article blockquote dd details div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li main "
    "ol p pre section summary table tbody thead tfoot tr td th ul".split()
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_HTML_SPACE_CHARS = " \t\n\r\f"  # the same, for str.strip
_MAIN_CONTENT = ("main", "article", "body")  # the first of these (outside chrome) holds the content
# What the walk does with a node, by its tag (any other tag: inline text). Comments, PIs and entity
# references have a function as their tag (etree.Comment...), not a name.
_INLINE, _DROPPED, _BLOCK, _BREAK, _LINK = range(5)
_KINDS = {
    **dict.fromkeys(_BLOCK_TAGS, _BLOCK),
    **dict.fromkeys(_CHROME_TAGS, _DROPPED),
    **dict.fromkeys((etree.Comment, etree.PI, etree.Entity), _DROPPED),
    "br": _BREAK,
    "a": _LINK,
}


@dataclasses.dataclass(frozen=True, slots=True)
class HtmlPage:
    text: str  # one block per line, like a text dump
    url: str | None  # canonical link, else og:url
    link_targets: dict[str, str]  # a line of link text -> its href (related questions link their pages)


def html_to_text(html: str) -> HtmlPage:
    top = _parse(html)
    url = _page_url(top)
    root = _content_root(top)
    pieces: list[str] = []
    anchors: list[list] = []  # [href, first piece, end piece] of every link in the content, in document order
    if root is None:  # no main, article or body: the whole document
        _collect_children(top, pieces, anchors)
    else:
        if text := root.text:
            pieces.append(_collapse_space(text))
        _collect_children(root, pieces, anchors)
    lines = map(str.strip, "".join(pieces).split("\n"))
    return HtmlPage(text="\n".join(filter(None, lines)), url=url, link_targets=_link_targets(pieces, anchors))


def _parse(html: str) -> list[etree._Element]:
    """The document's top-level nodes (lenient, like a browser).

    Usually one `<html>` element with comments around it, but content after `</html>` becomes a second
    top-level `<html>` element: it is part of the document.
    """
    html = html.removeprefix("\ufeff")
    for encoding in (None, "utf-8"):  # lxml may refuse str input (an XML declaration); then UTF-8 bytes
        try:
            root = _feed(html.encode(encoding) if encoding else html, encoding)
        except (etree.ParserError, etree.XMLSyntaxError, UnicodeDecodeError, LookupError, ValueError):
            continue
        if root is None:
            return []
        first = root
        while (previous := first.getprevious()) is not None:
            first = previous
        return [first, *first.itersiblings()]
    return []


class _ThreadParsers(threading.local):
    """This thread's HTML parsers, by input encoding, made once rather than per page (≈ 4 µs of a page's
    parse); an lxml parser must not parse in two threads at once."""

    def __init__(self) -> None:
        self.by_encoding: dict[str | None, etree.HTMLParser] = {}


_PARSERS = _ThreadParsers()


def _feed(data: str | bytes, encoding: str | None) -> etree._Element | None:
    """The root element lxml's HTML parser makes of the data, with this thread's parser.

    No id index: faster. huge_tree lifts libxml2's nesting limit from 256 levels, which a page of unclosed
    inline tags soon passes, to MAX_DEPTH (its other limits grow too, far past any page within the size
    limit).
    """
    parsers = _PARSERS.by_encoding
    if (parser := parsers.get(encoding)) is None:
        parser = parsers[encoding] = etree.HTMLParser(encoding=encoding, collect_ids=False, huge_tree=True)
    try:
        parser.feed(data)
        root = parser.close()
    except BaseException:
        del parsers[encoding]  # a feed that failed may leave the parser inside this document: not for the next
        raise
    _refuse_a_cut_parse(parser.feed_error_log)
    return root


def _refuse_a_cut_parse(errors: etree._ListErrorLog) -> None:
    """Reject a page the parser stopped in: a recovering parse gives up at MAX_DEPTH without raising and
    keeps only what came before, so only its error log tells. (With huge_tree the depth is the only libxml2
    limit a page within the size limit reaches.)"""
    if cut := errors.filter_types([etree.ErrorTypes.ERR_RESOURCE_LIMIT]):
        raise RejectError(
            RejectReason.TOO_DEEP,
            f"nesting deeper than {MAX_DEPTH} levels at line {cut[0].line}: the HTML parser would cut the page there",
        )


def _page_url(top: list[etree._Element]) -> str | None:
    """The canonical link (even when empty: then no URL), else og:url."""
    for link in _iter_tags(top, "link"):
        if (href := link.get("href")) is not None and "canonical" in (link.get("rel") or "").lower().split():
            return href.strip() or None
    for meta in _iter_tags(top, "meta"):
        if meta.get("property") == "og:url" and (content := meta.get("content")) is not None:
            return content.strip() or None
    return None


def _iter_tags(top: list[etree._Element], tag: str):
    for node in top:
        if isinstance(node.tag, str):
            yield from node.iter(tag)


def _is_chrome(element: etree._Element) -> bool:
    return element.tag in _CHROME_TAGS or _has_chrome_names(element)


def _has_chrome_names(element: etree._Element) -> bool:
    """Whether its class or id names page chrome. keys() first: most elements have no attribute (then no
    regex), and it is one lxml call where get() takes two."""
    return bool(element.keys()) and _chrome_names(element.get("class") or "", element.get("id") or "")


@functools.lru_cache(maxsize=4096)  # a site repeats its class names on every page
def _chrome_names(classes: str, element_id: str) -> bool:
    return names_chrome(" ".join([*classes.split(), element_id]))


def names_chrome(names: str) -> bool:
    """Whether class or id names (space-separated) name page chrome, in kebab, snake or camel case (breadcrumbList
    as breadcrumb-list; breadCrumb, which the case-blind pattern matches whole, as written)."""
    return bool(names) and (
        _CHROME_NAMES.search(names) is not None or _CHROME_NAMES.search(_CAMEL_CASE_BOUNDARY.sub(" ", names)) is not None
    )


def _content_root(top: list[etree._Element]) -> etree._Element | None:
    """The first `<main>`, else `<article>`, else `<body>` outside chrome; None: the whole document."""
    found: dict[str, etree._Element] = {}
    stack = [node for node in reversed(top) if isinstance(node.tag, str) and not _is_chrome(node)]
    while stack:  # pre-order: document order, skipping chrome subtrees
        element = stack.pop()
        if element.tag in _MAIN_CONTENT:
            found.setdefault(element.tag, element)
            if element.tag == "main":
                break
        stack.extend(child for child in reversed(element) if isinstance(child.tag, str) and not _is_chrome(child))
    return next((found[name] for name in _MAIN_CONTENT if name in found), None)


def _collect_children(parent, pieces: list[str], anchors: list[list]) -> None:
    """Inline text joins up; block elements and <br> start new lines; chrome, comments and PIs are not text.

    Each text node's runs of HTML whitespace become one space, node by node (so "a " + " b" keeps two).
    A loop over a stack of open elements, not recursion: a page may nest up to MAX_DEPTH levels, past
    Python's recursion limit. The hot loop of an HTML page: one lxml call fewer per element counts.
    """
    append = pieces.append
    open_elements = []  # (their siblings still to walk, element, kind, anchor) of the elements walked into
    children = iter(parent[:])  # a list made in one lxml call: faster than the child iterator
    while True:
        if (child := next(children, None)) is None:  # the last child is done: close its parent
            if not open_elements:
                return
            children, child, kind, anchor = open_elements.pop()
        else:
            kind, anchor = _KINDS.get(child.tag, _INLINE), None
            if kind is _DROPPED or _has_chrome_names(child):
                kind = _DROPPED  # dropped with everything inside it (its tail stays)
            elif kind is _BREAK:
                append("\n")
            else:
                if kind is _BLOCK:
                    append("\n")
                elif kind is _LINK and (href := child.get("href")) is not None:
                    anchor = [href, len(pieces), 0]
                    anchors.append(anchor)
                if text := child.text:
                    append(_collapse_space(text))
                if len(child):  # walk into it; a leaf is closed at once, without a list of children
                    open_elements.append((children, child, kind, anchor))
                    children = iter(child[:])
                    continue
        if kind is _BLOCK:
            append("\n")
        elif anchor is not None:
            anchor[2] = len(pieces)
        if tail := child.tail:
            append(_collapse_space(tail))


def _collapse_space(text: str) -> str:
    """_HTML_SPACE runs to one space; the substring tests skip the regex (slow on long text) when there are none,
    and whitespace-only text (the indentation between elements, the most common case) needs no regex either."""
    if "\n" in text or "  " in text or "\t" in text or "\r" in text or "\f" in text:
        return " " if not text.strip(_HTML_SPACE_CHARS) else _HTML_SPACE.sub(" ", text)
    return text


def _link_targets(pieces: list[str], anchors: list[list]) -> dict[str, str]:
    """Each line of text inside a link, mapped to the link's target (the first link wins)."""
    targets: dict[str, str] = {}
    for href, start, end in anchors:
        href = href.strip()
        for line in map(str.strip, "".join(pieces[start:end]).split("\n")):
            if line and line not in targets:
                targets[line] = href
    return targets
