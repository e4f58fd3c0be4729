"""One corpus writer at a time (pipeline.core.locking): a second writer waits for the first, a killed
writer leaves no lock behind, and a build's corpus run waits for a corpus run already writing; readers
wait for the writer, and it for them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from upath import UPath

from pipeline.core.locking import LOCK_FILE, corpus_reader, corpus_writer

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
