"""Resources: where the corpus lives.

Both folders default from the environment (`PIPELINE_RAW_DIR`, `PIPELINE_PROCESSED_DIR`), else `raw`
and `processed` relative to the working directory. The environment is read when the resource is
constructed, i.e. when the code location loads.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

RAW_DIR_ENV = "PIPELINE_RAW_DIR"
PROCESSED_DIR_ENV = "PIPELINE_PROCESSED_DIR"


def default_raw_dir() -> str:
    return os.environ.get(RAW_DIR_ENV) or "raw"


def default_processed_dir() -> str:
    return os.environ.get(PROCESSED_DIR_ENV) or "processed"


class CorpusPaths(dg.ConfigurableResource):
    """The raw inputs (read-only: raw/<batch>/<file>) and the processed datasets (rebuildable)."""

    raw_dir: str = Field(
        default_factory=default_raw_dir,
        description=f"Folder of raw batches; default ${RAW_DIR_ENV}, else 'raw'.",
    )
    processed_dir: str = Field(
        default_factory=default_processed_dir,
        description=f"Folder (or fsspec URL) of the Parquet datasets; default ${PROCESSED_DIR_ENV}, else 'processed'.",
    )

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir)
