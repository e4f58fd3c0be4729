"""Decoding: the same page in every encoding, line ending and format gives the same fields."""

import codecs
import random

import pytest

from pipeline.core.decode import decode_page
from pipeline.core.record import RejectError
from pipeline.core.page import parse_page
from tests.pages import make_html, make_page

CONTENT_FIELDS = ("category", "title", "question", "background", "answer", "headings", "sections", "related", "warnings")
PAGE = make_page()


def content(result):
    assert result.status == "ok", result.reject_detail
    return {field: getattr(result, field) for field in CONTENT_FIELDS}


VARIANTS = {
    "utf-8": (PAGE.encode("utf-8"), "utf-8", "text"),
    "utf-8 with BOM": (codecs.BOM_UTF8 + PAGE.encode("utf-8"), "utf-8-sig", "text"),
    "cp932": (PAGE.encode("cp932"), "cp932", "text"),
    "euc-jp": (PAGE.encode("euc_jp"), "euc_jp", "text"),
    "crlf": (PAGE.replace("\n", "\r\n").encode("utf-8"), "utf-8", "text"),
    "cr": (PAGE.replace("\n", "\r").encode("utf-8"), "utf-8", "text"),
    "ideographic and nbsp indents": (
        "\n".join(f"\u3000{line}\u00a0 " if line else line for line in PAGE.split("\n")).encode("utf-8"),
        "utf-8",
        "text",
    ),
    "html utf-8": (make_html(PAGE).encode("utf-8"), "utf-8", "html"),
    "html shift_jis meta": (make_html(PAGE, charset="Shift_JIS").encode("cp932"), "cp932", "html"),
    "html euc-jp meta": (make_html(PAGE, charset="EUC-JP").encode("euc_jp"), "euc_jp", "html"),
    "html cp932 without meta": (make_html(PAGE, charset="").replace('<meta charset="">', "").encode("cp932"), "cp932", "html"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_gives_the_same_fields(variant):
    data, encoding, page_format = VARIANTS[variant]
    result = parse_page(data, variant)
    assert content(result) == content(parse_page(PAGE.encode("utf-8"), "reference"))
    assert (result.encoding, result.format) == (encoding, page_format)


HIRAGANA_ONLY = "<html><head>{meta}</head><body><p>こんにちは。よろしくおねがいします。</p></body></html>"


def test_declared_charset_wins_over_detection():
    """EUC-JP bytes of hiragana are valid CP932 too (half-width katakana): detection reads them as EUC-JP, and a
    meta naming Shift_JIS, which they decode in, is what they are read as."""
    assert decode_page(HIRAGANA_ONLY.format(meta="").encode("euc_jp")).encoding == "euc_jp"
    declared = HIRAGANA_ONLY.format(meta='<meta charset="Shift_JIS">').encode("euc_jp")
    assert decode_page(declared).encoding == "cp932"


@pytest.mark.parametrize("declared", ["EUC-JP", "utf-8"])
def test_wrong_declared_charset_falls_back_to_detection(declared):
    data = make_html(PAGE, charset=declared).encode("cp932")
    with pytest.raises(UnicodeDecodeError):  # the declared charset cannot read the page
        data.decode(codecs.lookup(declared).name)
    assert decode_page(data).encoding == "cp932"


def test_zero_width_characters_are_removed():
    assert decode_page("労働\u200b問題\ufeff".encode()).text == "労働問題"


WIDE = {
    "utf-16 with BOM": (PAGE.encode("utf-16"), "UTF-16"),
    "utf-16-le without BOM": (PAGE.encode("utf-16-le"), "UTF-16"),
    "utf-16-be without BOM": (PAGE.encode("utf-16-be"), "UTF-16"),
    "html utf-16-le without BOM": (make_html(PAGE).encode("utf-16-le"), "UTF-16"),
    "utf-16-be with BOM, no ASCII": (codecs.BOM_UTF16_BE + "労働問題\u3000残業代".encode("utf-16-be"), "UTF-16"),
    "utf-32 with BOM": (PAGE.encode("utf-32"), "UTF-32"),  # its BOM begins with UTF-16's
    "utf-32-le without BOM": (PAGE.encode("utf-32-le"), "UTF-32"),
    "utf-32-be without BOM": (PAGE.encode("utf-32-be"), "UTF-32"),
    "html utf-32-be with BOM": (codecs.BOM_UTF32_BE + make_html(PAGE).encode("utf-32-be"), "UTF-32"),
}


@pytest.mark.parametrize("variant", WIDE)
def test_utf16_and_utf32_are_text_in_an_unsupported_encoding_not_binary(variant):
    data, encoding = WIDE[variant]
    result = parse_page(data, variant)
    assert (result.status, result.reject_reason) == ("rejected", "undecodable")
    assert result.reject_detail.startswith(f"{encoding} text")


BINARY = {
    "random bytes": random.Random(7).randbytes(4096),
    "NUL in every other byte, control characters as UTF-16": bytes(byte for code in range(256) for byte in (code, 0)),
    "a UTF-16 BOM then random bytes": codecs.BOM_UTF16_LE + random.Random(8).randbytes(4096),
    "a UTF-32 BOM then random bytes": codecs.BOM_UTF32_LE + random.Random(9).randbytes(4096),
    **{f"a {codec} page with a stray NUL byte": PAGE.encode(codec).replace(b"\n", b"\n\x00", 1) for codec in ("utf-8", "cp932", "euc_jp")},
    # ASCII around a NUL reads as UTF-16 kanji (no control character): it was named UTF-16 text
    "ASCII text with a stray NUL byte": b"hello\x00world",
    "ASCII lines with NUL bytes": b"category\x00\nquestion about a lease\x00\nanswer\n" * 3,
    "a few bytes ending in NUL (no UTF-32 character)": b"ab\x00",
}


@pytest.mark.parametrize("variant", BINARY)
def test_binary_with_nul_bytes_stays_binary(variant):
    result = parse_page(BINARY[variant], variant)
    assert (result.status, result.reject_reason) == ("rejected", "binary_content")


def _cut_inside_a_character(page: str, teaser: str) -> bytes:
    """The page's UTF-8 bytes with `teaser`'s last character cut to its first byte, as a site cutting by bytes does."""
    assert teaser.endswith("...") and teaser in page
    whole = teaser.removesuffix("...")
    cut = whole[:-1].encode() + whole[-1].encode()[:1] + b"..."
    return page.encode().replace(teaser.encode(), cut)


@pytest.mark.parametrize("wrap", [lambda page: page, make_html], ids=["text", "html"])
def test_a_teaser_cut_inside_a_character_loses_that_character_only(wrap):
    teaser = next(line for line in PAGE.split("\n") if line.endswith("...") and line != "...")
    reference = parse_page(wrap(PAGE).encode(), "reference")
    result = parse_page(_cut_inside_a_character(wrap(PAGE), teaser), "cut")
    assert (result.status, result.encoding) == ("ok", "utf-8")
    assert result.warnings == (*reference.warnings, "cut_character_dropped")
    [(cut_item, whole_item)] = [(a, b) for a, b in zip(result.related, reference.related, strict=True) if a != b]
    assert cut_item.preview == whole_item.preview[:-1] and cut_item.truncated
    assert content(result) | {"related": None, "warnings": None} == content(reference) | {"related": None, "warnings": None}


@pytest.mark.parametrize(
    "broken",
    [
        "労働".encode()[:-1] + "問題です。".encode(),  # a broken character not before a cut mark
        b"\x81" + "...".encode(),  # a lone continuation byte: no character's start
    ],
)
def test_other_invalid_utf8_is_rejected_not_dropped(broken):
    with pytest.raises(RejectError, match="not valid as any of"):
        decode_page(broken)


def test_a_broken_character_whose_cut_mark_is_not_right_after_it_is_not_dropped():
    """Not a teaser cut by bytes, so not UTF-8 with a character dropped: these bytes happen to be valid CP932."""
    decoded = decode_page("労働".encode()[:-1] + b"x...")
    assert (decoded.encoding, decoded.cut_character_dropped) == ("cp932", False)
    assert decoded.text.endswith("x...")


def test_short_cp932_dense_in_nec_symbols_is_read_as_cp932():
    """charset_normalizer declines such text as a mess; it decodes only as CP932 and reads as Japanese prose."""
    text = "労働\n①残業代について㈱に聞く\n回答です。"
    decoded = decode_page(text.encode("cp932"))
    assert (decoded.text, decoded.encoding) == (text, "cp932")


@pytest.mark.parametrize(
    "data",
    [
        "㈱㈲①漢字圧縮".encode("cp932") * 3,  # no hiragana: not prose
        b"\xea}\xc4\x82\xd0N\x12u\x19K\xcb",  # a few stray bytes, one of them read as a hiragana
    ],
)
def test_bytes_that_decode_in_one_encoding_but_read_as_no_prose_stay_undecodable(data):
    with pytest.raises(RejectError):
        decode_page(data)


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_every_zero_width_character_is_removed(char):
    assert decode_page(f"労働{char}問題".encode()).text == "労働問題"


def test_tabs_and_no_break_spaces_become_spaces():
    assert decode_page("労働\t問題\u00a0相談".encode()).text == "労働 問題 相談"


def test_html_opening_on_a_comment_is_html():
    # Browsers that save a page put a comment first ("saved from url=...").
    data = ("<!-- saved from url=(0040)https://houritsu.example/fudosan/ -->\n" + make_html(PAGE)).encode()
    result = parse_page(data, "saved.html")
    assert result.format == "html"
    assert content(result) == content(parse_page(PAGE.encode("utf-8"), "reference"))


@pytest.mark.parametrize(
    ("label", "codec"),
    [("Shift_JIS", "cp932"), ("Windows-31J", "cp932"), ("x-sjis", "cp932"), ("MS932", "cp932"),
     ("EUC-JP", "euc_jp"), ("EUC-JIS-2004", "euc_jp"), ("UTF-8", "utf_8"), ("ISO-8859-1", None)],
)  # fmt: skip
def test_declared_charset_labels_name_the_codecs_we_read(label, codec):
    from pipeline.core.decode import _declared_charset

    assert _declared_charset(f'<html><head><meta charset="{label}">'.encode()) == codec


def test_a_few_stray_control_characters_are_removed_but_many_are_binary():
    def with_controls(n: int) -> bytes:
        return PAGE.replace("はじめに", "はじめに" + "\x07" * n, 1).encode()

    few, reference = parse_page(with_controls(3), "few"), parse_page(PAGE.encode(), "reference")
    assert few.warnings == (*reference.warnings, "control_characters_removed")
    assert content(few) | {"warnings": None} == content(reference) | {"warnings": None}
    assert parse_page(with_controls(20), "many").reject_reason == "binary_content"


def test_control_characters_are_never_taken_for_text():
    """A first line of ESC and other control bytes passed for the category; a file of them for a page."""
    garbled = parse_page(("\x1b\x01\x02\n" + PAGE.split("\n", 1)[1]).encode(), "garbled")
    assert (garbled.status, garbled.reject_reason) == ("rejected", "no_category")
    only = parse_page(b"\x1b\x1b\x1b\x01\x02\n", "only")
    assert (only.reject_reason, only.reject_detail) == ("binary_content", "only control characters and whitespace")
