"""Signals, not destruction: matching keys and quality measures as extra columns of consultations.

The scraped text stays as it is; consumers pick their own thresholds on these columns (dolma's way).
Everything is one pyarrow.compute call per column.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core.quality.normalise import matching_keys
from pipeline.core.schemas import CONSULTATIONS, SIGNAL_COLUMNS

SIGNAL_FIELDS = [CONSULTATIONS.field(name) for name in SIGNAL_COLUMNS]

# RE2 classes (pyarrow's regex engine). Kana: hiragana, katakana (with ー) and half-width katakana.
_KANA = r"[\x{3041}-\x{309F}\x{30A0}-\x{30FF}\x{FF66}-\x{FF9F}]"
# Kanji: CJK unified ideographs, extension A, compatibility ideographs, and the repetition mark 々.
_KANJI = r"[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{F900}-\x{FAFF}\x{3005}]"
_ASCII = r"[\x{21}-\x{7E}]"  # printable ASCII without the space
_SPACE = r"[\s\p{Z}]"


def add_signals(consultations: pa.Table) -> pa.Table:
    """The table with SIGNAL_FIELDS appended; shares are of the answer's non-whitespace characters."""
    answer = consultations["answer"]
    # Whitespace varies with the extraction (blank lines, indents), so it is left out of the shares.
    visible = pc.max_element_wise(pc.subtract(pc.utf8_length(answer), pc.count_substring_regex(answer, _SPACE)), 1)
    values = {
        "question_key": matching_keys(consultations["question"]),
        "answer_key": matching_keys(answer),
        "question_chars": pc.utf8_length(consultations["question"]),
        "answer_chars": pc.utf8_length(answer),
        "n_headings": pc.list_value_length(consultations["headings"]),
        "n_sections": pc.list_value_length(consultations["sections"]),
        "n_related": pc.list_value_length(consultations["related"]),
        "kana_share": _share(answer, _KANA, visible),
        "kanji_share": _share(answer, _KANJI, visible),
        "ascii_share": _share(answer, _ASCII, visible),
        "n_warnings": pc.list_value_length(consultations["warnings"]),
    }
    table = consultations
    for field in SIGNAL_FIELDS:
        table = table.append_column(field, values[field.name].cast(field.type))
    return table


def _share(text: pa.ChunkedArray, pattern: str, visible: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.divide(pc.count_substring_regex(text, pattern).cast(pa.float64()), visible.cast(pa.float64()))
