"""Bytes to text: format sniffing, encoding detection and line-ending/space normalisation."""

from __future__ import annotations

import codecs
import dataclasses
import re

import charset_normalizer

from pipeline.core.record import RejectError, RejectReason
from pipeline.core.related import TEASER_ENDINGS

# The encodings this site's scrapes come in. Shift_JIS is read as CP932, its superset.
SUPPORTED_ENCODINGS = ("utf_8", "cp932", "euc_jp")
_CP932_ALIASES = {"windows-31j", "x-sjis", "ms932", "ms_kanji", "csshiftjis", "x-ms-cp932"}
_CANONICAL_NAMES = {"utf_8": "utf-8", "cp932": "cp932", "shift_jis": "cp932", "euc_jp": "euc_jp"}

_HTML_START = re.compile(rb"^\s*(?:<!doctype\s+html|<html|<head|<body|<!--|<meta|<\?xml)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
# Control characters other than tab/newline/carriage return/form feed: a sign of binary data.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
# Those of them a page's text never holds (U+FFFD stays: it marks text lost before the scrape): a few are removed.
_STRAY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Zero-width characters carry nothing and break matching.
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# The bytes that decode to _CONTROL_CHARS (but U+FFFD) in UTF-8, CP932 and EUC-JP alike: single bytes there.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
# UTF-16 and UTF-32: text in an encoding we do not read, which would otherwise pass for binary data (it holds
# NUL bytes). UTF-32's BOMs first: its little-endian one begins with UTF-16's.
_WIDE_BOMS = {
    codecs.BOM_UTF32_LE: "utf_32_le",
    codecs.BOM_UTF32_BE: "utf_32_be",
    codecs.BOM_UTF16_LE: "utf_16_le",
    codecs.BOM_UTF16_BE: "utf_16_be",
}
# What such text does not hold but other bytes read in those encodings do: control characters (C0 but tab and
# line breaks, C1) and private use ones (the lead bytes E0-EF of UTF-8's Japanese, as a high byte).
_NOT_WIDE_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
# Japanese prose is a third to a half hiragana (its particles and endings); other bytes read as CP932 or EUC-JP
# give kanji and half-width katakana, hiragana seldom.
_HIRAGANA = re.compile(r"[\u3041-\u309f]")
_MIN_HIRAGANA_SHARE = 0.2  # of the characters that are not ASCII
_MIN_PROSE_CHARS = 10  # non-ASCII characters: below, a chance hiragana in a few stray bytes would pass for prose
# A site that cuts its teasers by bytes, not characters, leaves the start of a UTF-8 character before the cut
# mark ("\xe6\xb3..."): those bytes are dropped, and only those (`_drop_cut_character`).
_CUT_MARKS_UTF8 = tuple(mark.encode() for mark in TEASER_ENDINGS)
_DROP_CUT_CHARACTER = "pipeline.drop_cut_character"


@dataclasses.dataclass(frozen=True, slots=True)
class DecodedPage:
    text: str  # line endings normalised to "\n"
    encoding: str  # utf-8 | utf-8-sig | cp932 | euc_jp
    format: str  # text | html
    cut_character_dropped: bool = False  # the start of a character cut before a teaser's cut mark was dropped
    control_characters_removed: bool = False  # a few stray control characters (ESC, BEL, ...) were removed


def sniff_format(data: bytes) -> str:
    head = data[:1024].removeprefix(codecs.BOM_UTF8)
    return "html" if _HTML_START.match(head) else "text"


def decode_page(data: bytes) -> DecodedPage:
    """Decode raw bytes, or raise RejectError with the reject reason."""
    if wide := _wide_codec(data):
        name = "UTF-32" if wide.startswith("utf_32") else "UTF-16"
        raise RejectError(RejectReason.UNDECODABLE, f"{name} text ({wide}): not one of {', '.join(SUPPORTED_ENCODINGS)}")
    if b"\x00" in data[:8192]:
        raise RejectError(RejectReason.BINARY_CONTENT, "NUL bytes in the first 8 KiB")
    page_format = sniff_format(data)
    text, encoding, cut_character_dropped = _decode_text(data, page_format)
    control_bytes = _control_bytes(data)
    if _control_chars_above(8, control_bytes, text) and len(_CONTROL_CHARS.findall(text[:8192])) > 8:
        raise RejectError(RejectReason.BINARY_CONTENT, f"control characters in text decoded as {encoding}")
    # A few are removed: left in, one would be taken for text (a category line of ESC characters).
    text, removed = _STRAY_CONTROLS.subn("", text) if control_bytes else (text, 0)
    controls_removed = removed > 0
    text = normalise_text(text)
    if not text or text.isspace():  # any Unicode whitespace: ideographic spaces too
        if controls_removed:
            raise RejectError(RejectReason.BINARY_CONTENT, "only control characters and whitespace")
        raise RejectError(RejectReason.EMPTY_FILE, f"{len(data)} bytes, no visible content")
    return DecodedPage(text, encoding, page_format, cut_character_dropped, controls_removed)


def _wide_codec(data: bytes) -> str | None:
    """The codec ("utf_32_le", "utf_32_be", "utf_16_le" or "utf_16_be") when the data is UTF-32 or UTF-16 text,
    else None.

    The codec comes from a BOM. Without one, NUL bytes in the first 8 KiB say the text may be either: UTF-32 is
    tried first (UTF-16 text read as UTF-32 gives code points beyond Unicode, UTF-32 text read as UTF-16 gives
    NUL characters), then UTF-16 in the byte order where most NUL bytes are (in UTF-16 text they are mostly the
    high bytes of ASCII characters: line breaks, markup). And that start must read as text: binary data, or a page
    in a supported encoding with a stray NUL byte, read so breaks a character or gives a control or private-use one.
    Without a BOM it must also read as Japanese or ASCII (`_reads_as_wide_text`).
    """
    head = data[:8192]
    bom = next((bom for bom in _WIDE_BOMS if head.startswith(bom)), None)
    if bom is not None:
        codec = _WIDE_BOMS[bom]
        return codec if _text_in(head[len(bom) :], codec) is not None else None
    if b"\x00" not in head:
        return None
    candidates = ["utf_32_le", "utf_32_be", "utf_16_le" if head[1::2].count(0) > head[0::2].count(0) else "utf_16_be"]
    return next((codec for codec in candidates if _reads_as_wide_text(head, codec)), None)


def _text_in(head: bytes, codec: str) -> str | None:
    """The start decoded in the codec, if it decodes and holds no character wide text does not (control, private
    use); else None."""
    try:  # an incremental decoder: the 8 KiB may end inside a character
        text = codecs.getincrementaldecoder(codec)().decode(head)
    except UnicodeDecodeError:
        return None
    return None if _NOT_WIDE_TEXT.search(text) else text


def _reads_as_wide_text(head: bytes, codec: str) -> bool:
    """Whether a start without a BOM reads as text in the codec: at least one character, and ASCII or Japanese.

    ASCII text with a stray NUL byte ("hello\\x00world") reads as UTF-16 without a control character: two ASCII
    bytes make a code unit in U+2020-U+7E7E, nearly all kanji, hiragana only for a letter before a "0". Japanese
    text holds hiragana (its particles and endings). A few bytes read as UTF-32 may make no character at all.
    """
    text = _text_in(head, codec)
    return bool(text) and (text.isascii() or _HIRAGANA.search(text) is not None)


def _control_chars_above(limit: int, control_bytes: int, text: str) -> bool:
    """Whether the text may hold more than `limit` control characters: a cheap upper bound.

    Control characters other than U+FFFD come from control bytes only (one each; `_control_bytes` counts
    them in C); only a page over the bound pays for the regex count over its first 8 KiB.
    """
    return control_bytes + text.count("\ufffd") > limit


def _control_bytes(data: bytes) -> int:
    """The bytes that decode to control characters (U+FFFD aside): single bytes in UTF-8, CP932 and EUC-JP alike."""
    return len(data) - len(data.translate(None, _CONTROL_BYTES))


def normalise_text(text: str) -> str:
    """CRLF/CR to LF, NBSP and tabs to spaces, zero-width characters removed."""
    # Each step only when needed, and str.replace rather than str.translate (which takes a slow
    # per-character path on non-ASCII text): decoding was a third of a text page's parse time.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if any(char in text for char in _INVISIBLE_CHARS):
        text = _INVISIBLE.sub("", text)
    return text.replace("\u00a0", " ").replace("\t", " ")


def _decode_text(data: bytes, page_format: str) -> tuple[str, str, bool]:
    """(text, encoding, whether a cut character was dropped)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            text, cut_character_dropped = _utf8(data[len(codecs.BOM_UTF8) :])
            return text, "utf-8-sig", cut_character_dropped
        except UnicodeDecodeError as error:
            raise RejectError(RejectReason.UNDECODABLE, f"BOM says UTF-8 but {error.reason} at byte {error.start}")
    declared = _declared_charset(data) if page_format == "html" else None
    if declared not in (None, "utf_8"):
        try:
            return data.decode(declared), _CANONICAL_NAMES[declared], False
        except UnicodeDecodeError:
            pass
    try:
        text, cut_character_dropped = _utf8(data)
        return text, "utf-8", cut_character_dropped
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data, cp_isolation=list(SUPPORTED_ENCODINGS)).best()
    if best is not None:
        return str(best), _CANONICAL_NAMES.get(best.encoding, best.encoding), False
    if only := _only_japanese_decoding(data):
        return *only, False
    raise RejectError(RejectReason.UNDECODABLE, f"not valid as any of {', '.join(SUPPORTED_ENCODINGS)}")


def _only_japanese_decoding(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) when the data decodes without error in exactly one of the Japanese encodings and reads as
    Japanese prose; else None.

    charset_normalizer declines short text dense in symbols such as NEC's ① and ㈱ (CP932 only) as a mess.
    """
    decodings = []
    for codec in (codec for codec in SUPPORTED_ENCODINGS if codec != "utf_8"):
        try:
            decodings.append((data.decode(codec), _CANONICAL_NAMES[codec]))
        except UnicodeDecodeError:
            continue
    if len(decodings) != 1:
        return None
    text = decodings[0][0]
    non_ascii = sum(not char.isascii() for char in text)
    prose = non_ascii >= _MIN_PROSE_CHARS and len(_HIRAGANA.findall(text)) >= _MIN_HIRAGANA_SHARE * non_ascii
    return decodings[0] if prose else None


def _utf8(data: bytes) -> tuple[str, bool]:
    """UTF-8 text, and whether the start of a character cut before a teaser's cut mark was dropped; raises
    UnicodeDecodeError for any other invalid byte."""
    try:
        return data.decode("utf_8"), False
    except UnicodeDecodeError:
        return data.decode("utf_8", _DROP_CUT_CHARACTER), True


def _drop_cut_character(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: drops the start of a character when a cut mark follows it, else fails.

    An "invalid continuation byte" error spans the longest valid start of a character (a lead byte and the
    continuation bytes that fit it), so only bytes of one cut character go.
    """
    if (
        isinstance(error, UnicodeDecodeError)
        and error.reason == "invalid continuation byte"
        and error.object.startswith(_CUT_MARKS_UTF8, error.end)
    ):
        return "", error.end
    raise error


codecs.register_error(_DROP_CUT_CHARACTER, _drop_cut_character)


def _declared_charset(data: bytes) -> str | None:
    """The charset named in a <meta> tag, as a Python codec name we support."""
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    if label in _CP932_ALIASES:
        return "cp932"
    try:
        codec = codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None
    codec = {"shift_jis": "cp932", "ms932": "cp932", "euc_jis_2004": "euc_jp"}.get(codec, codec)
    return codec if codec in SUPPORTED_ENCODINGS else None
