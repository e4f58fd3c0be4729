"""Give memory that a finished step freed back to the operating system.

A step's tables and indexes are freed when it ends, but the allocators keep the pages for reuse: Arrow's
pool (mimalloc) and glibc's heap (numpy arrays, Python objects). In a build that runs every step in one
process, what one step freed would then count in the memory of every later step (≈ 1.2 GB after the
near-duplicate step at 100k pages).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

import pyarrow as pa


def release_freed_memory() -> None:
    """Collect reference cycles (what is freed only then: tables held by finished generators and contexts),
    then hand back what the allocators kept of freed memory."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if trim := _malloc_trim():
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
