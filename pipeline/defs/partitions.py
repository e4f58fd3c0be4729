"""Partitions: one per scrape batch (a folder under raw/), and what the instance remembers of each.

A batch's partition is added by the sensor (or by `python -m pipeline build`) when its folder shows
up, and deleted when its folder is gone (the next corpus run then leaves the batch out and removes its
files). What a batch's parsed pages were made from (its `ingest_key`: the fingerprint of its files, the
parser's version, the parsed_pages schema) is stored in the metadata of its `parsed_pages`
materialisation, so a batch is ingested again when a file is new or rewritten, or when the parser is
(a new parser version re-parses every batch once), and an unchanged batch never is. What the corpus was made
from besides the batches (its `corpus_recipe`: the corpus code, the expectation suites, the quality settings)
is stored in the metadata of every corpus dataset's materialisation (and `dataset_card`'s), so a build makes
the corpus again when one of them changed, or a run left them apart.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy.exc
from upath import UPath

from pipeline.core import schemas, validation
from pipeline.core.batches import gone_batches, is_local
from pipeline.core.parts import digest
from pipeline.core.record import PARSER_VERSION

scrape_batches = dg.DynamicPartitionsDefinition(name="scrape_batches")

INGEST_KEY = "ingest_key"
PARSED_PAGES = dg.AssetKey("parsed_pages")
CORPUS_RECIPE = "corpus_recipe"
CORPUS_RECORD = "pipeline_corpus.json"  # in the instance's folder: the raw/ and processed/ it keeps the batches of
DATASET_CARD = dg.AssetKey("dataset_card")
_PACKAGE = Path(__file__).resolve().parents[1]


_SCHEMA_DIGEST = hashlib.sha256(
    schemas.PARSED_PAGES.to_string(show_field_metadata=False, show_schema_metadata=False).encode()
).hexdigest()[:12]


def ingest_key(fingerprint: str) -> str:
    """What a batch's parsed pages are made from: its files (their fingerprint), the parser and the schema."""
    return f"{fingerprint} parser {PARSER_VERSION} schema {_SCHEMA_DIGEST}"


def instance_taken(instance: dg.DagsterInstance, raw: os.PathLike | str, processed: os.PathLike | str) -> str | None:
    """Why a build, the sensor or a corpus step must not use the instance for this raw/ and processed/, or None
    (the instance then records them as its corpus's).

    An instance keeps one corpus's batches as partitions: used for another raw/ it would take them out as gone,
    and each corpus's build would then ingest and make everything again. Local folders are recorded relative to
    the instance's own, so a checkout moved whole keeps its instance. A record whose corpus folder holds nothing
    (a first build pointed at the wrong folder) or that cannot be read is replaced.
    """
    home = Path(instance.root_directory).resolve()
    record = home / CORPUS_RECORD
    folders = {"raw": _as_recorded(raw, home), "processed": _as_recorded(processed, home)}
    kept = _read_record(record)
    if kept is None or kept == folders or not _holds_files(_as_given(kept["processed"], home)):
        if kept != folders:
            temporary = record.with_name(f".{record.name}.tmp")
            temporary.write_text(json.dumps(folders, indent=2) + "\n", encoding="utf-8")
            temporary.replace(record)  # whole or not at all: a record cut short would stop every build
        return None
    return (
        f"the Dagster instance {home} keeps the batches of {_as_given(kept['raw'], home)} (corpus"
        f" {_as_given(kept['processed'], home)}); using it for {raw} into {processed} would take those batches out"
        " of it. Give this corpus an instance of its own: DAGSTER_HOME=<a folder> (a new folder is set up by"
        f" python -m pipeline build), or remove {record} if that corpus is gone."
    )


def _read_record(record: Path) -> dict[str, str] | None:
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) and {"raw", "processed"} <= set(kept) else None


