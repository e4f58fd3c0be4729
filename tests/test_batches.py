"""Batch readiness and fingerprints: what the sensor decides with."""

import os
import time
from pathlib import Path

from pipeline.core.batches import SUCCESS_MARKER, batch_dirs, skipped_in_raw, snapshot


def make_batch(raw: Path, name: str, files: dict[str, str], *, age_seconds: float = 0) -> Path:
    folder = raw / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
        past = time.time() - age_seconds
        os.utime(folder / file, (past, past))
    return folder


def test_marker_makes_a_batch_ready_at_once(tmp_path):
    folder = make_batch(tmp_path, "b1", {"a.txt": "x"})
    assert not snapshot(folder).is_ready(now=time.time(), quiet_seconds=300)
    (folder / SUCCESS_MARKER).touch()
    assert snapshot(folder).is_ready(now=time.time(), quiet_seconds=300)


def test_quiet_period_makes_a_batch_ready(tmp_path):
    folder = make_batch(tmp_path, "b1", {"a.txt": "x"}, age_seconds=600)
    assert snapshot(folder).is_ready(now=time.time(), quiet_seconds=300)
    assert not snapshot(folder).is_ready(now=time.time(), quiet_seconds=3600)


def test_empty_batch_is_never_ready(tmp_path):
    folder = make_batch(tmp_path, "b1", {})
    (folder / SUCCESS_MARKER).touch()
    assert not snapshot(folder).is_ready(now=time.time() + 10_000)


def test_fingerprint_changes_with_a_new_file_not_with_the_marker(tmp_path):
    folder = make_batch(tmp_path, "b1", {"a.txt": "x"})
    before = snapshot(folder).fingerprint
    (folder / SUCCESS_MARKER).touch()
    assert snapshot(folder).fingerprint == before
    (folder / "b.txt").write_text("y")
    assert snapshot(folder).fingerprint != before


def test_batch_folders_in_name_order_without_hidden_ones(tmp_path):
    for name in ("2026-11-08", ".tmp", "2026-11-01"):
        (tmp_path / name).mkdir()
    (tmp_path / "README.md").write_text("not a batch")
    assert [p.name for p in batch_dirs(tmp_path)] == ["2026-11-01", "2026-11-08"]


def test_hidden_files_and_folders_and_markers_are_not_pages_but_count_as_changes(tmp_path):
    batch = tmp_path / "b"
    for relative in ("a.txt", ".partial.txt", ".tmp/x.txt", "sub/y.txt", "sub/.z/w.txt", "sub/_SUCCESS"):
        (batch / relative).parent.mkdir(parents=True, exist_ok=True)
        (batch / relative).write_text("x")
    os.utime(batch / ".tmp" / "x.txt", (2_000_000_000, 2_000_000_000))  # a hidden file written last
    found = snapshot(batch)
    assert [path for path, _size, _mtime in found.files] == ["a.txt", "sub/y.txt"]
    assert not found.has_success_marker  # only the batch's own marker says it is done
    assert found.newest_mtime == 2_000_000_000  # still being written to: not quiet yet


def test_links_in_a_batch_are_entries_and_links_to_folders_are_not_walked(tmp_path):
    """A broken link is an input (parsing rejects it as unreadable), not a silent gap; a link to a folder is an
    entry too and never walked (`ln -s .. loop` walked raw/ again and again until the kernel refused)."""
    batch = make_batch(tmp_path, "b1", {"a.txt": "x"})
    (batch / "broken.txt").symlink_to("/nonexistent/page.txt")
    (batch / "loop").symlink_to("..")
    (batch / "linked.txt").symlink_to(batch / "a.txt")
    found = snapshot(batch)
    assert [path for path, _size, _mtime in found.files] == ["a.txt", "broken.txt", "linked.txt", "loop"]
    sizes = dict((path, size) for path, size, _mtime in found.files)
    assert sizes["linked.txt"] == 1  # a link to a file is read through
    before = found.fingerprint
    (tmp_path / "b2").mkdir()  # changes raw/, the folder `loop` points to: not the batch
    assert snapshot(batch).fingerprint == before


def test_a_link_to_a_batch_folder_is_not_a_batch(tmp_path):
    make_batch(tmp_path, "2026-11-01", {"a.txt": "x"})
    (tmp_path / "latest").symlink_to(tmp_path / "2026-11-01")
    assert [p.name for p in batch_dirs(tmp_path)] == ["2026-11-01"]
    assert skipped_in_raw(tmp_path) == [f"Skipping {tmp_path}/latest: a link to a folder, not a batch (a batch is a real folder)"]


def test_a_folder_whose_name_starts_with_an_underscore_is_not_a_batch(tmp_path):
    """Its part files would be named _<batch>.parquet, which pyarrow and pandas skip: the build would count
    pages that no reader of the datasets sees."""
    make_batch(tmp_path, "2026-11-01", {"a.txt": "x"})
    make_batch(tmp_path, "_tmp", {"b.txt": "y"})
    assert [p.name for p in batch_dirs(tmp_path)] == ["2026-11-01"]
    assert skipped_in_raw(tmp_path) == [
        f"Skipping {tmp_path}/_tmp: its name starts with '_' (rename the folder: Parquet readers skip files so named,"
        " and a batch's name is its file name)"
    ]


def test_files_in_raw_itself_are_skipped_in_one_line_that_says_where_scrapes_go(tmp_path):
    """Pointing raw/ at a batch folder left every page out with only 'raw/ holds no batch folder' to say why."""
    for name in ("001.txt", "002.txt", "003.html", "004.txt"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / ".hidden").write_text("x", encoding="utf-8")
    assert batch_dirs(tmp_path) == []
    assert skipped_in_raw(tmp_path) == [
        f"Skipping 4 file(s) in {tmp_path} itself (001.txt, 002.txt, 003.html, …): scrapes go in batch folders,"
        f" {tmp_path}/<batch>/ (is {tmp_path} itself a batch?)"
    ]


def test_a_batch_folder_named_in_shift_jis_is_skipped_with_the_reason(tmp_path):
    make_batch(tmp_path, "2026-11-01", {"a.txt": "x"})
    make_batch(tmp_path, os.fsdecode("第1回".encode("cp932")), {"b.txt": "y"})
    assert [p.name for p in batch_dirs(tmp_path)] == ["2026-11-01"]
    assert skipped_in_raw(tmp_path) == [f"Skipping {tmp_path}/\\x91\\xe61\\x89\\xf1: its name is not UTF-8 (rename the folder: a batch's name is its partition key and file name)"]


def test_a_file_name_that_is_not_utf8_has_a_fingerprint(tmp_path):
    # The sensor fingerprints every batch each tick: one name in Shift_JIS must not stop it for all of them.
    folder = make_batch(tmp_path, "b1", {"a.txt": "x"})
    (Path(os.fsdecode(os.fsencode(folder) + b"/" + "相談.txt".encode("cp932")))).write_text("y", encoding="utf-8")
    snap = snapshot(folder)
    assert [path for path, _size, _mtime in snap.files] == ["\\x91\\x8a\\x92k.txt", "a.txt"]
    assert len(snap.fingerprint) == 16
