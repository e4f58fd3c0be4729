"""Work spread over processes, so that the core's per-batch work (parsing files, screening and checking parts)
uses every core. Results come back in the order of the items, as they are needed.

Start method: fork when this process runs no other thread: the fastest start (≈ 0.02 s), the workers share
what the parent imported (Great Expectations, if it was imported first), and nothing can hold a lock across
the fork. Otherwise forkserver: workers fork from a clean single-threaded server that imported the given
modules once (≈ 0.3 s the first time in a process, seconds if that means importing GX); the caller's script
then needs the `if __name__ == "__main__":` guard, as with spawn.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import gc
import multiprocessing
import multiprocessing.context
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import pyarrow as pa

from pipeline.core.memory import keep_freed_memory_for_reuse, release_freed_memory

# Below this many pages (or files) in all, a pool's start costs more than the cores it adds save
# (docs/benchmarks.md): small batches and tests never start one.
PARALLEL_MIN_PAGES = 2000

Item = TypeVar("Item")
Result = TypeVar("Result")


def cores() -> int:
    return os.cpu_count() or 1


def in_order(
    work: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    parallel: bool,
    preload: Sequence[str] = (),
    workers: int | None = None,
    ahead: int = 1,
    small_tasks: bool = False,
) -> Iterator[Result]:
    """work(item) for each item, in order: in a pool of `workers` processes (default: every core) when
    `parallel`, else here. `work` and the items cross to the workers pickled: module-level functions and
    plain data. Results are yielded as the caller asks for them: `ahead` items per worker are under way,
    so at most that many results wait in memory (more keeps short tasks from idling a worker).

    After each task a worker hands back what it freed, so that a large task's memory (a part's) does not
    stay beside the other processes. With `small_tasks` (a batch's files in chunks) it keeps it for the next
    task instead (`keep_freed_memory_for_reuse`): handing back a few MB per task made every task fault its
    pages in afresh, ≈ 10 page faults a page parsed against 1.4, a third of a full build's page faults."""
    workers = min(workers or cores(), len(items))
    if not parallel or workers <= 1:
        yield from map(work, items)
        return
    started = functools.partial(_worker_started, keep_freed_memory=small_tasks)
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=pool_context(preload), initializer=started)
    try:
        task = work if small_tasks else functools.partial(_released_after, work)
        under_way = collections.deque(pool.submit(task, item) for item in items[: workers * ahead])
        following = iter(items[workers * ahead :])
        while under_way:
            result = under_way.popleft().result()
            if (item := next(following, _NONE)) is not _NONE:
                under_way.append(pool.submit(task, item))
            if not under_way:  # the last result: let the workers go now, not when the caller drops this generator
                pool.shutdown(wait=True)
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_NONE = object()


def consecutive_runs(items: Sequence[Item], count: int) -> list[Sequence[Item]]:
    """The items in at most `count` runs of consecutive items (nearly equal in length, in order): one a worker, where
    neighbouring items share what a worker reads or caches (the parts rows are in, the pages a page shows)."""
    size = max(1, -(-len(items) // count))
    return [items[start : start + size] for start in range(0, len(items), size)]


def _worker_started(*, keep_freed_memory: bool) -> None:
    # gc.freeze: a worker's collections skip what it inherited from this process (in a Dagster step they
    # cost ≈ 15% of the workers' CPU, and copied the inherited pages too).
    gc.freeze()
    if keep_freed_memory:
        keep_freed_memory_for_reuse()


def _released_after(work: Callable[[Item], Result], item: Item) -> Result:
    """A task in a worker, which then hands back what it freed: the next task starts from the same memory."""
    try:
        return work(item)
    finally:
        release_freed_memory()


def detached(table: pa.Table) -> pa.Table:
    """The table in buffers of its own, to send to a worker: a slice pickles with the whole of the buffers it
    views (a part's links sliced from the corpus's: 30 MB pickled for 3 MB of rows)."""
    return pa.table({name: pa.concat_arrays([pa.array([], column.type), *column.chunks]) for name, column in zip(table.column_names, table.columns)}, schema=table.schema)


def pool_context(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """fork when this process runs no other thread, else forkserver preloading these modules (see above)."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context
