"""Scrape batches: one folder under raw/ per scrape run, and when such a folder is ready to process.

A batch is ready when it holds a `_SUCCESS` marker (the scraper says it is done) or when nothing in it
has changed for a quiet period (scrapers that write no marker). Its fingerprint changes whenever a
file is added, removed or rewritten, so a sensor can tell a new file in an old batch from a rerun.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from upath import UPath

SUCCESS_MARKER = "_SUCCESS"
LOCAL_PROTOCOLS = ("", "file", "local")
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


def is_local(path: Path) -> bool:
    """Whether the path (a pathlib path or a UPath) is on this machine's file system: other processes see it."""
    return getattr(path, "protocol", "") in LOCAL_PROTOCOLS


def is_scrape(relative: str) -> bool:
    """Hidden files (or files in hidden folders) and the batch marker are not scraped pages. `relative`:
    the path in the batch, "/"-separated."""
    return not relative.startswith(".") and "/." not in relative and relative.rsplit("/", 1)[-1] != SUCCESS_MARKER


def batch_dirs(raw_dir: Path) -> list[Path]:
    """Batch folders in name order (name them so that order is scrape order, e.g. by date); what else raw/ holds
    is left out, and `skipped_in_raw` says why."""
    return [folder for folder in _folders(raw_dir) if _not_a_batch(folder) is None]


def _folders(raw_dir: Path) -> list[Path]:
    """The folders in raw/ (links to folders too), hidden ones aside, in name order."""
    return sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _not_a_batch(folder: Path) -> str | None:
    """Why a folder in raw/ is no batch, or None when it is one.

    A link to a folder (raw/latest -> 2026-11-08) would be a second batch holding every page of the first. A
    batch's name is its partition key, the name of its part files and its rows' `batch`: text, so a name that
    is not UTF-8 (a folder named in Shift_JIS) is left for the user to rename rather than escaped in all of them;
    so is a name starting with "_": Parquet readers (pyarrow, pandas, Spark) skip such files, so its pages would be
    counted by the build but missing from every dataset a reader loads.
    """
    if folder.is_symlink():
        return "a link to a folder, not a batch (a batch is a real folder)"
    if folder.name.startswith("_"):
        return "its name starts with '_' (rename the folder: Parquet readers skip files so named, and a batch's name is its file name)"
    if as_text(folder.name) != folder.name:
        return "its name is not UTF-8 (rename the folder: a batch's name is its partition key and file name)"
    return None


def skipped_in_raw(raw_dir: Path) -> list[str]:
    """What the build and the sensor say of each folder in raw/ that `batch_dirs` leaves out, and of the files
    in raw/ itself, in one line (hidden ones aside); each names the folder as given, which need not be raw/."""
    raw = as_text(str(raw_dir))
    skipped = [f"Skipping {raw}/{as_text(folder.name)}: {why}" for folder in _folders(raw_dir) if (why := _not_a_batch(folder))]
    if loose := sorted(as_text(p.name) for p in raw_dir.iterdir() if not p.is_dir() and not p.name.startswith(".")):
        shown = ", ".join(loose[:3]) + (", …" if len(loose) > 3 else "")
        skipped.append(
            f"Skipping {len(loose)} file(s) in {raw} itself ({shown}): scrapes go in batch folders, {raw}/<batch>/"
            f" (is {raw} itself a batch?)"
        )
    return skipped


def gone_batches(known: Iterable[str], in_raw: Collection[str]) -> list[str]:
    """The known batches whose folder is no longer in raw/ (deleted or renamed by the user). None while raw/
    holds no batch at all: an empty listing is likelier an unmounted or unreachable raw/ than every scrape
    deleted, and retiring every batch would empty the corpus."""
    if not in_raw:
        return []
    return sorted(set(known) - set(in_raw))


def batch_files(batch_dir: Path) -> list[Path]:
    return [on_disk(batch_dir, relative) for relative, _size, _mtime in snapshot(batch_dir).files]


def as_text(name: str) -> str:
    """A file name as it is listed and stored (`source`): bytes that are not UTF-8 (a name saved in Shift_JIS on
    a Japanese Windows machine) as `\\xNN` escapes, since a dataset's text, like the fingerprint, must be UTF-8."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def on_disk(folder: Path, relative: str) -> Path:
    """The file a listed path (`as_text`) names under `folder`: an escaped part is matched against the names in
    its folder. Only local names are escaped; the others are the path as it is."""
    path = folder / relative
    if "\\x" not in relative or not is_local(folder) or os.path.lexists(path):
        return path
    real = Path(getattr(folder, "path", folder))
    for part in relative.split("/"):
        names = os.listdir(real) if real.is_dir() else []
        real = real / next((name for name in names if as_text(name) == part), part)
    return real


def snapshot(batch_dir: Path) -> BatchSnapshot:
    """The folder's scraped files with size and mtime: on the local file system from os.scandir, elsewhere
    from one fsspec listing (a no-op rerun lists every file of raw/: a stat per file through pathlib took
    5x as long, fsspec's listing of 100k local files 1 s)."""
    folder = UPath(batch_dir)
    listed = _local_files(folder.path) if is_local(folder) else _listed_files(folder)
    files, newest, has_marker = [], 0.0, False
    for relative, size, mtime in sorted(listed):
        newest = max(newest, mtime)
        if relative == SUCCESS_MARKER:
            has_marker = True
        elif is_scrape(relative):
            files.append((relative, size, round(mtime * 1e9)))
    return BatchSnapshot(folder.name, tuple(files), has_marker, newest)


def _local_files(root: str) -> Iterator[tuple[str, int, float]]:
    """(path relative to root, size, mtime in seconds) of every entry under root that is not a folder, hidden
    ones too. Only real folders are walked: a link to a folder (`ln -s .. loop` would never end) is an entry like a
    file, and so are broken links and special files; parsing rejects what is not a readable file."""
    folders = [""]
    while folders:
        folder = folders.pop()
        with os.scandir(os.path.join(root, folder) if folder else root) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir(follow_symlinks=False):
                    folders.append(relative)  # as named on disk, to be listed in turn
                else:
                    stat = _stat(entry)
                    yield as_text(relative), stat.st_size, stat.st_mtime


def _stat(entry: os.DirEntry) -> os.stat_result:
    """The stat of the file the entry is or links to; of the entry itself when it is anything else (a broken link
    has no target; a link to a folder would change with whatever changes in that folder)."""
    return entry.stat() if entry.is_file() else entry.stat(follow_symlinks=False)


def _listed_files(folder: UPath) -> Iterator[tuple[str, int, float]]:
    root = folder.path.rstrip("/") + "/"
    for name, info in folder.fs.find(folder.path, detail=True).items():
        yield (name[len(root) :] if name.startswith(root) else name.rsplit("/", 1)[-1]), int(info["size"]), _seconds(info)


def _seconds(info: dict) -> float:
    """Modification time in seconds; memory:// keeps only a creation time, object stores a datetime."""
    stamp = info.get("mtime", info.get("LastModified", info.get("created", 0.0)))
    return stamp.timestamp() if isinstance(stamp, dt.datetime) else float(stamp)
