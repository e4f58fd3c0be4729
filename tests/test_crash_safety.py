"""A build killed with SIGKILL in the middle of a Parquet write leaves every dataset readable at its
previous version; the next build finishes the job and removes the dead writer's temp file.

The build runs in a subprocess whose Parquet writer is slowed from outside (the test's wrapper
monkeypatches the IO manager's writer before calling the CLI), so the kill lands while a temp file exists.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.core.schemas import DATASETS

from .conftest import REPO_ROOT, make_dagster_home, write_batch
from .pages import make_page

KILL_TIMEOUT = 120  # seconds for the slowed build to reach the write it is killed in
FIRST = {
    "a.txt": make_page(),
    "b.txt": make_page(category="労働問題", consultation="有給休暇の取得を会社に断られました。違法ではありませんか?"),
}
SECOND = {"c.txt": make_page(category="債権回収", consultation="友人に貸したお金を返してもらうにはどうすればよいですか?")}

# Runs the real CLI; every Parquet write into processed/<dataset>/ stalls after writing its temp file.
SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pipeline.cli import main
    from pipeline.defs import io_manager

    dataset, argv = sys.argv[1], sys.argv[2:]
    real_write = io_manager._write

    def write_then_stall(table, schema, sink):
        real_write(table, schema, sink)
        if f"/{dataset}/" in str(getattr(sink, "name", sink)):
            time.sleep(600)

    io_manager._write = write_then_stall
    sys.exit(main(argv))
    """
)


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return env | {"DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}


def build(raw: Path, processed: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--raw", str(raw), "--processed", str(processed)],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=180,
    )


def temp_files(processed: Path) -> list[Path]:
    return sorted(processed.rglob(".*.tmp"))


def snapshot_files(processed: Path) -> dict[str, bytes]:
    return {p.relative_to(processed).as_posix(): p.read_bytes() for p in processed.rglob("*.parquet")}


@pytest.mark.slow
@pytest.mark.parametrize("killed_in", ["parsed_pages", "consultations"])
def test_sigkill_mid_write_keeps_the_previous_version_and_the_rerun_recovers(tmp_path: Path, killed_in: str):
    raw, processed, home = tmp_path / "raw", tmp_path / "processed", make_dagster_home(tmp_path / "home")
    write_batch(raw, "2026-11-01", FIRST)
    first = build(raw, processed, home)
    assert first.returncode == 0, first.stdout + first.stderr
    before_files = snapshot_files(processed)
    before = {name: pd.read_parquet(processed / name) for name in DATASETS}

    write_batch(raw, "2026-11-08", SECOND)
    argv = ["build", "--raw", str(raw), "--processed", str(processed)]
    log = (tmp_path / "killed.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, killed_in, *argv], env=environment(home), stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + KILL_TIMEOUT
        while not list((processed / killed_in).glob(".*.tmp")):
            assert process.poll() is None, (tmp_path / "killed.log").read_text()
            assert time.monotonic() < deadline, f"no temp file in {killed_in}/:\n{(tmp_path / 'killed.log').read_text()}"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    assert process.returncode == -signal.SIGKILL

    # Killed: the temp file is still there, hidden, and every dataset loads; nothing written before was touched.
    assert [p.parent.name for p in temp_files(processed)] == [killed_in]
    for name in DATASETS:
        pd.read_parquet(processed / name)
    after_kill = snapshot_files(processed)
    assert {path: after_kill[path] for path in before_files} == before_files
    assert pd.read_parquet(processed / killed_in).equals(before[killed_in])  # the previous version, whole

    rerun = build(raw, processed, home)  # the instance survived the kill too
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert temp_files(processed) == []
    assert pq.read_table(processed / "parsed_pages" / "2026-11-08.parquet").num_rows == 1
    consultations = pd.read_parquet(processed / "consultations")
    assert len(consultations) == len(before["consultations"]) + 1
    assert "債権回収" in set(consultations["category"])
