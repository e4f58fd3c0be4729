"""Scrape batches: one folder under raw/ per scrape run, and when such a folder is ready to process.

A batch is ready when it holds a `_SUCCESS` marker (the scraper says it is done) or when nothing in it
has changed for a quiet period (scrapers that write no marker). Its fingerprint changes whenever a
file is added, removed or rewritten, so a sensor can tell a new file in an old batch from a rerun.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

SUCCESS_MARKER = "_SUCCESS"
DEFAULT_QUIET_SECONDS = 300


@dataclasses.dataclass(frozen=True, slots=True)
class BatchSnapshot:
    name: str
    files: tuple[tuple[str, int, int], ...]  # (path relative to the batch, size, mtime in ns), sorted
    has_success_marker: bool
    newest_mtime: float  # seconds since the epoch; 0 for an empty folder

    @property
    def fingerprint(self) -> str:
        listing = "\n".join(f"{path}\t{size}\t{mtime}" for path, size, mtime in self.files)
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()[:16]

    def is_ready(self, now: float, quiet_seconds: float = DEFAULT_QUIET_SECONDS) -> bool:
        if not self.files:
            return False
        return self.has_success_marker or now - self.newest_mtime >= quiet_seconds


def is_scrape(relative: Path) -> bool:
    """Hidden files and the batch marker are not scraped pages."""
    return not any(part.startswith(".") for part in relative.parts) and relative.name != SUCCESS_MARKER


def batch_dirs(raw_dir: Path) -> list[Path]:
    """Batch folders in name order (name them so that order is scrape order, e.g. by date)."""
    return sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def batch_files(batch_dir: Path) -> list[Path]:
    return sorted(p for p in batch_dir.rglob("*") if p.is_file() and is_scrape(p.relative_to(batch_dir)))


def snapshot(batch_dir: Path) -> BatchSnapshot:
    files, newest = [], 0.0
    for path in batch_files(batch_dir):
        stat = path.stat()
        files.append((path.relative_to(batch_dir).as_posix(), stat.st_size, stat.st_mtime_ns))
        newest = max(newest, stat.st_mtime)
    marker = batch_dir / SUCCESS_MARKER
    if marker.exists():
        newest = max(newest, marker.stat().st_mtime)
    return BatchSnapshot(batch_dir.name, tuple(files), marker.exists(), newest)
