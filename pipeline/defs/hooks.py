"""Job hooks: after every step (success or failure), the memory it freed goes back to the system, so a
run whose steps share one process (the build's in-process runs) does not carry each step's peak into the
next one. The corpus steps also collect reference cycles (≈ 0.2 s a step: not worth it for the small
per-batch ingest steps, which run ten times as often)."""

from __future__ import annotations

import dagster as dg

from pipeline.core.memory import release_freed_memory


def _release_hooks(*, collect_cycles: bool) -> set[dg.HookDefinition]:
    """A success hook and a failure hook that release the memory a step freed."""
    name = "release_memory_and_cycles" if collect_cycles else "release_memory"

    def release(_context: dg.HookContext) -> None:
        release_freed_memory(collect_cycles=collect_cycles)

    return {dg.success_hook(name=f"{name}_after_success")(release), dg.failure_hook(name=f"{name}_after_failure")(release)}


RELEASE_MEMORY = _release_hooks(collect_cycles=False)
RELEASE_MEMORY_AND_CYCLES = _release_hooks(collect_cycles=True)
