"""Records to the datasets: manifest, parsed pages, screened consultations and rejects, flat tables.

Every function returns a pyarrow table with the schema from `schemas.py` and a deterministic row order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import schemas
from pipeline.core.page import DEFAULT_MAX_BYTES, SITE_PAGE_ID, parse_file
from pipeline.core.record import PageResult

SITE_TIME_ZONE = ZoneInfo("Asia/Tokyo")  # the site's page ids carry local (JST) timestamps
NOT_SCRAPES = frozenset({"_SUCCESS"})  # batch markers, not pages


@dataclasses.dataclass(frozen=True)
class Screened:
    consultations: pa.Table
    rejects: pa.Table


def raw_manifest(raw_dir: Path) -> pa.Table:
    """Every file under raw_dir/<batch>/ (hidden files and markers aside), sorted by batch and path."""
    rows = [
        {"batch": batch_dir.name, "source": path.relative_to(raw_dir).as_posix(), "size_bytes": path.stat().st_size}
        for batch_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        for path in sorted(batch_dir.rglob("*"))
        if path.is_file() and _is_scrape(path.relative_to(batch_dir))
    ]
    return pa.Table.from_pylist(rows, schema=schemas.RAW_PAGES)


def parse_manifest(manifest: pa.Table, raw_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> pa.Table:
    """Parse every file of the manifest; rejected inputs are rows too."""
    results = (
        (batch, parse_file(raw_dir / source, source=source, max_bytes=max_bytes))
        for batch, source in zip(manifest["batch"].to_pylist(), manifest["source"].to_pylist())
    )
    return parsed_pages_table(results)


def parsed_pages_table(results: Iterable[tuple[str, PageResult]]) -> pa.Table:
    rows = [{"batch": batch, "posted_at": posted_at(result.page_id), **result.to_dict()} for batch, result in results]
    return pa.Table.from_pylist(rows, schema=schemas.PARSED_PAGES)


def posted_at(page_id: str | None) -> dt.datetime | None:
    """The timestamp in the site's page id (YYYYMMDDhhmmss, JST), in UTC; None for hashed ids."""
    if not page_id or not SITE_PAGE_ID.fullmatch(page_id):
        return None
    try:
        local = dt.datetime.strptime(page_id[:14], "%Y%m%d%H%M%S").replace(tzinfo=SITE_TIME_ZONE)
    except ValueError:  # 14 digits that are no date
        return None
    return local.astimezone(dt.UTC)


def screen_pages(parsed: pa.Table) -> Screened:
    """Split parsed pages into consultations and rejects (parse failures, duplicates, failed expectations).

    Every parsed row lands in exactly one of the two tables.
    """
    parse_rejects = parsed.filter(pc.equal(parsed["status"], "rejected"))
    candidates = parsed.filter(pc.equal(parsed["status"], "ok")).sort_by(
        [("page_id", "ascending"), ("batch", "ascending"), ("source", "ascending")]
    )
    kept, duplicates = _collapse_duplicates(candidates)
    valid, invalid = _apply_row_expectations(kept.select(schemas.CONSULTATIONS.names).cast(schemas.CONSULTATIONS))
    reject_rows = [
        *_reject_rows(parse_rejects, stage="parse"),
        *duplicates,
        *invalid,
    ]
    rejects = pa.Table.from_pylist(sorted(reject_rows, key=lambda r: (r["batch"], r["source"])), schema=schemas.REJECTS)
    return Screened(consultations=valid, rejects=rejects)


def _collapse_duplicates(candidates: pa.Table) -> tuple[pa.Table, list[dict]]:
    """One row per page_id: the latest batch wins; the others become 'dedupe' rejects."""
    page_ids = candidates["page_id"].to_pylist()
    keep = [i + 1 == len(page_ids) or page_ids[i] != page_ids[i + 1] for i in range(len(page_ids))]
    kept = candidates.filter(pa.array(keep, type=pa.bool_()))
    sources = dict(zip(kept["page_id"].to_pylist(), kept["source"].to_pylist()))
    duplicates = [
        {
            "batch": row["batch"],
            "source": row["source"],
            "stage": "dedupe",
            "reject_reason": "duplicate_page",
            "reject_detail": f"page_id {row['page_id']} is kept from {sources[row['page_id']]}",
            "page_id": row["page_id"],
            "sha256": row["sha256"],
        }
        for row, is_kept in zip(candidates.select(["batch", "source", "page_id", "sha256"]).to_pylist(), keep)
        if not is_kept
    ]
    return kept, duplicates


def _apply_row_expectations(consultations: pa.Table) -> tuple[pa.Table, list[dict]]:
    """Rows failing a row-level expectation of the consultations suite go to rejects, named by it."""
    from pipeline.core.validation import validate  # GX costs seconds to import

    failing = validate("consultations", consultations).failing_rows() if consultations.num_rows else {}
    rows = consultations.select(["batch", "source", "page_id", "sha256"]).to_pylist()
    rejects = [
        {
            **rows[position],
            "stage": "validate",
            "reject_reason": outcomes[0].expectation_type,
            "reject_detail": "; ".join(f"{outcome.name}: {outcome.detail}" for outcome in outcomes),
        }
        for position, outcomes in sorted(failing.items())
    ]
    mask = pa.array([i not in failing for i in range(consultations.num_rows)], type=pa.bool_())
    return consultations.filter(mask), rejects


def _reject_rows(rejected: pa.Table, *, stage: str) -> list[dict]:
    columns = ["batch", "source", "reject_reason", "reject_detail", "page_id", "sha256"]
    return [row | {"stage": stage} for row in rejected.select(columns).to_pylist()]


def sections_table(consultations: pa.Table) -> pa.Table:
    rows = [
        {"page_id": page_id, "section_index": index, "heading": section["heading"], "body": section["body"]}
        for page_id, sections in zip(consultations["page_id"].to_pylist(), consultations["sections"].to_pylist())
        for index, section in enumerate(sections)
    ]
    return pa.Table.from_pylist(rows, schema=schemas.SECTIONS)


def related_questions_table(consultations: pa.Table) -> pa.Table:
    rows = [
        {"page_id": page_id, "position": position, **item}
        for page_id, related in zip(consultations["page_id"].to_pylist(), consultations["related"].to_pylist())
        for position, item in enumerate(related)
    ]
    return pa.Table.from_pylist(rows, schema=schemas.RELATED_QUESTIONS)


def _is_scrape(relative: Path) -> bool:
    return not any(part.startswith(".") for part in relative.parts) and relative.name not in NOT_SCRAPES
