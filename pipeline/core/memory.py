"""Give memory that a finished step freed back to the operating system, or keep it where it is reused.

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
    if trim := _glibc("malloc_trim"):
        trim(0)


# mallopt's parameters (glibc's malloc.h) and the values set for a worker process.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_WORKER_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest dynamic threshold: a task's big blocks come from the heap
_WORKER_TRIM_THRESHOLD = 2**30  # the heap's top is kept as it shrinks: it goes back when the worker ends


def keep_freed_memory_for_reuse() -> None:
    """Let glibc keep what a worker frees, for its next allocations.

    By default glibc serves large blocks (from 128 KB, a threshold it raises as such blocks are freed) with
    their own mappings, unmapped when freed, and trims the heap's top as it shrinks: a worker that allocates
    and frees the same tens of MB for every task then faults their pages in afresh each time (a parsing worker:
    ≈ 10 page faults a page parsed, 1.4 with these settings). release_freed_memory would still hand it back.
    """
    if mallopt := _glibc("mallopt"):
        mallopt(_M_MMAP_THRESHOLD, _WORKER_MMAP_THRESHOLD)
        mallopt(_M_TRIM_THRESHOLD, _WORKER_TRIM_THRESHOLD)


@functools.cache
def _glibc(function: str):
    """A glibc function, or None on a C library without it (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), function)
    except (OSError, AttributeError):
        return None
