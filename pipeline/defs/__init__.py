"""The Dagster layer: `dagster dev -m pipeline.defs` loads `defs`.

Thin by design: assets call pipeline.core.tables, checks call pipeline.core.validation; nothing here
decides what the data is.
"""

from __future__ import annotations

import os

import dagster as dg

from pipeline.defs.assets import CORPUS_ASSETS
from pipeline.defs.io_manager import ParquetIOManager
from pipeline.defs.jobs import build_corpus
from pipeline.defs.resources import CorpusPaths


def make_defs(raw_dir: str | os.PathLike | None = None, processed_dir: str | os.PathLike | None = None) -> dg.Definitions:
    """The definitions, with the folders given or (when None) from the environment / defaults."""
    paths = CorpusPaths(
        **({"raw_dir": os.fspath(raw_dir)} if raw_dir is not None else {}),
        **({"processed_dir": os.fspath(processed_dir)} if processed_dir is not None else {}),
    )
    return dg.Definitions(
        assets=CORPUS_ASSETS,
        jobs=[build_corpus],
        resources={"paths": paths, "io_manager": ParquetIOManager(base_path=paths.processed_dir)},
    )


defs = make_defs()

__all__ = ["defs", "make_defs"]
