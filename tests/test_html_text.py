"""HTML reduction: main content as lines, chrome dropped, URL found."""

import concurrent.futures

import pytest

from pipeline import synth
from pipeline.core.html_text import MAX_DEPTH, html_to_text
from pipeline.core.record import RejectError, RejectReason


def test_blocks_become_lines_and_inline_markup_joins():
    page = html_to_text("<body><main><p>一つ目の<strong>段落</strong>です。</p><div>二つ目<br>三つ目</div><ul><li>・項目</li></ul></main></body>")
    assert page.text.split("\n") == ["一つ目の段落です。", "二つ目", "三つ目", "・項目"]


def test_chrome_is_dropped():
    page = html_to_text(
        "<html><head><title>題名</title><script>var a=1;</script><style>p{}</style></head><body>"
        "<header>サイト名</header><nav>メニュー</nav><div class='breadcrumb'>ホーム &gt; 相続</div>"
        "<main><p>本文です。</p><div class='sns-share'>シェア</div></main>"
        "<aside>広告</aside><div id='cookie-banner'>クッキー</div><footer>著作権</footer></body></html>"
    )
    assert page.text == "本文です。"


def test_comments_are_not_text():
    assert html_to_text("<body><p>本文<!-- メモ -->です。</p></body>").text == "本文です。"


def test_main_content_falls_back_to_article_then_body():
    assert html_to_text("<body><div>外側</div><article><p>記事</p></article></body>").text == "記事"
    assert html_to_text("<body><div>本体</div></body>").text == "本体"


def test_url_from_canonical_then_og_url():
    both = "<head><link rel='canonical' href='https://a.example/x/20230101000000-1'><meta property='og:url' content='https://b.example/'></head>"
    assert html_to_text(both).url == "https://a.example/x/20230101000000-1"
    assert html_to_text("<head><meta property='og:url' content='https://b.example/y'></head>").url == "https://b.example/y"
    assert html_to_text("<p>なし</p>").url is None


def nested(depth: int, inner: str, tag: str = "div") -> str:
    return f"<{tag}>" * depth + inner + f"</{tag}>" * depth


# 300: past libxml2's default limit (256 levels); 1,500: past Python's recursion limit (1,000 frames).
@pytest.mark.parametrize("depth", [300, 1500])
def test_deeply_nested_content_is_read_whole(depth):
    page = html_to_text(
        f"<body><header>{nested(depth, 'サイト名')}</header>"
        f"<main>{nested(depth, '<p>一つ目の<a href=/x><span><b>段落</b></span></a>です。</p>')}<p>二つ目</p></main></body>"
    )
    assert page.text == "一つ目の段落です。\n二つ目"
    assert page.link_targets == {"段落": "/x"}


def test_the_depth_limit_is_the_html_parsers():
    # html and body count: the deepest element the parser keeps is at MAX_DEPTH.
    assert html_to_text("<html><body>" + nested(MAX_DEPTH - 2, "本文") + "</body></html>").text == "本文"
    with pytest.raises(RejectError) as refused:
        html_to_text("<html><body>" + nested(MAX_DEPTH - 1, "本文") + "<p>残り</p></body></html>")
    assert refused.value.reason == RejectReason.TOO_DEEP
    assert f"deeper than {MAX_DEPTH} levels" in refused.value.detail


def test_nesting_past_the_limit_anywhere_is_refused_not_cut():
    # In chrome the walk never goes, the parser would still drop everything after the cut.
    with pytest.raises(RejectError) as refused:
        html_to_text(f"<body><nav>{nested(MAX_DEPTH, 'メニュー')}</nav><main><p>本文</p></main></body>")
    assert refused.value.reason == RejectReason.TOO_DEEP


def test_a_parse_that_fails_half_way_leaves_nothing_for_the_next_page():
    # Each thread reuses its lxml parser; this one fails after lxml's first chunk (2**19 characters) was parsed.
    assert html_to_text("<p>" + "a" * 600_000 + "\ud800</p>").text == ""
    assert html_to_text("<p>次のページ</p>").text == "次のページ"


