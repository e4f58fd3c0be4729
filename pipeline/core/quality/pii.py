"""PII in the published text: e-mail addresses, Japanese phone numbers, postal codes and URLs.

Every pattern is defined here, once: redaction, the per-page counts and the Great Expectations rule that
checks the published datasets (`PII_CHECK_REGEX`, Python `re` as pandas `str.contains` runs it) are
built from `PATTERNS`. Digits and hyphens come in both widths because the site mixes them (０９０－…).
Numbers are only taken whole: a lookbehind/lookahead refuses a digit run that goes on (page ids, amounts).
"""

from __future__ import annotations

import re
from collections import Counter

import pyarrow as pa

from pipeline.core.schemas import CONSULTATIONS, PII_KINDS, PII_ORIGINALS, PII_TEXT_COLUMNS

_D = "[0-9０-９]"  # a digit, half or full width (not \d: it also takes other scripts' digits)
_ALNUM = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"
_SEP = "[-\u2010-\u2015\u2212\uff0d\u30fc \u3000]"  # hyphens, dashes, minus signs, ー typed for a hyphen, spaces
_OPEN, _CLOSE = "[(（]", "[)）]"
_AFTER_AREA = f"(?:{_CLOSE}{_SEP}?|{_SEP}|{_OPEN})"  # 03-…, (03) …, 03(1234)…
_AFTER_EXCHANGE = f"(?:{_CLOSE}{_SEP}?|{_SEP})"


def _digits(prefix: str) -> str:
    """A literal prefix such as 0120 in either width."""
    return "".join(f"[{digit}{chr(ord(digit) + 0xFEE0)}]" for digit in prefix)


# A fixed line has 10 digits, 0 + area + exchange making 6: the area has 1 to 4 digits after the 0.
_FIXED = "|".join(
    f"{_OPEN}?{_digits('0')}{_D}{{{area}}}{_AFTER_AREA}{_D}{{{5 - area}}}{_AFTER_EXCHANGE}{_D}{{4}}" for area in (1, 2, 3, 4)
)
_FIXED_BARE = f"{_digits('0')}{_D}{{9}}"
_MOBILE = "|".join(  # 090/080/070 mobile, 050 IP phones: 11 digits
    f"{_digits(prefix)}{_SEP}?{_D}{{4}}{_SEP}?{_D}{{4}}" for prefix in ("090", "080", "070", "050")
)
_FREE_DIAL = "|".join(
    f"{_digits(prefix)}{_SEP}?{_D}{{3}}{_SEP}?{_D}{{{last}}}" for prefix, last in (("0120", 3), ("0800", 4), ("0570", 3))
)
_URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]"
_URL_END = r"[A-Za-z0-9\-_~/#=&%]"  # a URL does not end in the sentence's period or comma

PATTERNS: dict[str, str] = {
    "email": f"[{_ALNUM}._%+-]+[@＠][{_ALNUM}-]+(?:[.．][{_ALNUM}-]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,}}",
    "url": rf"(?:https?://|www\.){_URL_CHAR}*{_URL_END}",
    # Only whole numbers: no digit right before or after (page ids, amounts and dates hold digit runs).
    "phone": f"(?<![0-9０-９])(?:{_FREE_DIAL}|{_MOBILE}|{_FIXED}|{_FIXED_BARE})(?![0-9０-９])",
    # 〒 with or without a hyphen; a bare NNN-NNNN only when no digit or hyphen continues it (045-123-4567).
    "postal": f"〒 ?{_D}{{3}}{_SEP}?{_D}{{4}}|(?<![0-9０-９\\-－]){_D}{{3}}[-－]{_D}{{4}}(?![0-9０-９\\-－])",
}
PLACEHOLDERS = {kind: f"<{kind.upper()}>" for kind in PII_KINDS}
PII_COUNT_FIELDS = [CONSULTATIONS.field(f"pii_{kind}") for kind in PII_KINDS]

# Order is priority where matches could overlap: an e-mail's domain is no URL, a URL's digits no phone.
_PII = re.compile("|".join(f"(?P<{kind}>{PATTERNS[kind]})" for kind in ("email", "url", "phone", "postal")))
# For GX expect_column_values_to_not_match_regex: no capturing groups, so pandas does not warn.
PII_CHECK_REGEX = "|".join(f"(?:{PATTERNS[kind]})" for kind in PII_KINDS)


def redact(text: str | None) -> tuple[str | None, Counter]:
    """The text with every match replaced by its placeholder, and the matches counted by kind."""
    counts: Counter = Counter()
    if text is None:
        return None, counts

    def placeholder(match: re.Match) -> str:
        counts[match.lastgroup] += 1
        return PLACEHOLDERS[match.lastgroup]

    return _PII.sub(placeholder, text), counts


def redact_consultations(consultations: pa.Table) -> pa.Table:
    """Redact title, question, background and answer (and their copies in headings, sections and the
    teasers, so nothing leaks through a nested column); add pii_<kind> counts over the four text fields."""
    table = consultations
    totals = [Counter() for _ in range(table.num_rows)]
    for column in PII_TEXT_COLUMNS:
        redacted = [redact(text) for text in table[column].to_pylist()]
        for total, (_, counts) in zip(totals, redacted):
            total.update(counts)
        table = _replace(table, column, pa.array([text for text, _ in redacted], table.schema.field(column).type))
    for column, fields in (("headings", ("text",)), ("sections", ("heading", "body")), ("related", ("question", "preview"))):
        if column in table.column_names:
            table = _replace(table, column, _redact_nested(table[column], fields))
    for field, kind in zip(PII_COUNT_FIELDS, PII_KINDS):
        table = table.append_column(field, pa.array([total[kind] for total in totals], field.type))
    return table


def pii_originals(consultations: pa.Table, redacted: pa.Table) -> pa.Table:
    """The text as scraped of the pages where something was redacted (a private dataset, opt-in)."""
    found = pa.array([sum(counts) > 0 for counts in zip(*(redacted[f.name].to_pylist() for f in PII_COUNT_FIELDS))], pa.bool_())
    return consultations.filter(found).select(PII_ORIGINALS.names).cast(PII_ORIGINALS)


def pii_totals(redacted: pa.Table) -> dict[str, int]:
    """Matches per kind over the whole table (for metadata and the dataset card)."""
    return {kind: sum(redacted[f"pii_{kind}"].to_pylist()) for kind in PII_KINDS}


def pii_expectations(columns: tuple[str, ...] = PII_TEXT_COLUMNS) -> list[dict]:
    """The suite fragment that fails a published text field still holding PII."""
    return [
        {
            "type": "expect_column_values_to_not_match_regex",
            "kwargs": {"column": column, "regex": PII_CHECK_REGEX},
            "meta": {"label": "pii", "why": "published text is redacted: no e-mail, phone, postal code or URL"},
        }
        for column in columns
    ]


def _replace(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, table.schema.field(index), values)


def _redact_nested(column: pa.ChunkedArray, fields: tuple[str, ...]) -> pa.Array:
    items = [[{**item, **{f: redact(item[f])[0] for f in fields}} for item in row] for row in column.to_pylist()]
    return pa.array(items, column.type)
