"""`dagster dev -m pipeline.defs` (webserver + daemon) for end-to-end tests: start it on a free
loopback port in its own process group, wait until it serves the code location, stop the whole group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 120  # seconds until the webserver answers and the code location is loaded
DAGSTER = Path(sys.executable).with_name("dagster")
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
T = TypeVar("T")


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


class DagsterDev:
    """A running `dagster dev`: its port, log and a GraphQL client."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log
        self.client = DagsterGraphQLClient(HOST, port_number=port, timeout=30)

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1) -> T:
        """Call `probe` until it returns something other than None (or False); fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"dagster dev exited while waiting for {what}:\n{log_tail(self.log)}"
            value = probe()
            if value is not None and value is not False:
                return value
            assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n{log_tail(self.log)}"
            time.sleep(interval)

    def submit(self, job_name: str, **kwargs) -> str:
        """Submit a run, retrying while the code location is still loading after the webserver answers."""

        def attempt() -> str | None:
            try:
                return self.client.submit_job_execution(job_name, **kwargs)
            except DagsterGraphQLClientError:
                return None

        return self.wait_for(f"accepted {job_name} run", attempt, STARTUP_TIMEOUT)

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        status = self.wait_for(
            f"end of run {run_id}",
            lambda: (s := self.client.get_run_status(run_id).value) in TERMINAL and s,
            timeout,
        )
        assert status == "SUCCESS", f"run {run_id} ended {status}:\n{log_tail(self.log)}"
        return status


@contextlib.contextmanager
def dagster_dev(workdir: Path, env: Mapping[str, str]) -> Iterator[DagsterDev]:
    """`dagster dev -m pipeline.defs` in `workdir` with `env` added; stopped (whole group) on exit."""
    log = workdir / "dagster_dev.log"
    port = free_port()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(DAGSTER), "dev", "-m", "pipeline.defs", "-h", HOST, "-p", str(port)],
            cwd=workdir,
            env=os.environ | dict(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches every child
        )
    try:
        server = DagsterDev(process, port, log)
        server.wait_for("answer from the webserver", lambda: answers(port), STARTUP_TIMEOUT, interval=0.5)
        yield server
    finally:
        stop(process)


def graphql(port: int, query: str, variables: Mapping[str, object]) -> dict:
    """One GraphQL request to the webserver; returns its `data`."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}/graphql",
        data=json.dumps({"query": query, "variables": dict(variables)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]
