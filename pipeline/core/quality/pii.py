"""PII in the published text: e-mail addresses, Japanese phone numbers (also as +81 …), postal codes and URLs.

Every pattern is defined here, once, in two forms built from the same parts: `PATTERNS` (exact spans, for
redaction and the per-page counts) and `PII_CHECK_REGEX` ("does the text hold PII": the Great Expectations
rule on the published datasets, and the scan that spares Python `re` the texts without PII). Digits and
hyphens come in both widths because the site mixes them (０９０－…). Numbers are only taken whole: a digit
run that goes on (page ids, amounts) is refused by a guard on each side.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core.schemas import CONSULTATIONS, PII_KINDS, PII_ORIGINALS, PII_TEXT_COLUMNS

_DIGITS = "0-9０-９"  # half and full width (not \d: it also takes other scripts' digits)
_D = f"[{_DIGITS}]"
_ALNUM = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"
_SEP = "[-\u2010-\u2015\u2212\uff0d\u30fc \u3000.\uff0e]"  # hyphens, dashes, minus signs, ー typed for a hyphen, spaces, dots (03.1234.5678)
_OPEN, _CLOSE = "[(（]", "[)）]"
_AFTER_AREA = f"(?:{_CLOSE}{_SEP}?|{_SEP}|{_OPEN})"  # 03-…, (03) …, 03(1234)…
_AFTER_EXCHANGE = f"(?:{_CLOSE}{_SEP}?|{_SEP})"


def _digits(prefix: str) -> str:
    """A literal prefix such as 0120 in either width."""
    return "".join(f"[{digit}{chr(ord(digit) + 0xFEE0)}]" for digit in prefix)


# The trunk prefix: the domestic 0, or the country code in its place (+81 3-…, +81-90-…, +81 (0)3-…, (+81)3-…).
_DOMESTIC = _digits("0")
_COUNTRY = f"[+＋]{_digits('81')}"
_INTERNATIONAL = f"(?:{_COUNTRY}|{_OPEN}{_COUNTRY}{_CLOSE}){_SEP}?(?:{_OPEN}{_digits('0')}{_CLOSE}{_SEP}?)?"


def _numbers(trunk: str) -> str:
    """Every written form of a Japanese number after `trunk` (the number's own digits follow the 0)."""
    # A fixed line has 10 digits, 0 + area + exchange making 6: the area has 1 to 4 digits after the 0.
    fixed = (
        f"{_OPEN}?{trunk}{_D}{{{area}}}{_AFTER_AREA}{_D}{{{5 - area}}}{_AFTER_EXCHANGE}{_D}{{4}}" for area in (1, 2, 3, 4)
    )
    mobile = (  # 090/080/070 mobile, 050 IP phones: 11 digits
        f"{trunk}{_digits(prefix)}{_SEP}?{_D}{{4}}{_SEP}?{_D}{{4}}" for prefix in ("90", "80", "70", "50")
    )
    free_dial = (
        f"{trunk}{_digits(prefix)}{_SEP}?{_D}{{3}}{_SEP}?{_D}{{{last}}}" for prefix, last in (("120", 3), ("800", 4), ("570", 3))
    )
    return "|".join((*free_dial, *mobile, *fixed, f"{trunk}{_D}{{9}}"))


_URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]"
_URL_END = r"[A-Za-z0-9\-_~/#=&%]"  # a URL does not end in the sentence's period or comma


def _lookarounds(pattern: str, refused: str) -> str:
    """The pattern where no refused character touches it; the neighbours stay outside the match."""
    return f"(?<![{refused}]){pattern}(?![{refused}])"


def _consumed_neighbours(pattern: str, refused: str) -> str:
    """Without lookarounds (RE2 has none), for "does the text hold a match" only: a match with no refused
    neighbour exists iff one exists after the start or an allowed character and before an allowed character
    or the end. Those neighbours become part of the match, so the spans are not the redacted ones.
    \\Z, not $: pandas hands a pattern with $ to Python re as soon as a text holds a newline."""
    return f"(?:^|[^{refused}]){pattern}(?:[^{refused}]|\\Z)"


