"""The previous HTML reduction (beautifulsoup4 + lxml), kept for benchmarks and as the oracle of identity.

Not used by the pipeline: `pipeline.core.html_text` is the one extraction path. This copy is the
implementation it replaced (parser 1.0.0); `benchmarks/run.py` times it next to the lxml path and
`tests/test_benchmarks_smoke.py` checks that both give identical output on generated pages.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from pipeline.core import html_text

# The same rules as the production reduction (one place for each rule); only the traversal differs.
_CHROME_TAGS = sorted(html_text._CHROME_TAGS)  # bs4's find_all takes a list of names
_BLOCK_TAGS, _HTML_SPACE = html_text._BLOCK_TAGS, html_text._HTML_SPACE
HtmlPage = html_text.HtmlPage  # the same result type: the two reductions compare as values


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
    canonical = soup.find("link", href=True, rel=lambda rel: rel is not None and rel.lower() == "canonical")
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
    return html_text.names_chrome(" ".join([*tag.get("class", ()), tag.get("id", "")]))


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
