"""One corpus writer at a time (pipeline.core.locking): a second writer waits for the first, a killed
writer leaves no lock behind, and a build's corpus run waits for a corpus run already writing; readers
wait for the writer, and it for them. Two builds started together both succeed (the partition one adds
while the other reads is no error)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy.exc
from upath import UPath

from pipeline.core.locking import LOCK_FILE, corpus_reader, corpus_writer
from pipeline.defs.partitions import add_batches

from .conftest import REPO_ROOT, make_dagster_home, write_batch
from .pages import make_page

# Holds the corpus lock of the folder in argv[1]: says "held", then on a line from stdin says "releasing"
# and exits (the lock goes with the process).
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipeline.core.locking import corpus_writer

    with corpus_writer(Path(sys.argv[1])):
        print("held", flush=True)
        sys.stdin.readline()
        print("releasing", flush=True)
    """
)
WAIT_TIMEOUT = 120  # seconds


def start_holder(processed: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(processed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def release(holder: subprocess.Popen) -> None:
    holder.stdin.write("go\n")
    holder.stdin.flush()


def test_a_second_writer_waits_until_the_first_is_done(tmp_path: Path):
    holder = start_holder(tmp_path)
    heard = []

    def waiting(message: str) -> None:
        heard.append(message)
        release(holder)  # only now: this writer found the lock taken

    try:
        with corpus_writer(tmp_path, waiting=waiting):
            assert holder.stdout.readline().strip() == "releasing"  # the holder was done before this block ran
            assert (tmp_path / LOCK_FILE).read_text().startswith(f"pid {os.getpid()} ")
    finally:
        holder.kill()
        holder.wait()
    assert len(heard) == 1 and f"pid {holder.pid} " in heard[0]


def test_a_killed_writer_leaves_no_lock_behind(tmp_path: Path):
    holder = start_holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    def waiting(message: str) -> None:
        raise AssertionError(f"waited for a dead writer: {message}")

    with corpus_writer(tmp_path, waiting=waiting):
        pass


class Waited(Exception):
    """Raised by a `waiting` callback: the lock was taken, the caller would have waited."""


def would_wait(message: str) -> None:
    raise Waited(message)


def test_a_reader_waits_until_the_writer_is_done(tmp_path: Path):
    holder = start_holder(tmp_path)
    heard = []

    def waiting(message: str) -> None:
        heard.append(message)
        release(holder)

    try:
        with corpus_reader(tmp_path, waiting=waiting):
            assert holder.stdout.readline().strip() == "releasing"  # the files are the writer's finished ones
    finally:
        holder.kill()
        holder.wait()
    assert len(heard) == 1 and f"pid {holder.pid} " in heard[0]


def test_readers_share_the_lock_and_a_writer_waits_for_them(tmp_path: Path):
    with corpus_writer(tmp_path):
        pass
    with corpus_reader(tmp_path, waiting=would_wait), corpus_reader(tmp_path, waiting=would_wait):
        with pytest.raises(Waited, match="corpus lock"):
            with corpus_writer(tmp_path, waiting=would_wait):
                pass
    with corpus_writer(tmp_path, waiting=would_wait):  # the readers are gone
        pass


def test_a_reader_of_a_folder_no_writer_touched_creates_nothing(tmp_path: Path):
    with corpus_reader(tmp_path, waiting=would_wait):
        pass
    assert list(tmp_path.iterdir()) == []


def test_object_storage_takes_no_lock():
    processed = UPath("memory://locking/processed")
    with corpus_writer(processed), corpus_reader(processed):
        pass
    assert not (processed / LOCK_FILE).exists()


@pytest.mark.slow
def test_a_build_waits_for_the_corpus_run_writing_and_then_builds(tmp_path: Path):
    raw, processed, home = tmp_path / "raw", tmp_path / "processed", make_dagster_home(tmp_path / "home")
    write_batch(raw, "2026-11-01", {"a.txt": make_page()})
    holder = start_holder(processed)  # as a corpus run of the daemon would
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    log_path = tmp_path / "build.log"
    with log_path.open("w") as log:
        build = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "build", "--raw", str(raw), "--processed", str(processed)],
            env=env | {"DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WAIT_TIMEOUT
        while "waiting for it" not in log_path.read_text():
            assert build.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        assert (processed / "parsed_pages" / "2026-11-01.parquet").is_file()  # ingesting takes no lock
        assert not (processed / "consultations").exists()  # the corpus run waits
        release(holder)
        assert build.wait(timeout=WAIT_TIMEOUT) == 0, log_path.read_text()
    finally:
        for process in (build, holder):
            if process.poll() is None:
                process.kill()
    assert "Build succeeded" in log_path.read_text()
    assert (processed / "consultations").is_dir()


def _insert_losing_the_race(instance: dg.DagsterInstance, added_meanwhile: list[str]):
    """An `add_dynamic_partitions` whose first call loses a race: `added_meanwhile` lands first (another build),
    then the insert fails on the unique key, as the second of two builds started together did."""
    real_add, calls = instance.add_dynamic_partitions, []

    def add(name: str, keys: list[str]) -> None:
        calls.append(list(keys))
        if len(calls) == 1:
            real_add(name, added_meanwhile)
            raise sqlalchemy.exc.IntegrityError("INSERT INTO dynamic_partitions", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
        real_add(name, keys)

    return add, calls


def test_a_partition_another_build_just_added_is_no_error(monkeypatch: pytest.MonkeyPatch):
    instance = dg.DagsterInstance.ephemeral()
    add, calls = _insert_losing_the_race(instance, ["2026-11-08"])
    monkeypatch.setattr(instance, "add_dynamic_partitions", add)
    add_batches(instance, ["2026-11-01", "2026-11-08"])
    assert calls == [["2026-11-01", "2026-11-08"], ["2026-11-01"]]  # only what is still missing, once more
    assert instance.get_dynamic_partitions("scrape_batches") == ["2026-11-08", "2026-11-01"]


def test_an_integrity_error_that_is_not_that_race_is_raised(monkeypatch: pytest.MonkeyPatch):
    instance = dg.DagsterInstance.ephemeral()
    add, _ = _insert_losing_the_race(instance, [])  # nothing was added meanwhile: some other fault
    monkeypatch.setattr(instance, "add_dynamic_partitions", add)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        add_batches(instance, ["2026-11-01"])


@pytest.mark.slow
def test_two_builds_started_together_both_succeed(tmp_path: Path):
    """Both add the new batch's partition, ingest it, and take turns at the corpus; each summary reads the corpus
    between writers, so both reconcile."""
    raw, processed, home = tmp_path / "raw", tmp_path / "processed", make_dagster_home(tmp_path / "home")
    write_batch(raw, "2026-11-01", {"a.txt": make_page()})
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")} | {"DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "pipeline", "build", "--raw", str(raw), "--processed", str(processed)]
    assert subprocess.run(command, env=env, capture_output=True, timeout=WAIT_TIMEOUT).returncode == 0
    write_batch(raw, "2026-11-08", {"b.txt": make_page(category="労働問題", consultation="有給休暇の取得を断られました。違法ではありませんか?")})
    builds = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [build.communicate(timeout=WAIT_TIMEOUT)[0] for build in builds]
    for build, output in zip(builds, outputs):
        assert build.returncode == 0, output
        assert "Counts reconcile: raw_pages 2 = page_versions 2 + rejects 0" in output
