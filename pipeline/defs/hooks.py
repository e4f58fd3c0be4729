"""Job hooks: after every step (success or failure), the memory it freed goes back to the system, so a
run whose steps share one process (the build's in-process runs) does not carry each step's peak into the
next one. No cycle collection: it cost ≈ 0.3 s a corpus step and no longer lowered the peak (the large
objects are Arrow tables and numpy arrays, freed as their last reference goes)."""

from __future__ import annotations

import dagster as dg

from pipeline.core.memory import release_freed_memory


def _release(_context: dg.HookContext) -> None:
    release_freed_memory()


RELEASE_MEMORY = {
    dg.success_hook(name="release_memory_after_success")(_release),
    dg.failure_hook(name="release_memory_after_failure")(_release),
}
