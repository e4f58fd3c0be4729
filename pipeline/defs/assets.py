"""The assets. Thin: each one calls a function of pipeline.core.tables and reports metadata.

    group ingest, one partition per batch     group corpus, unpartitioned: every batch so far

    raw_pages ─▶ parsed_pages ─────────────▶ consultations ─┬─▶ sections
                                             page_versions  └─▶ related_questions
                                             rejects
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa

from pipeline.core import batches, schemas, tables, validation
from pipeline.core import screening as screen
from pipeline.core.parts import Part, PartRows, StoredPart, concat_parts
from pipeline.core.quality import card, frontier
from pipeline.core.quality import near_duplicates as near_dups
from pipeline.core.quality.links import link_coverage
from pipeline.core.schemas import PII_KINDS
from pipeline.defs.checks import VALIDATED_DATASETS, expectation_check_result, expectation_check_spec
from pipeline.defs.io_manager import COLUMNS, PARTS, ParquetUPathIOManager, PartitionTables, PartStream
from pipeline.defs.metadata import PREVIEW_ROWS, definition_metadata, describe, table_metadata
from pipeline.defs.partitions import CORPUS_RECIPE, INGEST_KEY, Ingestion, ingest_key, scrape_batches
from pipeline.defs.resources import CorpusLock, CorpusPaths, QualitySettings

INGEST_GROUP = "ingest"
INGEST_DATASETS = ("raw_pages", "parsed_pages")  # stored one file per batch, by the ingest runs
# Every corpus asset takes `corpus_lock: CorpusLock` (unused in its body): its step holds the corpus lock.
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
    context: dg.AssetExecutionContext,
    dataset: str,
    table: pa.Table,
    metadata: Mapping[str, Any] | None = None,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The output of one dataset with its metadata, then its blocking check result (if it has one)."""
    yield dg.Output(
        table, output_name=_output_name(context, dataset), metadata={**table_metadata(table), **(metadata or {})}
    )
    if dataset in VALIDATED_DATASETS:
        yield from _check(context, dataset, table)


def _output_name(context: dg.AssetExecutionContext, dataset: str) -> str:
    return context.assets_def.get_output_name_for_asset_key(dg.AssetKey(dataset))


# A run tag: "true" makes every corpus step make every part again instead of keeping the stored ones
# (`python -m pipeline build --force`).
RECOMPUTE_TAG = "pipeline/recompute"


