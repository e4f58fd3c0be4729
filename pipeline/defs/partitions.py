"""Partitions: one per scrape batch (a folder under raw/), and what the instance remembers of each.

A batch's partition is added by the sensor (or by `python -m pipeline build`) when its folder shows
up. The fingerprint of the files a batch was ingested from is stored in the metadata of its
`parsed_pages` materialisation, so a new file in an old batch (a new fingerprint) is ingested again
and an unchanged batch never is.
"""

from __future__ import annotations

import dagster as dg

scrape_batches = dg.DynamicPartitionsDefinition(name="scrape_batches")

FINGERPRINT = "batch_fingerprint"
PARSED_PAGES = dg.AssetKey("parsed_pages")


def ingested_fingerprint(instance: dg.DagsterInstance, batch: str) -> str | None:
    """The fingerprint recorded by the batch's latest parsed_pages materialisation, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PARSED_PAGES, asset_partitions=[batch]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get(FINGERPRINT)
    return value.value if value is not None else None


def add_batches(instance: dg.DagsterInstance, batches: list[str]) -> list[str]:
    """Add the partitions not known yet; returns the ones added."""
    known = set(instance.get_dynamic_partitions(scrape_batches.name))
    new = [batch for batch in batches if batch not in known]
    if new:
        instance.add_dynamic_partitions(scrape_batches.name, new)
    return new
