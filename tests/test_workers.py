"""Work spread over processes (pipeline.core.workers): results in order, the same as here, errors raised."""

from __future__ import annotations

import os
import pickle
import platform

import pyarrow as pa
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


def test_a_detached_slice_pickles_with_its_own_rows_only():
    corpus = pa.table({"target_page_id": [f"2024010112{n:07d}-1" for n in range(100_000)], "link_method": ["question"] * 100_000})
    part = corpus.slice(40_000, 1_000)

    detached = workers.detached(part)

    assert detached.equals(part) and detached.schema.equals(part.schema)
    assert len(pickle.dumps(detached)) < len(pickle.dumps(corpus)) / 50 < len(pickle.dumps(part))
    assert workers.detached(corpus.slice(0, 0)).num_rows == 0


_BLOCK = 16 * 2**20  # above glibc's default threshold for giving a block its own mapping (128 KB to 32 MB)


def page_faults_of_a_block(_: int) -> tuple[int, int]:
    """(pid, the page faults of allocating, filling and freeing a 16 MB block) in the worker."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = b"x" * _BLOCK  # malloc'd and written: every page of a new mapping faults
    del block
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _faults_after_each_workers_first_task(small_tasks: bool) -> list[int]:
    results = workers.in_order(page_faults_of_a_block, list(range(8)), parallel=True, workers=2, small_tasks=small_tasks)
    seen, later = set(), []
    for pid, faults in results:
        if pid in seen:
            later.append(faults)
        seen.add(pid)
    return later


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_small_tasks_reuse_what_the_task_before_freed():
    block_pages = _BLOCK // os.sysconf("SC_PAGE_SIZE")
    # Small tasks: the worker's heap keeps the block for the next task, whose pages are already there.
    assert max(_faults_after_each_workers_first_task(small_tasks=True)) < block_pages // 10
    # Large tasks hand back what they freed (and glibc maps a block this size on its own): each faults it anew.
    assert min(_faults_after_each_workers_first_task(small_tasks=False)) >= block_pages * 9 // 10
