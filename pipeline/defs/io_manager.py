"""The one IO manager: every dataset is a folder of Parquet files under a base path.

    <base>/<asset>/part-0.parquet          unpartitioned assets (pd.read_parquet("<base>/<asset>") works)
    <base>/<asset>/<partition>.parquet     partitioned assets

The base path is a local path or any fsspec/UPath URL (file://, memory://, s3://, ...). Every write is
checked against the explicit schema in `pipeline.core.schemas.DATASETS` and refused when the table does
not conform; an output may also be a `TableStream` (the dataset in parts, e.g. one per batch),
written one part at a time into the one file, so the dataset is never whole in memory; writes are
atomic (a hidden temp file in the target folder, flushed and fsynced, then
renamed over the target), so readers never see a half-written file. A temp file is named after its
writer (pid and host); one left behind by a writer that is gone (killed mid-write) is removed by the
next write to its folder. Loads return `pa.Table` with the dataset's
schema; an unpartitioned asset reading a partitioned one gets `{partition: pa.Table}`. An input declared
with `AssetIn(metadata={"columns": [...]})` reads only those columns (Parquet is columnar: the texts a
step does not need are never read), so the corpus steps hold what they use, not every dataset whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field
from upath import UPath

from pipeline.core.schemas import DATASETS
from pipeline.defs.resources import PROCESSED_DIR_ENV, default_processed_dir

PART_STEM = "part-0"
COMPRESSION = "zstd"
# Parquet writer options. Lists keep Arrow's child name "item" (the schemas' `pa.list_(...)`), so a plain
# pq.read_table / pd.read_parquet of a dataset folder gives back exactly the schema in schemas.py; the
# "compliant" name "element" would read back as a different list type. Still standard 3-level lists.
WRITE_OPTIONS = {"compression": COMPRESSION, "use_compliant_nested_type": False}
_LOCAL_PROTOCOLS = ("", "file", "local")
COLUMNS = "columns"  # input metadata: read only these columns
TEMP_WRITER = re.compile(r"\.[0-9a-f]{32}\.(?P<pid>\d+)@(?P<host>.+)\.tmp$")


class SchemaMismatchError(ValueError):
    """A table handed to the writer does not conform to its dataset's schema."""


def conform_table(table: pa.Table | pd.DataFrame, schema: pa.Schema, *, dataset: str) -> pa.Table:
    """`table` with exactly `schema` (column order, types, nullability, metadata), or raise.

    Columns may come in any order and types may be cast when the cast is safe (no overflow, no
    truncation); missing or extra columns, unsafe casts and nulls in non-nullable columns are errors.
    """
    if isinstance(table, pd.DataFrame):
        try:
            table = pa.Table.from_pandas(table, schema=schema, preserve_index=False)
        except (pa.ArrowException, KeyError, TypeError, ValueError) as exc:
            raise SchemaMismatchError(f"{dataset}: frame does not convert to the schema: {exc}") from exc
    if not isinstance(table, pa.Table):
        raise TypeError(f"{dataset}: expected a pyarrow.Table, got {type(table).__name__}")

    missing = [name for name in schema.names if name not in table.column_names]
    extra = [name for name in table.column_names if name not in schema.names]
    if missing or extra or len(set(table.column_names)) != len(table.column_names):
        raise SchemaMismatchError(
            f"{dataset}: columns do not match the schema (missing {missing}, unexpected {extra},"
            f" got {table.column_names})"
        )
    table = table.select(schema.names)
    try:
        table = table.cast(schema, safe=True)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise SchemaMismatchError(f"{dataset}: cannot cast to the schema: {exc}") from exc

    nulls = [f.name for f in schema if not f.nullable and table.column(f.name).null_count]
    if nulls:
        raise SchemaMismatchError(f"{dataset}: nulls in non-nullable columns {nulls}")
    table = table.replace_schema_metadata(schema.metadata)
    if not table.schema.equals(schema, check_metadata=True):
        raise SchemaMismatchError(f"{dataset}: schema differs after casting:\n{table.schema}")
    return table


def _is_local(path: UPath) -> bool:
    return getattr(path, "protocol", "") in _LOCAL_PROTOCOLS


