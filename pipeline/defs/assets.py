"""The assets. Thin: each one calls a function of pipeline.core.tables and reports metadata.

    group ingest, one partition per batch     group corpus, unpartitioned: every batch so far

    raw_pages ─▶ parsed_pages ─────────────▶ consultations ─┬─▶ sections
                                             page_versions  └─▶ related_questions
                                             rejects
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa

from pipeline.core import batches, tables
from pipeline.defs.checks import VALIDATED_DATASETS, expectation_check_result, expectation_check_spec
from pipeline.defs.metadata import definition_metadata, describe, table_metadata
from pipeline.defs.partitions import FINGERPRINT, scrape_batches
from pipeline.defs.resources import CorpusPaths

INGEST_GROUP = "ingest"
CORPUS_GROUP = "corpus"
KINDS = {"parquet"}


def _asset_kwargs(dataset: str, group: str = CORPUS_GROUP) -> dict:
    """Decorator arguments shared by every single asset: group, kinds, description, column schema."""
    return {
        "name": dataset,
        "group_name": group,
        "kinds": KINDS,
        "description": describe(dataset),
        "metadata": definition_metadata(dataset),
        "check_specs": [expectation_check_spec(dataset)] if dataset in VALIDATED_DATASETS else None,
    }


def asset_out(dataset: str) -> dg.AssetOut:
    """The same, for one output of a multi-asset."""
    return dg.AssetOut(
        group_name=CORPUS_GROUP,
        kinds=KINDS,
        description=describe(dataset),
        metadata=definition_metadata(dataset),
    )


def emit(
    context: dg.AssetExecutionContext, dataset: str, table: pa.Table, metadata: Mapping[str, Any] | None = None
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The output of one dataset with its metadata, then its blocking check result (if it has one)."""
    yield dg.Output(
        table, output_name=_output_name(context, dataset), metadata={**table_metadata(table), **(metadata or {})}
    )
    if dataset in VALIDATED_DATASETS:
        result = expectation_check_result(context, dataset, table)
        if result is not None:
            yield result


def _output_name(context: dg.AssetExecutionContext, dataset: str) -> str:
    return context.assets_def.get_output_name_for_asset_key(dg.AssetKey(dataset))


@dg.asset(**_asset_kwargs("raw_pages", INGEST_GROUP), partitions_def=scrape_batches)
def raw_pages(context: dg.AssetExecutionContext, paths: CorpusPaths):
    yield from emit(context, "raw_pages", tables.raw_manifest(paths.raw_path, context.partition_key))


@dg.asset(**_asset_kwargs("parsed_pages", INGEST_GROUP), partitions_def=scrape_batches)
def parsed_pages(context: dg.AssetExecutionContext, paths: CorpusPaths, raw_pages: pa.Table):
    fingerprint = listed_fingerprint(paths.raw_path, context.partition_key, raw_pages)  # before parsing
    parsed = tables.parse_manifest(raw_pages, paths.raw_path)
    yield from emit(context, "parsed_pages", parsed, {FINGERPRINT: fingerprint})


def listed_fingerprint(raw_dir: Path, batch: str, manifest: pa.Table) -> str:
    """The batch's fingerprint if it still holds exactly the files raw_pages listed, else "".

    Taken before parsing: a file rewritten later only makes the recorded fingerprint stale (the batch
    is ingested again), and "" for files that landed after the listing means the same, never a miss.
    """
    snapshot = batches.snapshot(raw_dir / batch)
    listed = [f"{batch}/{path}" for path, _size, _mtime in snapshot.files]
    return snapshot.fingerprint if listed == manifest["source"].to_pylist() else ""


SCREENED = ("consultations", "page_versions", "rejects")


@dg.multi_asset(
    name="screen_pages",
    outs={dataset: asset_out(dataset) for dataset in SCREENED},
    check_specs=[expectation_check_spec(dataset) for dataset in SCREENED],
    # A batch whose partition exists but was never ingested (its run is queued or failed) is left out
    # with a warning rather than failing the corpus of every other batch.
    ins={"parsed_pages": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    description="Folds the parsed pages of every batch into consultations (one row per page, its "
    "current version), page_versions (what became of every accepted input) and rejects.",
)
def screen_pages(context: dg.AssetExecutionContext, parsed_pages: dict[str, pa.Table]):
    screened = tables.screen_pages(tables.concat_batches(parsed_pages))
    included = {"batches": dg.MetadataValue.json(sorted(parsed_pages))}
    for dataset in SCREENED:
        yield from emit(context, dataset, getattr(screened, dataset), included)


@dg.asset(**_asset_kwargs("sections"))
def sections(context: dg.AssetExecutionContext, consultations: pa.Table):
    yield from emit(context, "sections", tables.sections_table(consultations))


@dg.asset(**_asset_kwargs("related_questions"))
def related_questions(context: dg.AssetExecutionContext, consultations: pa.Table):
    yield from emit(context, "related_questions", tables.related_questions_table(consultations))


INGEST_ASSETS = [raw_pages, parsed_pages]
CORPUS_ASSETS = [screen_pages, sections, related_questions]
