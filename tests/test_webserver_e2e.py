"""The real thing: `dagster dev -m pipeline.defs` (webserver + daemon), a `build_corpus` run launched
through the GraphQL client, Parquet outputs on disk."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from pipeline.core.schemas import DATASETS

from .conftest import copy_sample_raw, make_dagster_home

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 120  # seconds until the webserver answers and the code location is loaded
RUN_TIMEOUT = 180  # seconds for the run to finish
DAGSTER = Path(sys.executable).with_name("dagster")
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def log_tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def stop(process: subprocess.Popen) -> None:
    """Terminate the whole process group (webserver, daemon, code server, run workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # children may outlive the leader briefly: make sure nothing of the group survives
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning")
def test_dagster_dev_runs_build_corpus(repo_root: Path, tmp_path: Path):
    raw = copy_sample_raw(repo_root, tmp_path / "raw")
    processed = tmp_path / "processed"
    home = make_dagster_home(tmp_path / "dagster_home")
    log = tmp_path / "dagster_dev.log"
    port = free_port()
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "PIPELINE_RAW_DIR": str(raw),
        "PIPELINE_PROCESSED_DIR": str(processed),
    }

    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(DAGSTER), "dev", "-m", "pipeline.defs", "-h", HOST, "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches every child
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not answers(port):
            assert process.poll() is None, f"dagster dev exited early:\n{log_tail(log)}"
            assert time.monotonic() < deadline, f"dagster dev did not answer in {STARTUP_TIMEOUT}s:\n{log_tail(log)}"
            time.sleep(0.5)

        client = DagsterGraphQLClient(HOST, port_number=port, timeout=30)
        while True:  # the code location may still be loading after the webserver answers
            try:
                run_id = client.submit_job_execution("build_corpus")
                break
            except DagsterGraphQLClientError as error:
                assert time.monotonic() < deadline, f"could not submit the run: {error}\n{log_tail(log)}"
                time.sleep(1)

        deadline = time.monotonic() + RUN_TIMEOUT
        while (status := client.get_run_status(run_id).value) not in TERMINAL:
            assert time.monotonic() < deadline, f"run {run_id} still {status} after {RUN_TIMEOUT}s:\n{log_tail(log)}"
            time.sleep(1)
        assert status == "SUCCESS", f"run {run_id} ended {status}:\n{log_tail(log)}"

        for name in DATASETS:
            table = pq.read_table(processed / name)
            assert table.num_rows > 0, name
        consultations, rejects = pq.read_table(processed / "consultations"), pq.read_table(processed / "rejects")
        assert pq.read_table(processed / "raw_pages").num_rows == consultations.num_rows + rejects.num_rows
    finally:
        stop(process)
