"""Jobs. One run cannot mix partitioned and unpartitioned assets, hence two:

- `ingest_batch` (partitioned by scrape batch, inferred from its assets): raw_pages and parsed_pages of one batch;
- `build_corpus` (unpartitioned): every corpus dataset from the parsed pages of all batches, with the
  blocking expectation checks.
"""

from __future__ import annotations

import dagster as dg

from pipeline.defs.assets import CORPUS_GROUP, INGEST_GROUP
from pipeline.defs.hooks import RELEASE_MEMORY

ingest_batch = dg.define_asset_job(
    name="ingest_batch",
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    hooks=RELEASE_MEMORY,
    description="List and parse the files of one scrape batch (one partition per folder under raw/).",
)

# Corpus runs write the same files. On local storage their steps take turns (the corpus lock, see
# resources.CorpusLock); on object storage, which has no such lock, let the run queue run one at a time:
# a tag concurrency limit of 1 on this tag (README, "Scaling out").
CORPUS_RUN_TAG = "pipeline/writes"

build_corpus = dg.define_asset_job(
    name="build_corpus",
    tags={CORPUS_RUN_TAG: "corpus"},
    selection=dg.AssetSelection.groups(CORPUS_GROUP),
    hooks=RELEASE_MEMORY,
    description="Rebuild every corpus dataset from the parsed pages of all batches and run the blocking "
    "expectation checks. Parses nothing.",
)
