"""Job hooks: after every step (success or failure), the memory it freed goes back to the system, so a
run whose steps share one process (the build's in-process runs) does not carry each step's peak into the
next one. The corpus steps also collect reference cycles (≈ 0.2 s a step: not worth it for the small
per-batch ingest steps, which run ten times as often)."""

from __future__ import annotations

import dagster as dg

from pipeline.core.memory import release_freed_memory


@dg.success_hook(name="release_memory_after_success")
def release_memory_after_success(_context: dg.HookContext) -> None:
    release_freed_memory(collect_cycles=False)


@dg.failure_hook(name="release_memory_after_failure")
def release_memory_after_failure(_context: dg.HookContext) -> None:
    release_freed_memory(collect_cycles=False)


@dg.success_hook(name="release_memory_and_cycles_after_success")
def release_memory_and_cycles_after_success(_context: dg.HookContext) -> None:
    release_freed_memory(collect_cycles=True)


@dg.failure_hook(name="release_memory_and_cycles_after_failure")
def release_memory_and_cycles_after_failure(_context: dg.HookContext) -> None:
    release_freed_memory(collect_cycles=True)


RELEASE_MEMORY = {release_memory_after_success, release_memory_after_failure}
RELEASE_MEMORY_AND_CYCLES = {release_memory_and_cycles_after_success, release_memory_and_cycles_after_failure}
