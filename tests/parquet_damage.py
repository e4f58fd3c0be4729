"""Damage a Parquet file as a disk or a copy might after it was written: bytes flipped inside a column's pages,
the footer left intact (so a reader of footers alone sees nothing wrong); and, for contrast, a file the system
refuses to open, which is no damage."""

from __future__ import annotations

import errno
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from upath import UPath


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


def refuse_to_open(monkeypatch: pytest.MonkeyPatch, refused: UPath) -> None:
    """Opening `refused` fails as it does for a file of mode 000 (tests run as root, where chmod refuses nothing):
    PermissionError, errno 13, from pyarrow's open of a local path as from Python's."""
    real_read_table, real_open = pq.read_table, type(refused).open

    def read_table(source, **options):
        if source == refused.path:
            raise PermissionError(errno.EACCES, "Permission denied", refused.path)
        return real_read_table(source, **options)

    def open_path(self, *args, **kwargs):
        if self == refused:
            raise PermissionError(errno.EACCES, "Permission denied", refused.path)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", read_table)
    monkeypatch.setattr(type(refused), "open", open_path)
