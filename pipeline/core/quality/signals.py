"""Signals, not destruction: matching keys and quality measures as extra columns of consultations.

The scraped text stays as it is; consumers pick their own thresholds on these columns (dolma's way).
Computed on batches of rows in threads (pyarrow's kernels and numpy release the GIL), each signal with
one pyarrow.compute call, but for the character classes of the answer (see _class_counts).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
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
_CLASSES = {"space": _SPACE, "kana": _KANA, "kanji": _KANJI, "ascii": _ASCII}  # counted in the answer

_BATCH_ROWS = 1024  # a thread's share; also bounds _class_counts' arrays (some 25 bytes a character)


def add_signals(consultations: pa.Table) -> pa.Table:
    """The table with SIGNAL_FIELDS appended; shares are of the answer's non-whitespace characters."""
    # At least one batch, so that an empty table gets its (empty) columns too.
    batches = [consultations.slice(start, _BATCH_ROWS) for start in range(0, max(consultations.num_rows, 1), _BATCH_ROWS)]
    with ThreadPoolExecutor() as pool:
        signals = pa.concat_tables(pool.map(_signals, batches))
    table = consultations
    for field in SIGNAL_FIELDS:
        table = table.append_column(field, signals[field.name])
    return table


def _signals(consultations: pa.Table) -> pa.Table:
    """The SIGNAL_FIELDS columns of a batch of rows."""
    answer = consultations["answer"].combine_chunks()
    counts = _class_counts(answer)
    # Whitespace varies with the extraction (blank lines, indents), so it is left out of the shares.
    visible = pc.max_element_wise(pc.subtract(pc.utf8_length(answer), counts["space"]), 1)
    values = {
        "question_key": matching_keys(consultations["question"]),
        "answer_key": matching_keys(answer),
        "question_chars": pc.utf8_length(consultations["question"]),
        "answer_chars": pc.utf8_length(answer),
        "n_headings": pc.list_value_length(consultations["headings"]),
        "n_sections": pc.list_value_length(consultations["sections"]),
        "n_related": pc.list_value_length(consultations["related"]),
        "kana_share": _share(counts["kana"], visible),
        "kanji_share": _share(counts["kanji"], visible),
        "ascii_share": _share(counts["ascii"], visible),
        "n_warnings": pc.list_value_length(consultations["warnings"]),
    }
    return pa.Table.from_arrays([values[field.name].cast(field.type) for field in SIGNAL_FIELDS], schema=pa.schema(SIGNAL_FIELDS))


def _share(count: pa.Array, visible: pa.Array) -> pa.Array:
    return pc.divide(count.cast(pa.float64()), visible.cast(pa.float64()))


def _class_counts(texts: pa.StringArray) -> dict[str, pa.Array]:
    """Per text, how many characters each of _CLASSES matches (null for a null text), as
    count_substring_regex counts them but without a regex search at every character: each distinct
    character is matched against the classes once, then the texts' characters are counted by class."""
    filled = texts.fill_null("")
    code_points = np.frombuffer("".join(filled.to_pylist()).encode("utf-32-le"), np.uint32)
    rows = np.repeat(np.arange(len(texts)), pc.utf8_length(filled).to_numpy())
    # One bincount for all classes: per text, the characters of each combination of class bits; a
    # class's count sums the combinations holding its bit.
    combinations = np.bincount(rows << len(_CLASSES) | _class_bits(code_points), minlength=len(texts) << len(_CLASSES))
    has_bit = (np.arange(1 << len(_CLASSES))[:, None] >> np.arange(len(_CLASSES))) & 1
    counts = combinations.reshape(len(texts), 1 << len(_CLASSES)) @ has_bit
    nulls = texts.is_null().to_numpy(zero_copy_only=False)
    return {name: pa.array(counts[:, k], pa.int64(), mask=nulls) for k, name in enumerate(_CLASSES)}


def _class_bits(code_points: np.ndarray) -> np.ndarray:
    """Per character, bit k set when the k-th of _CLASSES matches it: RE2 decides, on the distinct characters."""
    distinct = np.flatnonzero(np.bincount(code_points))
    characters = pa.array([chr(code_point) for code_point in distinct.tolist()], pa.string())
    bits = np.zeros(distinct[-1] + 1 if len(distinct) else 0, np.uint8)
    for k, pattern in enumerate(_CLASSES.values()):
        bits[distinct] |= pc.match_substring_regex(characters, pattern).to_numpy(zero_copy_only=False).astype(np.uint8) << k
    return bits[code_points]
