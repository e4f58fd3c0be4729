"""The previous HTML reduction (beautifulsoup4 + lxml), kept for benchmarks and as the oracle of identity.

Not used by the pipeline: `pipeline.core.html_text` is the one extraction path. This copy is the
implementation it replaced (parser 1.0.0); `benchmarks/run.py` times it next to the lxml path and
`tests/test_benchmarks_smoke.py` checks that both give identical output on generated pages.
"""

from __future__ import annotations

import dataclasses
import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

# Page chrome: never part of a consultation, wherever it sits in the tree.
_CHROME_TAGS = (
    "head", "script", "style", "noscript", "template", "header", "nav", "footer",
    "aside", "form", "button", "iframe", "svg", "dialog", "select", "input",
)  # fmt: skip
_CHROME_NAMES = re.compile(
    r"(?:^|[\s_-])(?:breadcrumbs?|topicpath|pankuzu|cookies?|consent|share|sns|social|banner|ads?|advert\w*|"
    r"pagination|gnav|global-nav|site-header|site-footer)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    "address article blockquote dd details div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li main "
    "ol p pre section summary table tbody thead tfoot tr td th ul".split()
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


@dataclasses.dataclass(frozen=True, slots=True)
class HtmlPage:
    text: str  # one block per line, like a text dump
    url: str | None  # canonical link, else og:url
    link_targets: dict[str, str]  # a line of link text -> its href (related questions link their pages)


def html_to_text(html: str) -> HtmlPage:
    soup = BeautifulSoup(html, "lxml")
    url = _page_url(soup)
    _drop_chrome(soup)
    root = soup.find("main") or soup.find("article") or soup.body or soup
    pieces: list[str] = []
    _collect_text(root, pieces)
    lines = (line.strip() for line in "".join(pieces).split("\n"))
    return HtmlPage(text="\n".join(line for line in lines if line), url=url, link_targets=_link_targets(root))


def _page_url(soup: BeautifulSoup) -> str | None:
    canonical = soup.find("link", rel="canonical", href=True)
    if canonical:
        return canonical["href"].strip() or None
    og_url = soup.find("meta", attrs={"property": "og:url", "content": True})
    return (og_url["content"].strip() or None) if og_url else None


def _link_targets(root: Tag) -> dict[str, str]:
    """Each line of text inside a link, mapped to the link's target (the first link wins)."""
    targets: dict[str, str] = {}
    for anchor in root.find_all("a", href=True):
        pieces: list[str] = []
        _collect_text(anchor, pieces)
        for line in "".join(pieces).split("\n"):
            if line := line.strip():
                targets.setdefault(line, anchor["href"].strip())
    return targets


def _drop_chrome(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(_CHROME_TAGS):
        tag.decompose()
    for tag in soup.find_all(_is_chrome_block):
        if not tag.decomposed:  # already gone with a chrome ancestor
            tag.decompose()


def _is_chrome_block(tag: Tag) -> bool:
    names = " ".join([*tag.get("class", ()), tag.get("id", "")])
    return bool(names) and _CHROME_NAMES.search(names) is not None


def _collect_text(node: Tag, pieces: list[str]) -> None:
    """Inline text joins up; block elements and <br> start new lines."""
    for child in node.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, PreformattedString):  # comments, doctype, CDATA
                pieces.append(_HTML_SPACE.sub(" ", child))
        elif child.name == "br":
            pieces.append("\n")
        elif child.name in _BLOCK_TAGS:
            pieces.append("\n")
            _collect_text(child, pieces)
            pieces.append("\n")
        else:
            _collect_text(child, pieces)
