"""Damage a Parquet file as a disk or a copy might after it was written: bytes flipped inside a column's pages,
the footer left intact (so a reader of footers alone sees nothing wrong)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq


def flip_bytes_in_column(path: Path, column: str, count: int = 4) -> None:
    """Invert the last `count` bytes of the column's chunk (first row group): the end of its last page's data,
    never a page header (whose statistics no checksum covers)."""
    footer = pq.read_metadata(path)
    names = [footer.schema.column(i).path for i in range(footer.num_columns)]
    chunk = footer.row_group(0).column(names.index(column))
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    end = start + chunk.total_compressed_size
    data = bytearray(path.read_bytes())
    data[end - count : end] = bytes(byte ^ 0xFF for byte in data[end - count : end])
    path.write_bytes(bytes(data))
