"""Resources: where the corpus lives, and the lock its writers take.

Both folders default from the environment (`PIPELINE_RAW_DIR`, `PIPELINE_PROCESSED_DIR`), else `raw`
and `processed` relative to the working directory. The environment is read when the resource is
constructed, i.e. when the code location loads.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field
from upath import UPath

from pipeline.core.locking import corpus_writer
from pipeline.core.quality.near_duplicates import DuplicateConfig
from pipeline.defs.partitions import corpus_recipe, instance_taken

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
    def raw_path(self) -> UPath:
        """A local folder or an fsspec URL (s3://, gs://, memory://): the core reads it through UPath."""
        return UPath(self.raw_dir)

    @property
    def processed_path(self) -> UPath:
        return UPath(self.processed_dir)


class CorpusLock(dg.ConfigurableResource):
    """Every corpus step takes it (a `corpus_lock` parameter): the step holds the corpus lock of processed/
    while it reads and writes (pipeline.core.locking). Held once for the whole run when the run's steps share
    a process (the build's runs), else per step."""

    # The folders themselves, not a nested CorpusPaths: Dagster's nested resources go through a deprecated API.
    processed_dir: str = Field(default_factory=default_processed_dir, description="The corpus folder it locks (as CorpusPaths).")
    raw_dir: str = Field(default_factory=default_raw_dir, description="That corpus's raw folder (as CorpusPaths).")

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[CorpusLock]:
        # A corpus run on an instance that keeps another corpus (a schedule or the UI with other folders) would
        # take that corpus's batches for this one's and remove this one's parts as orphans.
        if context.instance is not None and (refusal := instance_taken(context.instance, self.raw_dir, self.processed_dir)):
            raise dg.Failure(refusal)
        with corpus_writer(UPath(self.processed_dir), waiting=context.log.warning):
            yield self


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


class QualitySettings(dg.ConfigurableResource):
    """Corpus-quality knobs: PII originals and near-duplicate detection (thresholds are the consumer's)."""

    keep_pii_originals: bool = Field(
        default=False,
        description="Write the scraped text of redacted pages to the private dataset pii_originals "
        "(default off: $PIPELINE_KEEP_PII_ORIGINALS).",
    )
    near_duplicate_threshold: float = Field(
        default=0.8,
        description="Estimated Jaccard of character 5-gram sets for two pages to be near-duplicates "
        "($PIPELINE_NEAR_DUPLICATE_THRESHOLD).",
    )
    near_duplicate_index_dir: str = Field(
        default="",
        description="Folder of the persistent MinHash LSH index (a local path); default <processed>/_near_duplicate_index "
        "($PIPELINE_NEAR_DUPLICATE_INDEX_DIR).",
    )

    def as_json(self) -> str:
        """The settings as text: how a build hands them to the job it reconstructs by name (`build.build_job`)."""
        return json.dumps({name: getattr(self, name) for name in type(self).model_fields}, sort_keys=True)

    @classmethod
    def from_env(cls) -> QualitySettings:
        """The settings as the environment gives them now. Not default factories: Dagster reads those once per
        process, into the config schema, and a build compares what a corpus run would use with what it used."""
        return cls(
            keep_pii_originals=_env_flag("PIPELINE_KEEP_PII_ORIGINALS"),
            near_duplicate_threshold=float(os.environ.get("PIPELINE_NEAR_DUPLICATE_THRESHOLD") or 0.8),
            near_duplicate_index_dir=os.environ.get("PIPELINE_NEAR_DUPLICATE_INDEX_DIR") or "",
        )

    def corpus_recipe(self) -> str:
        """The corpus code, suites and these settings, as one key: a corpus run records it (see partitions)."""
        return corpus_recipe(self.keep_pii_originals, self.near_duplicate_threshold)

    def duplicate_config(self) -> DuplicateConfig:
        return DuplicateConfig(threshold=self.near_duplicate_threshold)

    def index_dir(self, paths: CorpusPaths) -> Path:
        """The MinHash index needs a local (or mounted) folder, whatever storage processed/ is on."""
        if self.near_duplicate_index_dir:
            return Path(self.near_duplicate_index_dir)
        processed = paths.processed_path
        if processed.protocol not in ("", "file", "local"):
            raise ValueError(
                f"processed/ is on {processed.protocol}://: set PIPELINE_NEAR_DUPLICATE_INDEX_DIR to a local folder"
            )
        return Path(processed.path) / "_near_duplicate_index"
