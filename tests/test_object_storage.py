"""raw/ and processed/ on object storage: the whole graph through fsspec URLs (memory:// here, s3:// or
gs:// in a cluster), the same code path UPath gives every backend."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from upath import UPath

from pipeline.defs import make_defs

from .conftest import SAMPLE_BATCH


@pytest.fixture
def bucket(repo_root: Path) -> UPath:
    root = UPath(f"memory://bucket-{uuid.uuid4().hex}")
    for path in sorted((repo_root / "raw" / SAMPLE_BATCH).iterdir()):
        (root / "raw" / SAMPLE_BATCH / path.name).write_bytes(path.read_bytes())
    yield root
    root.fs.rm(root.path, recursive=True)


def test_ingest_and_corpus_on_memory_urls(bucket: UPath, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIPELINE_NEAR_DUPLICATE_INDEX_DIR", str(tmp_path / "index"))  # an index is local
    defs = make_defs(raw_dir=str(bucket / "raw"), processed_dir=str(bucket / "corpus"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("scrape_batches", [SAMPLE_BATCH])
        ingest = defs.resolve_job_def("ingest_batch").execute_in_process(instance=instance, partition_key=SAMPLE_BATCH)
        corpus = defs.resolve_job_def("build_corpus").execute_in_process(instance=instance)
    assert ingest.success and corpus.success
    processed = bucket / "corpus"
    with (processed / "consultations" / f"{SAMPLE_BATCH}.parquet").open("rb") as handle:
        consultations = pq.read_table(handle)
    with (processed / "parsed_pages" / f"{SAMPLE_BATCH}.parquet").open("rb") as handle:
        parsed = pq.read_table(handle)
    assert parsed.num_rows == len([p for p in (bucket / "raw" / SAMPLE_BATCH).iterdir()])
    assert 0 < consultations.num_rows < parsed.num_rows  # the bad samples were quarantined
    card = (processed / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# ") and 'pd.read_parquet("corpus/consultations", page_checksum_verification=True)' in card  # the folder's own name
    assert (processed / "missing_pages.csv").read_text(encoding="utf-8").startswith("target,n_referrers")
