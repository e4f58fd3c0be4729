"""The real thing: `dagster dev -m pipeline.defs` (webserver + daemon). The sample batch's partition is
added through GraphQL (as "Add partition" in the UI does), an `ingest_batch` run for it and then a
`build_corpus` run are launched through the GraphQL client, and the Parquet outputs land on disk."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.core.schemas import DATASETS, PRIVATE_DATASETS

from .conftest import SAMPLE_BATCH, copy_sample_raw, make_dagster_home
from .dagster_dev import dagster_dev, graphql

RUN_TIMEOUT = 180  # seconds for a run to finish
LOCATION = "pipeline.defs"  # `dagster dev -m pipeline.defs` names the code location after the module
REPOSITORY = "__repository__"  # the repository of a Definitions object

ADD_PARTITION = """
mutation ($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename
  }
}
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning")
def test_dagster_dev_ingests_a_partition_then_builds_the_corpus(repo_root: Path, tmp_path: Path):
    raw = copy_sample_raw(repo_root, tmp_path / "raw")
    processed = tmp_path / "processed"
    env = {
        "DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home")),
        "PIPELINE_RAW_DIR": str(raw),
        "PIPELINE_PROCESSED_DIR": str(processed),
        # The sample batch has no _SUCCESS marker: a long quiet period keeps the sensor off it, so the
        # runs of this test are the ones it launches.
        "PIPELINE_BATCH_QUIET_SECONDS": "1000000000",
    }
    with dagster_dev(tmp_path, env) as server:
        # Refused (UnauthorizedError: no such partitions definition) until the code location has loaded.
        server.wait_for("the partition added", lambda: _add_partition(server.port), timeout=120)

        ingest = server.submit("ingest_batch", tags={"dagster/partition": SAMPLE_BATCH})
        server.wait_for_run(ingest, RUN_TIMEOUT)
        assert pq.read_table(processed / "parsed_pages" / f"{SAMPLE_BATCH}.parquet").num_rows > 0

        corpus = server.submit("build_corpus")
        server.wait_for_run(corpus, RUN_TIMEOUT)

    for name in DATASETS:
        table = pq.read_table(processed / name)
        assert table.num_rows > 0 or name in PRIVATE_DATASETS, name  # pii_originals is empty unless opted in
    assert (processed / "README.md").is_file()  # the dataset card
    versions, rejects = pq.read_table(processed / "page_versions"), pq.read_table(processed / "rejects")
    assert pq.read_table(processed / "raw_pages").num_rows == versions.num_rows + rejects.num_rows
    assert pq.read_table(processed / "consultations").num_rows == versions["role"].to_pylist().count("current")


def _add_partition(port: int) -> bool:
    variables = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY},
        "name": "scrape_batches",
        "key": SAMPLE_BATCH,
    }
    return graphql(port, ADD_PARTITION, variables)["addDynamicPartition"]["__typename"] == "AddDynamicPartitionSuccess"
