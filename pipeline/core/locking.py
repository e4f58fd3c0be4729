"""One writer of the corpus at a time, and readers between writers: an advisory lock on processed/.corpus.lock.

The corpus steps read what other corpus steps wrote (parts, the near-duplicate index, page_versions) and
write it again. Two corpus runs at once (the sensor's run after each of two batches, the daily schedule,
a `python -m pipeline build`) could interleave their reads and writes and leave an older corpus on disk
than the one Dagster records as the latest. Under the lock every corpus step reads and writes what the last
one left: later steps see as much as earlier ones, never less. The kernel drops the lock with the process
that held it, so a killed build never leaves it behind.

A dataset stored one file per batch is rewritten file by file: a reader listing its folder while a corpus step
writes could take some files of the new corpus and some of the old one (a page that moved to a newer batch
twice, or not at all). `corpus_reader` shares the lock among readers and waits for the writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from pipeline.core.batches import is_local

LOCK_FILE = ".corpus.lock"


@contextlib.contextmanager
def corpus_writer(processed: Path, waiting: Callable[[str], None] = lambda message: None) -> Iterator[None]:
    """Hold the corpus lock of `processed` (a local folder or UPath) for the block; `waiting` hears why, once,
    when another process holds it. On object storage there is no such lock: serialise corpus runs with the
    instance's run queue there (README)."""
    if not is_local(processed):
        yield
        return
    lock = _lock_path(processed)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(f"the corpus lock of {lock.parent} is held (a corpus run, {_holder(handle)}, or a reader): waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def corpus_reader(processed: Path, waiting: Callable[[str], None] = print) -> Iterator[None]:
    """Read `processed` (a local folder) in the block while no corpus step writes it; `waiting` hears why, once,
    when one does. Readers share the lock. Never creates anything: where no writer ever ran there is no lock
    file, and nothing to wait for."""
    if not is_local(processed) or not (lock := _lock_path(processed)).is_file():
        yield
        return
    with open(lock, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(f"a corpus run ({_holder(handle)}) is writing {lock.parent}: waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_path(processed: Path) -> Path:
    """The lock file of a local folder given as a path or a local UPath."""
    return Path(getattr(processed, "path", processed)) / LOCK_FILE


def _holder(handle) -> str:
    """Who last took the lock for writing, as its writer noted it in the file."""
    handle.seek(0)
    return handle.read().strip() or "another process"