def recompute_requested(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(RECOMPUTE_TAG) == "true"


# Steps that keep stored parts ask the IO manager (a resource like any other) what it stores.
Storage = dg.ResourceParam[ParquetUPathIOManager]


def stored_parts(context: dg.AssetExecutionContext, storage: ParquetUPathIOManager, dataset: str) -> dict[str, StoredPart]:
    """The parts of the dataset as stored by the last build; none when the run asks to recompute everything."""
    return {} if recompute_requested(context) else storage.stored_parts(dataset)


@dg.asset(**_asset_kwargs("raw_pages", INGEST_GROUP), partitions_def=scrape_batches)
def raw_pages(context: dg.AssetExecutionContext, paths: CorpusPaths):
    yield from emit(context, "raw_pages", tables.raw_manifest(paths.raw_path, context.partition_key))


@dg.asset(**_asset_kwargs("parsed_pages", INGEST_GROUP), partitions_def=scrape_batches)
def parsed_pages(context: dg.AssetExecutionContext, paths: CorpusPaths, raw_pages: pa.Table):
    fingerprint = listed_fingerprint(paths.raw_path, context.partition_key, raw_pages)  # before parsing
    parsed = tables.parse_manifest(raw_pages, paths.raw_path)
    yield from emit(context, "parsed_pages", parsed, {INGEST_KEY: ingest_key(fingerprint) if fingerprint else ""})


def listed_fingerprint(raw_dir: Path, batch: str, manifest: pa.Table) -> str:
    """The batch's fingerprint if it still holds exactly the files raw_pages listed, else "".

    Taken before parsing: a file rewritten later only makes the recorded fingerprint stale (the batch
    is ingested again), and "" for files that landed after the listing means the same, never a miss.
    """
    snapshot = batches.snapshot(raw_dir / batch)
    listed = [f"{batch}/{path}" for path, _size, _mtime in snapshot.files]
    return snapshot.fingerprint if listed == manifest["source"].to_pylist() else ""


SCREENED = ("consultations", "page_versions", "rejects", "pii_originals")


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
def screen_pages(
    context: dg.AssetExecutionContext,
    corpus_lock: CorpusLock,
    paths: CorpusPaths,
    quality: QualitySettings,
    io_manager: Storage,
    parsed_pages: PartitionTables,
):
    if retired := retire_gone_batches(context, paths, io_manager):
        context.log.info(f"batches {retired} left raw/: their raw_pages and parsed_pages files are removed")
    # Each batch is read where its part is screened (a worker process, with many pages), and the part is
    # written there too; the IO manager consumes the stream when the output is yielded, so by the time the
    # next line runs every part is screened (or kept) and stored, and the other results are complete.
    screening = screen.Screening(
        parsed_pages,
        keep_pii_originals=quality.keep_pii_originals,
        stored={name: stored_parts(context, io_manager, name) for name in ("consultations", "pii_originals")},
        writer=io_manager.part_files(),
    )
    originals: list[Part] = []

    def consultations() -> Iterator[Part]:
        for part in screening.parts():
            originals.append(part.pii_originals)
            yield part.consultations

    def pii_metadata() -> dict[str, int]:
        return {f"pii/{kind}": count for kind, count in screening.pii_found().items()}

    included = {"batches": dg.MetadataValue.json(sorted(parsed_pages))}
    yield dg.Output(part_stream("consultations", consultations(), io_manager, pii_metadata), output_name="consultations", metadata=included)
    yield from _check(context, "consultations", screening.report("consultations"))
    yield dg.Output(part_stream("pii_originals", originals, io_manager), output_name="pii_originals", metadata=included)
    yield from _check(context, "pii_originals", screening.report("pii_originals"))
    for dataset in ("page_versions", "rejects"):
        yield from emit(context, dataset, getattr(screening, dataset)(), included | pii_metadata())


def retire_gone_batches(context: dg.AssetExecutionContext, paths: CorpusPaths, storage: ParquetUPathIOManager) -> list[str]:
    """Remove the ingest files of the batches `orphaned_batches` finds; returns those batches."""
    gone = orphaned_batches(context.instance, storage, lambda: [folder.name for folder in batches.batch_dirs(paths.raw_path)])
    storage.remove_batches(INGEST_DATASETS, gone)
    return gone


def needs_ingest(key: str, latest: Ingestion | None, *, files_held: bool) -> bool:
    """Whether a batch, whose files and parser now make `key` (partitions.ingest_key), is to be ingested: never
    ingested, last ingested from other files or by another parser (`latest`), or its ingest files not all held
    (`files_held`: deleted since, or, where the caller reads their footers, damaged or of other columns)."""
    return latest is None or latest.key != key or not files_held


def orphaned_batches(
    instance: dg.DagsterInstance, storage: ParquetUPathIOManager, in_raw: Callable[[], list[str]]
) -> list[str]:
    """The batches the ingest datasets still hold files of that are no partition any more (deleted by the sensor
    or the build when their folder left raw/) and whose folder is still gone. raw/ is listed (`in_raw`) only
    when there are such files: a corpus run otherwise never needs raw/."""
    partitions = set(instance.get_dynamic_partitions(scrape_batches.name))
    orphans = storage.stored_batches(INGEST_DATASETS) - partitions
    return batches.gone_batches(orphans, in_raw()) if orphans else []


def part_stream(
    dataset: str, parts: Iterable[Part], storage: ParquetUPathIOManager, metadata: Callable[[], Mapping[str, Any]] = dict
) -> PartStream:
    """The parts as the IO manager takes them, with what the UI shows of a dataset: its columns and a preview
    of the first part made now, read back from storage once it is written (the row count is the IO manager's,
    over every part). Only its batch is remembered: holding its rows would keep a whole part in memory."""
    first_made: list[str] = []

    def watched() -> Iterator[Part]:
        for part in parts:
            if not part.kept and not first_made:
                first_made.append(part.batch)
            yield part

    def shown() -> dict[str, Any]:
        preview = {}
        if first_made:
            rows = storage.head(dataset, first_made[0], PREVIEW_ROWS)
            preview = {name: value for name, value in table_metadata(rows).items() if name != "dagster/row_count"}
        return definition_metadata(dataset) | preview | dict(metadata())

    return PartStream(watched(), shown)


def _check(
    context: dg.AssetExecutionContext, dataset: str, checked: pa.Table | validation.ValidationReport
) -> Iterator[dg.AssetCheckResult]:
    """Its check result, when the run selected the check (the table validated now, or its report as it stands)."""
    if (result := expectation_check_result(context, dataset, checked)) is not None:
        yield result


def columns_of(dataset: str, columns: list[str]) -> dg.AssetIn:
    """An input that reads only these columns of the dataset (the step needs no more)."""
    return dg.AssetIn(dataset, metadata={COLUMNS: columns})


def parts_of(dataset: str) -> dg.AssetIn:
    """An input that hands the step the stored parts of a parted dataset, to read as it needs."""
    return dg.AssetIn(dataset, metadata={PARTS: True})


@dg.asset(**_asset_kwargs("sections"), ins={"consultations": parts_of("consultations")})
def sections(context: dg.AssetExecutionContext, corpus_lock: CorpusLock, io_manager: Storage, consultations: dict[str, StoredPart]):
    suite = validation.SuiteRun("sections")
    made = tables.sections_parts(consultations, stored_parts(context, io_manager, "sections"), suite, io_manager.part_files())
    yield dg.Output(part_stream("sections", made, io_manager))
    yield from _check(context, "sections", suite.report())


@dg.asset(
    **_asset_kwargs("related_questions"),
    ins={"consultations": parts_of("consultations")},
)
def related_questions(
    context: dg.AssetExecutionContext, corpus_lock: CorpusLock, io_manager: Storage, consultations: dict[str, StoredPart]
):
    suite = validation.SuiteRun("related_questions")
    stored = stored_parts(context, io_manager, "related_questions")
    whole = io_manager.stored_as_recorded(context.instance, "related_questions")
    related = tables.related_parts(consultations, stored, suite, stored_whole=whole, writer=io_manager.part_files())
    metadata = {f"links/{name}": value for name, value in link_coverage(related.linked).items()}
    metadata |= {"links/linked_now": related.linked_now}
    yield dg.Output(part_stream("related_questions", related.parts, io_manager, lambda: metadata))
    yield from _check(context, "related_questions", suite.report())


FRONTIER_CSV = "missing_pages.csv"


@dg.asset(**_asset_kwargs("missing_pages"), ins={"related_questions": parts_of("related_questions")})
def missing_pages(
    context: dg.AssetExecutionContext, corpus_lock: CorpusLock, paths: CorpusPaths, related_questions: dict[str, StoredPart]
):
    """The crawl frontier, also written as processed/missing_pages.csv for the scraper."""
    missing = frontier.missing_pages(frontier.unlinked_teasers(related_questions))
    csv_path = paths.processed_path / FRONTIER_CSV
    csv_path.write_text(frontier.frontier_csv(missing), encoding="utf-8")
    yield from emit(context, "missing_pages", missing, {"csv": dg.MetadataValue.path(str(csv_path))})


@dg.asset(
    **_asset_kwargs("near_duplicates"),
    ins={"consultations": parts_of("consultations")},
)
def near_duplicates(
    context: dg.AssetExecutionContext,
    corpus_lock: CorpusLock,
    paths: CorpusPaths,
    quality: QualitySettings,
    consultations: dict[str, StoredPart],
):
    """Near-duplicate clusters; the MinHash index persists, so a new batch hashes (and reads the texts of) only its new pages."""
    pages = concat_parts(consultations, schemas.CONSULTATIONS, ["page_id", "content_hash"])
    texts = PartRows(consultations, near_dups.TEXT_COLUMNS).take
    local = all(part.local for part in consultations.values())  # its parts read in worker processes too
    result = near_dups.update_index(quality.index_dir(paths), pages, quality.duplicate_config(), texts=texts, texts_in_workers=local)
    summary = {f"duplicates/{name}": value for name, value in near_dups.duplicate_summary(result.table).items()}
    metadata = summary | {"pages_hashed_now": len(result.inserted), "pages_indexed": result.n_indexed}
    yield from emit(context, "near_duplicates", result.table, metadata)


# What the card reads of each dataset: its counts come from these columns, its schemas from schemas.py.
CARD_INPUTS = {
    "consultations": ["category", *(f"pii_{kind}" for kind in PII_KINDS)],
    "sections": ["page_id"],
    "related_questions": ["link_method"],
    "page_versions": ["role"],
    "rejects": ["stage", "reject_reason"],
    "missing_pages": None,
    "near_duplicates": ["dup_cluster", "dup_cluster_size"],
}


@dg.asset(
    group_name=CORPUS_GROUP,
    kinds={"markdown"},
    ins={name: columns_of(name, columns) if columns else dg.AssetIn(name) for name, columns in CARD_INPUTS.items()},
    description="processed/README.md: the dataset card, generated from the datasets (counts, categories, "
    "rejects, link coverage, duplicate rate, PII, schemas, how to load).",
)
def dataset_card(corpus_lock: CorpusLock, paths: CorpusPaths, quality: QualitySettings, **datasets: pa.Table) -> dg.MaterializeResult:
    stats = card.card_stats(datasets, quality.duplicate_config())
    text = card.render_dataset_card(datasets, stats=stats, folder=paths.processed_path.name)
    path = paths.processed_path / "README.md"
    path.write_text(text, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "card": dg.MetadataValue.md(text),
            CORPUS_RECIPE: quality.corpus_recipe(),  # what this corpus run was made by: a build compares it
        }
    )


INGEST_ASSETS = [raw_pages, parsed_pages]
CORPUS_ASSETS = [screen_pages, sections, related_questions, missing_pages, near_duplicates, dataset_card]