def write_parquet_atomic(parts: Iterable[pa.Table], schema: pa.Schema, path: UPath) -> int:
    """Write the tables (parts of one dataset, each with `schema`) to `path` as one file, a part at a time:
    temp file in the same folder, flush + fsync, rename over the target. Returns the rows written."""
    remove_stale_temp_files(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.{os.getpid()}@{socket.gethostname()}.tmp")
    try:
        if _is_local(path):
            with open(tmp.path, "wb") as f:
                rows = _write_parts(parts, schema, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp.path, path.path)
            _fsync_dir(os.path.dirname(path.path) or ".")
        else:
            with tmp.open("wb") as f:
                rows = _write_parts(parts, schema, f)
                f.flush()
            tmp.rename(path)  # fsspec mv: as atomic as the backend allows
        return rows
    except BaseException:
        with contextlib.suppress(Exception):
            if tmp.exists():
                tmp.unlink()
        raise


def _write_parts(parts: Iterable[pa.Table], schema: pa.Schema, sink: Any) -> int:
    rows = 0
    with pq.ParquetWriter(sink, schema, **WRITE_OPTIONS) as writer:
        for part in parts:
            if part.num_rows:  # an empty part would be an empty row group
                writer.write_table(part)  # each part is released once written: the file never needs it whole
            rows += part.num_rows
    return rows


def remove_stale_temp_files(folder: UPath) -> None:
    """Delete the temp files in `folder` whose writer, a process on this host, no longer exists.

    Not every temp file: other partitions of the folder (or the same file, from an overlapping run)
    may be being written right now by another live process.
    """
    if not folder.exists():
        return
    for leftover in folder.glob(".*.tmp"):
        writer = TEMP_WRITER.search(leftover.name)
        if writer and writer["host"] == socket.gethostname() and not _process_exists(int(writer["pid"])):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _fsync_dir(directory: str) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_parquet(path: UPath, columns: list[str] | None = None) -> pa.Table:
    if _is_local(path):
        return pq.read_table(path.path, columns=columns)
    with path.open("rb") as f:
        return pq.read_table(f, columns=columns)


def projected_schema(schema: pa.Schema, columns: list[str] | None) -> pa.Schema:
    """The schema restricted to `columns`, in the order asked for (all of it for None)."""
    if columns is None:
        return schema
    return pa.schema([schema.field(name) for name in columns], metadata=schema.metadata)


class PartitionTables(Mapping[str, pa.Table]):
    """Partition key -> table, read from its file on each lookup."""

    def __init__(self, paths: Mapping[str, UPath], load: Callable[[UPath], pa.Table]):
        self._paths = dict(paths)
        self._load = load

    def __getitem__(self, key: str) -> pa.Table:
        return self._load(self._paths[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


@dataclasses.dataclass(frozen=True)
class TableStream:
    """An output given in parts (e.g. one per batch), each written and released as it comes: the dataset
    is never whole in memory. `metadata` is called after the last part (totals gathered on the way)."""

    parts: Iterable[pa.Table]
    metadata: Callable[[], Mapping[str, Any]] = dict


class ParquetUPathIOManager(dg.UPathIOManager):
    """Parquet files with the explicit dataset schemas; see the module docstring for the layout."""

    extension = ".parquet"

    def __init__(self, base_path: UPath | None = None, schemas: Mapping[str, pa.Schema] = DATASETS):
        super().__init__(base_path=base_path)
        self.schemas = schemas

    def get_asset_relative_path(self, context: dg.InputContext | dg.OutputContext) -> UPath:
        # <asset>/part-0 for a whole dataset; partitions are appended as <asset>/<partition> by the base class.
        path = super().get_asset_relative_path(context)
        return path if context.has_asset_partitions else path / PART_STEM

    def schema_for(self, context: dg.InputContext | dg.OutputContext) -> tuple[str, pa.Schema]:
        if not context.has_asset_key:
            raise dg.DagsterInvariantViolationError("The Parquet IO manager only stores assets")
        dataset = context.asset_key.path[-1]
        if dataset not in self.schemas:
            raise dg.DagsterInvariantViolationError(
                f"No schema for asset {context.asset_key.to_user_string()!r}; known: {sorted(self.schemas)}"
            )
        return dataset, self.schemas[dataset]

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        dataset, schema = self.schema_for(context)
        if not isinstance(obj, TableStream):
            write_parquet_atomic([conform_table(obj, schema, dataset=dataset)], schema, path)
            return
        rows = write_parquet_atomic((conform_table(part, schema, dataset=dataset) for part in obj.parts), schema, path)
        context.add_output_metadata({"dagster/row_count": dg.MetadataValue.int(rows), **obj.metadata()})

    def load_input(self, context: dg.InputContext) -> Any:
        if context.has_asset_key and context.has_asset_partitions and not context.has_partition_key:
            return self.load_all_partitions(context)
        return super().load_input(context)

    def load_all_partitions(self, context: dg.InputContext) -> PartitionTables:
        """{partition: table} for an unpartitioned reader, whatever the number of partitions, each table
        loaded when it is looked up (and not kept), so a reader of every batch holds one at a time.
        Missing files are an error unless the input allows missing partitions: then they are left out."""
        paths = self._get_paths_for_partitions(context)
        missing = sorted(key for key, path in paths.items() if not path.exists())
        if missing and not (context.definition_metadata or {}).get("allow_missing_partitions", False):
            raise FileNotFoundError(f"{context.asset_key.to_user_string()}: partitions {missing} are not stored")
        if missing:
            context.log.warning(f"{context.asset_key.to_user_string()}: partitions {missing} are not stored: left out")
        present = {key: path for key, path in paths.items() if key not in missing}
        return PartitionTables(present, lambda path: self.load_from_path(context, path))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pa.Table:
        # Conformed again: Parquet has no seconds unit, so timestamp[s] columns come back as [ms].
        dataset, schema = self.schema_for(context)
        columns = (context.definition_metadata or {}).get(COLUMNS)
        return conform_table(read_parquet(path, columns), projected_schema(schema, columns), dataset=dataset)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Stores every asset as a Parquet dataset folder under `base_path` (a path or fsspec URL)."""

    base_path: str = Field(
        default_factory=default_processed_dir,
        description=f"Local folder or fsspec URL; default ${PROCESSED_DIR_ENV}, else 'processed'.",
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec storage options for remote base paths."
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> ParquetUPathIOManager:
        return ParquetUPathIOManager(base_path=UPath(self.base_path, **self.storage_options))
