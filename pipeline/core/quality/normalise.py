"""Matching keys: one normalisation for every comparison of texts (links, frontier, near-duplicates).

NFKC folds width variants (全角/半角, ｶﾞ -> ガ), then whitespace and punctuation go: two extractions of
one page differ in exactly those. Computed with pyarrow (RE2 knows Unicode categories) so a whole column
is keyed in one call; the scalar helper goes through the same code, so there is one rule.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

# \s is ASCII-only in RE2: \p{Z} adds the Unicode spaces NFKC leaves (it maps U+3000 to a plain space).
_NOT_KEY = r"[\s\p{Z}\p{P}]+"


def matching_keys(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NFKC, without whitespace and punctuation; nulls stay null."""
    return pc.replace_substring_regex(pc.utf8_normalize(texts, "NFKC"), pattern=_NOT_KEY, replacement="")


def matching_key(text: str) -> str:
    return matching_keys(pa.array([text], pa.string()))[0].as_py()


def each_distinct(column: pa.Array | pa.ChunkedArray, derive: Callable[[pa.Array], pa.Array]) -> pa.DictionaryArray:
    """Each row's value derived (keyed, parsed) as a dictionary array: each distinct value derived once (the same
    teaser question is shown on many pages). Its dictionary holds each derived value once, though texts that
    differ may derive the same (a width variant, a comma): Parquet stores a dictionary with repeats as plain
    values, which read back as a dictionary only by hashing every one again. A null derived is a null row."""
    encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    derived = pc.dictionary_encode(derive(encoded.dictionary))
    return pa.DictionaryArray.from_arrays(pc.take(derived.indices, encoded.indices), derived.dictionary)
