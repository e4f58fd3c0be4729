"""Work spread over processes (pipeline.core.workers): results in order, the same as here, errors raised."""

from __future__ import annotations

import os

import pytest

from pipeline.core import workers


def pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def fail_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


def test_results_come_in_order_from_worker_processes():
    results = list(workers.in_order(pid_and_square, list(range(12)), parallel=True, workers=2))
    assert [square for _, square in results] == [n * n for n in range(12)]
    assert os.getpid() not in {pid for pid, _ in results}


def test_serial_is_the_same_work_here():
    results = list(workers.in_order(pid_and_square, [1, 2], parallel=False))
    assert results == [(os.getpid(), 1), (os.getpid(), 4)]


def test_an_error_in_a_worker_is_raised_to_the_caller():
    with pytest.raises(ValueError, match="three"):
        list(workers.in_order(fail_on_three, list(range(6)), parallel=True, workers=2))


def test_the_workers_are_gone_once_the_last_result_is_taken():
    import multiprocessing

    results = workers.in_order(pid_and_square, list(range(4)), parallel=True, workers=2)
    pids = {next(results)[0] for _ in range(4)}  # every result taken, the generator not resumed nor closed
    assert pids and not pids & {child.pid for child in multiprocessing.active_children()}
