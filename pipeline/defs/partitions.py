"""Partitions: one per scrape batch (a folder under raw/), and what the instance remembers of each.

A batch's partition is added by the sensor (or by `python -m pipeline build`) when its folder shows
up. What a batch's parsed pages were made from (its `ingest_key`: the fingerprint of its files, the
parser's version, the parsed_pages schema) is stored in the metadata of its `parsed_pages`
materialisation, so a batch is ingested again when a file is new or rewritten, or when the parser is
(a new parser version re-parses every batch once), and an unchanged batch never is.
"""

from __future__ import annotations

import hashlib
from typing import Any

import dagster as dg

from pipeline.core import schemas
from pipeline.core.record import PARSER_VERSION

scrape_batches = dg.DynamicPartitionsDefinition(name="scrape_batches")

INGEST_KEY = "ingest_key"
PARSED_PAGES = dg.AssetKey("parsed_pages")


_SCHEMA_DIGEST = hashlib.sha256(
    schemas.PARSED_PAGES.to_string(show_field_metadata=False, show_schema_metadata=False).encode()
).hexdigest()[:12]


def ingest_key(fingerprint: str) -> str:
    """What a batch's parsed pages are made from: its files (their fingerprint), the parser and the schema."""
    return f"{fingerprint} parser {PARSER_VERSION} schema {_SCHEMA_DIGEST}"


def ingested_key(instance: dg.DagsterInstance, batch: str) -> str | None:
    """The ingest key recorded by the batch's latest parsed_pages materialisation, if any."""
    return latest_metadata(instance, PARSED_PAGES, INGEST_KEY, partition=batch)


def latest_metadata(instance: dg.DagsterInstance, asset_key: dg.AssetKey, name: str, *, partition: str | None = None) -> Any:
    """The value `name` in the metadata of the asset's (partition's) latest materialisation, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition] if partition is not None else None), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get(name)
    return value.value if value is not None else None


def add_batches(instance: dg.DagsterInstance, batches: list[str]) -> list[str]:
    """Add the partitions not known yet; returns the ones added."""
    known = set(instance.get_dynamic_partitions(scrape_batches.name))
    new = [batch for batch in batches if batch not in known]
    if new:
        instance.add_dynamic_partitions(scrape_batches.name, new)
    return new