def _as_recorded(folder: os.PathLike | str, home: Path) -> str:
    """A local folder (a file:// URL too) relative to the instance's, resolved; a URL (object storage) as UPath
    writes it (without the trailing slash a setting may have)."""
    path = UPath(folder)
    return os.path.relpath(Path(path.path).resolve(), home) if is_local(path) else str(path)


def _is_url(recorded: str) -> bool:
    return "://" in recorded


def _as_given(recorded: str, home: Path) -> str:
    return recorded if _is_url(recorded) else str((home / recorded).resolve())


def _holds_files(folder: str) -> bool:
    """Whether a recorded corpus folder holds anything; a URL is taken to (object storage is not listed here)."""
    if _is_url(folder):
        return True
    path = Path(folder)
    return path.is_dir() and any(path.iterdir())


def corpus_recipe(keep_pii_originals: bool, near_duplicate_threshold: float) -> str:
    """What the corpus is made from besides the batches: the corpus code (pipeline/core, pipeline/defs), the
    expectation suites and the quality settings. A corpus run records it; a build whose recipe differs runs the
    corpus again, and the parts' own keys then say which parts are made again."""
    code = sorted(path for folder in ("core", "defs") for path in (_PACKAGE / folder).rglob("*.py") if _is_source(path, _PACKAGE))
    suites = sorted(validation.EXPECTATIONS_DIR.glob("*.json"))
    sources = [(path.relative_to(_PACKAGE).as_posix(), _file_digest(path)) for path in code]
    sources += [(f"expectations/{path.name}", _file_digest(path)) for path in suites]
    return digest(sources, keep_pii_originals, near_duplicate_threshold)


def _is_source(path: Path, root: Path) -> bool:
    """A module of the package: not an editor's lock or backup file (hidden, a broken link) nor a checkpoint."""
    return path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Ingestion:
    """A batch's latest parsed_pages materialisation: its event's storage id and the ingest key it recorded."""

    storage_id: int
    key: str | None


def latest_ingestion(instance: dg.DagsterInstance, batch: str) -> Ingestion | None:
    record = _latest_record(instance, PARSED_PAGES, batch)
    return Ingestion(record.storage_id, metadata_value(record, INGEST_KEY)) if record is not None else None


def latest_metadata(instance: dg.DagsterInstance, asset_key: dg.AssetKey, name: str, *, partition: str | None = None) -> Any:
    """The value `name` in the metadata of the asset's (partition's) latest materialisation, if any."""
    record = _latest_record(instance, asset_key, partition)
    return metadata_value(record, name) if record is not None else None


def _latest_record(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str | None) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition] if partition is not None else None), limit=1
    ).records
    return records[0] if records else None


def metadata_value(record: dg.EventLogRecord, name: str) -> Any:
    if record.asset_materialization is None:
        return None
    value = record.asset_materialization.metadata.get(name)
    return value.value if value is not None else None


def add_batches(instance: dg.DagsterInstance, batches: list[str]) -> None:
    """Add the partitions not known yet. Another process (a second build, the sensor) may add some between the
    read and the insert: the insert then fails on the table's unique key, and the ones still missing are added."""
    missing = _unknown(instance, batches)
    while missing:
        try:
            instance.add_dynamic_partitions(scrape_batches.name, missing)
            break
        except sqlalchemy.exc.IntegrityError:
            still_missing = _unknown(instance, missing)
            if still_missing == missing:  # not the race: none of them was added meanwhile
                raise
            missing = still_missing


def _unknown(instance: dg.DagsterInstance, batches: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(scrape_batches.name))
    return [batch for batch in batches if batch not in known]


def retire_batches(instance: dg.DagsterInstance, in_raw: list[str]) -> list[str]:
    """Delete the partitions whose folder is no longer in raw/; returns them (the corpus must be made again)."""
    gone = gone_batches(instance.get_dynamic_partitions(scrape_batches.name), in_raw)
    for batch in gone:
        instance.delete_dynamic_partition(scrape_batches.name, batch)
    return gone