def _patterns(whole: Callable[[str, str], str]) -> dict[str, str]:
    """The patterns by kind; whole(pattern, refused) keeps the pattern from matching inside a longer run."""
    return {
        "email": f"[{_ALNUM}._%+-]+[@＠][{_ALNUM}-]+(?:[.．][{_ALNUM}-]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,}}",
        "url": rf"(?:https?://|www\.){_URL_CHAR}*{_URL_END}",
        # Only whole numbers: no digit right before or after (page ids, amounts and dates hold digit runs).
        "phone": whole(f"(?:{_numbers(_DOMESTIC)}|{_numbers(_INTERNATIONAL)})", _DIGITS),
        # 〒 with or without a hyphen; a bare NNN-NNNN only when no digit or hyphen continues it (045-123-4567).
        "postal": f"〒 ?{_D}{{3}}{_SEP}?{_D}{{4}}|" + whole(f"{_D}{{3}}[-－]{_D}{{4}}", f"{_DIGITS}\\-－"),
    }


PATTERNS = _patterns(_lookarounds)
PLACEHOLDERS = {kind: f"<{kind.upper()}>" for kind in PII_KINDS}
PII_COUNT_FIELDS = [CONSULTATIONS.field(f"pii_{kind}") for kind in PII_KINDS]

# Order is priority where matches could overlap: an e-mail's domain is no URL, a URL's digits no phone.
_PII = re.compile("|".join(f"(?P<{kind}>{PATTERNS[kind]})" for kind in ("email", "url", "phone", "postal")))
# For GX expect_column_values_to_not_match_regex: no capturing groups, so pandas does not warn, and no
# lookarounds, so pandas runs it with pyarrow (RE2) on the whole column instead of re on each text.
PII_CHECK_REGEX = "|".join(f"(?:{pattern})" for pattern in _patterns(_consumed_neighbours).values())
# pyarrow takes RE2's own syntax, which spells the end of the text \z (pandas substitutes it the same way).
_PII_CHECK_RE2 = PII_CHECK_REGEX.replace(r"\Z", r"\z")


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
        redacted, found = _redact_chunks(table[column], _redact_texts)
        for row, counts in found.items():
            totals[row].update(counts)
        table = _replace(table, column, redacted)
    for column, fields in (("headings", ("text",)), ("sections", ("heading", "body")), ("related", ("question", "preview"))):
        if column in table.column_names:
            redacted, _ = _redact_chunks(table[column], lambda lists: (_redact_nested(lists, fields), {}))
            table = _replace(table, column, redacted)
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


def _redact_chunks(column: pa.ChunkedArray, redact_chunk) -> tuple[pa.ChunkedArray, dict[int, Counter]]:
    """`redact_chunk` over each chunk, its rows renumbered across chunks. Chunk by chunk, and a chunk without
    PII comes back as it is: redacting a corpus with little PII copies little of its text."""
    parts, found, start = [], {}, 0
    for chunk in column.chunks:
        part, chunk_found = redact_chunk(chunk)
        parts.append(part)
        found.update((start + row, counts) for row, counts in chunk_found.items())
        start += len(chunk)
    return pa.chunked_array(parts, column.type), found


def _replace(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, table.schema.field(index), values)


def _redact_texts(texts: pa.Array) -> tuple[pa.Array, dict[int, Counter]]:
    """The texts redacted, and the counts of the rows that held PII. Most texts hold none: one RE2 scan
    of the whole array finds the few that do, and only those go through redact()."""
    found = pc.fill_null(pc.match_substring_regex(texts, _PII_CHECK_RE2), False)
    rows = np.flatnonzero(found.to_numpy(zero_copy_only=False))
    if not len(rows):
        return texts, {}
    redacted = [redact(text) for text in texts.take(rows).to_pylist()]
    replacements = pa.array([text for text, _ in redacted], texts.type)
    return pc.replace_with_mask(texts, found, replacements), dict(zip(rows.tolist(), (counts for _, counts in redacted)))


def _redact_nested(lists: pa.ListArray, fields: tuple[str, ...]) -> pa.ListArray:
    """The list<struct> column with the named string fields of its items redacted."""
    items = lists.flatten()
    originals = [items.field(f.name) for f in items.type]
    children = [_redact_texts(child)[0] if f.name in fields else child for f, child in zip(items.type, originals)]
    if all(child is original for child, original in zip(children, originals)):
        return lists  # nothing to redact: no copy
    items = pa.StructArray.from_arrays(children, fields=list(items.type), mask=items.is_null())
    offsets = pc.subtract(lists.offsets, lists.offsets[0])  # flatten() dropped the values before a slice
    return pa.ListArray.from_arrays(offsets, items, lists.type, mask=lists.is_null())
