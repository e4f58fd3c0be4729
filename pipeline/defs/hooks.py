"""Job hooks: after every step (success or failure), the memory it freed goes back to the system, so a
run whose steps share one process (the build's in-process runs) does not carry each step's peak into the
next one."""

from __future__ import annotations

import dagster as dg

from pipeline.core.memory import release_freed_memory


@dg.success_hook(name="release_memory_after_success")
def release_memory_after_success(_context: dg.HookContext) -> None:
    release_freed_memory()


@dg.failure_hook(name="release_memory_after_failure")
def release_memory_after_failure(_context: dg.HookContext) -> None:
    release_freed_memory()


RELEASE_MEMORY = {release_memory_after_success, release_memory_after_failure}