def test_threads_parse_at_once_as_one_thread_does():
    pages = [synth.render_html(synth.make_page(5, serial, 0, "html")) for serial in range(40)]
    serial = [html_to_text(page) for page in pages]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(html_to_text, pages)) == serial


@pytest.mark.parametrize(
    "chrome",
    [
        "<div class='breadcrumbList'>ホーム &gt; 相続</div>",
        "<ol id='topicPath'><li>ホーム</li></ol>",
        "<div class='shareButtons'><a>ポストする</a></div>",
        "<div class='adArea'>スポンサーリンク</div>",
        "<div class='headerAds'>広告</div>",
        "<div class='cookieConsent'>クッキーを使用しています。</div>",
        "<ul class='globalNav'><li>相談を探す</li></ul>",
    ],
)
def test_chrome_named_in_camel_case_is_dropped(chrome):
    # Class names written in camelCase name the same chrome as their kebab-case forms (share-buttons, ad-area).
    assert html_to_text(f"<body>{chrome}<p>相続</p><p>本文です。</p></body>").text == "相続\n本文です。"


@pytest.mark.parametrize("name", ["leadText", "addressBox", "loadsOfText", "adviceBox", "breadcrumbsLikeWord".lower()])
def test_camel_case_words_that_only_start_like_chrome_are_content(name):
    assert html_to_text(f"<body><div class='{name}'>本文です。</div></body>").text == "本文です。"


def test_canonical_link_type_is_case_blind():
    # HTML link types are ASCII case-insensitive: rel="Canonical" names the page as rel="canonical" does.
    head = "<head><link rel='Canonical' href='https://a.example/x/20230101000000-1'><meta property='og:url' content='https://b.example/'></head>"
    assert html_to_text(head + "<p>x</p>").url == "https://a.example/x/20230101000000-1"


@pytest.mark.parametrize("tag", ["form", "button", "iframe", "select", "dialog", "template"])
def test_chrome_tags_inside_the_content_are_dropped(tag):
    assert html_to_text(f"<body><main><p>本文です。</p><{tag}>操作用の文字</{tag}></main></body>").text == "本文です。"


@pytest.mark.parametrize(
    "chrome",
    [
        "class='pankuzu'",  # the Japanese name for breadcrumbs
        "class='sns-links'",
        "class='pagination'",
        "class='gnav'",
        "id='site-header'",
        "id='site_footer'",
        "class='topic-path'",
        "class='social-icons'",
        "class='advertisement'",
    ],
)
def test_chrome_named_by_class_or_id_is_dropped(chrome):
    assert html_to_text(f"<body><main><div {chrome}>ホーム &gt; 一覧</div><p>本文です。</p></main></body>").text == "本文です。"


@pytest.mark.parametrize("tag", "h1 h2 h3 h4 h5 h6 li dt dd td th blockquote pre figcaption summary address".split())
def test_every_block_tag_is_a_line_of_its_own(tag):
    # The text right inside <main> is content too.
    page = html_to_text(f"<body><main>前の文<{tag}>囲まれた文</{tag}>後の文</main></body>")
    assert page.text.split("\n") == ["前の文", "囲まれた文", "後の文"]


def test_main_wins_over_an_article_before_it():
    assert html_to_text("<body><article><p>関連する記事</p></article><main><p>本文</p></main></body>").text == "本文"


def test_an_article_inside_chrome_is_not_the_content():
    assert html_to_text("<body><aside><article><p>広告の記事</p></article></aside><article><p>本文</p></article></body>").text == "本文"


def test_an_empty_canonical_link_means_no_url_even_with_og_url():
    head = "<head><link rel='canonical' href=' '><meta property='og:url' content='https://b.example/y'></head>"
    assert html_to_text(head + "<p>x</p>").url is None


def test_the_first_link_of_a_line_text_wins():
    page = html_to_text("<body><main><p><a href='/a'>同じ見出し</a></p><p><a href='/b'>同じ見出し</a></p></main></body>")
    assert page.link_targets == {"同じ見出し": "/a"}
