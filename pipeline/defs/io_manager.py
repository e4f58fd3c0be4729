"""The one IO manager: every dataset is a folder of Parquet files under a base path.

    <base>/<asset>/part-0.parquet          unpartitioned assets (pd.read_parquet("<base>/<asset>") works)
    <base>/<asset>/<partition>.parquet     partitioned assets (one per scrape batch)
    <base>/<asset>/<batch>.parquet         parted corpus datasets (parts.PARTED_DATASETS): one file per
                                           scrape batch, each tagged with its part key and memo
    <base>/<asset>/_<name>/<batch>.parquet a part's sidecar tables (a step's own cache; plain readers of the
                                           folder skip "_" folders)

The base path is a local path or any fsspec/UPath URL (file://, memory://, s3://, ...). Every write is
checked against the explicit schema in `pipeline.core.schemas.DATASETS` and refused when the table does
not conform. A parted dataset is written from a `PartStream`: each part is written (or, when the step
kept it, left as it is) as it comes, so the dataset is never whole in memory, and the files of batches
no longer in it are removed. Every file is written atomically (a hidden temp file in the target folder,
flushed and fsynced, then renamed over the target), so readers never see a half-written file; a dataset
being rewritten part by part may briefly mix parts of two builds. A temp file is named after its writer
(pid and host); one left behind by a writer that is gone (killed mid-write) is removed by the next write
to its folder. Every page of a file carries a checksum, verified whenever the pipeline reads it
(`unreadable_files` reads a whole folder so). Loads return `pa.Table` with the dataset's schema (a parted dataset: its parts in batch
order, as one table, or `{batch: parts.StoredPart}` for an input declared with `AssetIn(metadata={PARTS:
True})`); an unpartitioned asset reading a partitioned one gets `{partition: pa.Table}`. An input declared
with `AssetIn(metadata={"columns": [...]})` reads only those columns (Parquet is columnar: the texts a
step does not need are never read), so the corpus steps hold what they use, not every dataset whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import re
import socket
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field
from upath import UPath

from pipeline.core import schemas
from pipeline.core.batches import is_local
from pipeline.core.parts import PARTED_DATASETS, BatchTables, Part, PartWriter, StoredPart, concat_parts, parts_key
from pipeline.core.schemas import DATASETS
from pipeline.defs.partitions import CORPUS_RECIPE, latest_metadata
from pipeline.defs.resources import PROCESSED_DIR_ENV, default_processed_dir

PART_STEM = "part-0"
COMPRESSION = "zstd"
# Parquet writer options. Lists keep Arrow's child name "item" (the schemas' `pa.list_(...)`), so a plain
# pq.read_table / pd.read_parquet of a dataset folder gives back exactly the schema in schemas.py; the
# "compliant" name "element" would read back as a different list type. Still standard 3-level lists.
# Every page carries a CRC (Parquet's page checksum), which every read here verifies (READ_OPTIONS): a file
# damaged after it was written fails to read, where decompression alone let some damage through as other values.
WRITE_OPTIONS = {"compression": COMPRESSION, "use_compliant_nested_type": False, "write_page_checksum": True}
READ_OPTIONS = {"page_checksum_verification": True}
COLUMNS = "columns"  # input metadata: read only these columns
PARTS = "parts"  # input metadata: the stored parts of a parted dataset ({batch: StoredPart}), not one table
PARTS_KEY = "parts_key"  # a parted dataset's materialisation metadata: the key of the set of parts it stored (parts.parts_key)
PART_KEY, PART_MEMO = b"pipeline.part_key", b"pipeline.part_memo"  # in a part file's key-value metadata
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


def write_parquet_atomic(table: pa.Table, schema: pa.Schema, path: UPath) -> None:
    """Write the table (with `schema`) to `path`: temp file in the same folder, flush + fsync, rename over the target."""
    remove_stale_temp_files(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.{os.getpid()}@{socket.gethostname()}.tmp")
    try:
        if is_local(path):
            if path.is_dir():  # os.replace would fail only after the whole file is written, and less plainly
                raise IsADirectoryError(f"{path.path} is a folder, not a file of ours: move it away so the dataset can be written there")
            with open(tmp.path, "wb") as f:
                _write(table, schema, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp.path, path.path)
            _fsync_dir(os.path.dirname(path.path) or ".")
        else:
            with tmp.open("wb") as f:
                _write(table, schema, f)
                f.flush()
            tmp.rename(path)  # fsspec mv: as atomic as the backend allows
    except BaseException:
        with contextlib.suppress(Exception):
            if tmp.exists():
                tmp.unlink()
        raise


def _write(table: pa.Table, schema: pa.Schema, sink: Any) -> None:
    with pq.ParquetWriter(sink, schema, **WRITE_OPTIONS) as writer:
        writer.write_table(table)


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


class DamagedFileError(OSError):
    """A stored file that does not read (a page's checksum, its compression or its encoding): named, with the way out."""


class MissingColumnsError(ValueError):
    """A stored file asked for columns it does not have (written under another schema): not damaged."""


def read_parquet(path: UPath, columns: list[str] | None = None, **options: Any) -> pa.Table:
    """The file's table (the columns asked for), its pages' checksums verified; `options` go to pyarrow's read_table.
    A file the system does not let be read (gone, no permission) raises the system's error, which names it."""
    try:
        if is_local(path):
            return pq.read_table(path.path, columns=columns, **READ_OPTIONS, **options)
        with path.open("rb") as f:
            return pq.read_table(f, columns=columns, **READ_OPTIONS, **options)
    except Exception as exc:
        if not _is_damage(exc):
            raise
        # pyarrow's messages name no file; it says a column is missing as it says a footer is damaged (ArrowInvalid)
        if columns is not None and (missing := _missing_columns(path, columns)):
            raise MissingColumnsError(f"{path} has no column {', '.join(missing)}: written under another schema") from exc
        raise DamagedFileError(f"{path} is damaged ({exc}): `python -m pipeline build --verify` (or the verify_storage job) makes it again") from exc


def _missing_columns(path: UPath, columns: list[str]) -> list[str]:
    """The columns the file's footer does not have; none when the footer does not read either (it is damaged)."""
    try:
        names = _footer(path).schema.to_arrow_schema().names
    except Exception as exc:
        if not _is_damage(exc):
            raise
        return []
    return [name for name in columns if name not in names]


def _is_damage(error: Exception) -> bool:
    """Whether a read's error is pyarrow's word on the file's content, which making the file again mends: a page's
    checksum, its decompression or decoding, the footer's thrift (a bare OSError, no errno), no magic bytes or a
    footer that does not parse (ArrowInvalid, and Arrow's other errors). The system's word on the file itself (gone,
    no permission, a folder in its place, a disk's read error: an OSError subclass, or one with an errno) says
    nothing of its content."""
    if isinstance(error, OSError):
        return type(error) is OSError and error.errno is None
    # A damaged footer may also name an encoding or type pyarrow does not have (ArrowNotImplementedError), or a column
    # name that is no UTF-8; a read cancelled or short of memory says nothing of the file.
    content = isinstance(error, pa.ArrowException | UnicodeDecodeError)
    return content and not isinstance(error, pa.ArrowCancelled | MemoryError)


@dataclasses.dataclass(frozen=True)
class UnreadableFile:
    """A stored file that does not read whole, with the reason: `damaged` when pyarrow says so of its content (it is
    made again), else the system would not let it be read (no permission, a folder in its place): no verdict."""

    path: UPath
    reason: str
    damaged: bool

    def report(self) -> str:
        if self.damaged:
            return f"Damaged: {self.path} ({self.reason}): removed, to be made again"
        return f"Unreadable: {self.path} ({self.reason}): not removed"


def unreadable_files(base: UPath) -> list[UnreadableFile]:
    """Every Parquet file of the datasets under `base` (sidecars too) that does not read whole: a file damaged after
    it was written, which a build, reading only the footers of what it keeps, would not notice, or one the system
    does not let be read. Each file is read a row group at a time, its pages' checksums verified (a file written
    before checksums: its pages decoded)."""
    folders = [base / name for name in DATASETS]
    # a folder named like a file too: it is no part, but it stops a part of that name being written
    files = [path for folder in folders for sub in (folder, *_sidecar_folders(folder)) for path in _named_like_data_files(sub)]
    return [found for path in files if (found := _unreadable(path)) is not None]


def _unreadable(path: UPath) -> UnreadableFile | None:
    """Why the file does not read whole; None when it does, or is gone (removed since it was listed)."""
    try:
        with path.open("rb") as f:
            for _ in pq.ParquetFile(f, **READ_OPTIONS).iter_batches():
                pass
    except FileNotFoundError:
        return None
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return UnreadableFile(path, reason, damaged=_is_damage(exc))
    return None


class PartitionTables(BatchTables):
    """Partition key -> table, read from its file when looked up (only the columns asked for)."""

    def __init__(self, paths: Mapping[str, UPath], load: Callable[[UPath, Sequence[str] | None], pa.Table]):
        self._paths = dict(paths)
        self._load = load

    def read(self, batch: str, columns: Sequence[str] | None = None) -> pa.Table:
        return self._load(self._paths[batch], columns)

    def digest(self, batch: str) -> str:
        """SHA-256 of the partition's file: the bytes are the table's (writes are deterministic), and reading
        them costs a fraction of decoding the table."""
        return hashlib.sha256(self._paths[batch].read_bytes()).hexdigest()

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


@dataclasses.dataclass(frozen=True)
class PartStream:
    """A parted dataset as its parts (parts.Part, one per batch), each written or kept as it comes: the dataset
    is never whole in memory. `metadata` is called after the last part (totals gathered on the way)."""

    parts: Iterable[Part]
    metadata: Callable[[], Mapping[str, Any]] = dict


class ParquetUPathIOManager(dg.UPathIOManager):
    """Parquet files with the explicit dataset schemas; see the module docstring for the layout."""

    extension = ".parquet"

    def __init__(self, base_path: UPath | None = None, schemas: Mapping[str, pa.Schema] = DATASETS, corpus_recipe: str = ""):
        super().__init__(base_path=base_path)
        self.schemas = schemas
        self.corpus_recipe = corpus_recipe  # recorded with every dataset it stores: what made it (partitions.corpus_recipe)

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
        if dataset not in PARTED_DATASETS:
            write_parquet_atomic(conform_table(obj, schema, dataset=dataset), schema, path)
            return
        if not isinstance(obj, PartStream):
            raise TypeError(f"{dataset} is stored per batch: hand the IO manager a PartStream, not {type(obj).__name__}")
        rows, written, stored_key = self.write_parts(dataset, obj.parts, path.parent)
        context.add_output_metadata(
            {"dagster/row_count": dg.MetadataValue.int(rows), "parts_written": written, PARTS_KEY: stored_key, **obj.metadata()}
        )

    def get_metadata(self, context: dg.OutputContext, obj: Any) -> dict[str, Any]:
        """A parted dataset's path is its folder (the base class reports the nominal file); every dataset records
        the corpus recipe it was made under, which a build compares with its own."""
        dataset, _ = self.schema_for(context)
        path = {"path": dg.MetadataValue.path(str(self._get_path(context).parent))} if dataset in PARTED_DATASETS else {}
        return path | ({CORPUS_RECIPE: self.corpus_recipe} if self.corpus_recipe else {})

    def write_parts(self, dataset: str, parts: Iterable[Part], folder: UPath) -> tuple[int, list[str], str]:
        """Write the parts that carry a table, check that the others are stored with their key (kept, or
        written by the step's workers), and remove the files of batches not among them. Returns the rows of
        the dataset, the batches written by this build and the key of the set of parts stored (`PARTS_KEY`)."""
        files = self.part_files()
        keys, written = {}, []
        for part in parts:
            if part.table is not None:
                files.write(dataset, part)
                part = dataclasses.replace(part, table=None, sidecars={}, written=True)
            keys[part.batch] = part.key
            if part.written:
                written.append(part.batch)
        stored = self.stored_parts(dataset)
        if missing := [batch for batch, key in keys.items() if batch not in stored or stored[batch].key != key]:
            raise ValueError(f"{dataset}: parts {missing} were to be stored already but are not stored with their key")
        for stale in [*data_files(folder), *(path for sidecars in _sidecar_folders(folder) for path in data_files(sidecars))]:
            if stale.stem not in keys:  # a batch that holds no current version any more, or an older layout
                stale.unlink()
        return sum(stored[batch].rows for batch in keys), written, parts_key(keys)

    def head(self, dataset: str, batch: str, rows: int) -> pa.Table:
        """The first rows of a stored part (a preview: the file's first pages, not the whole part)."""
        path = _part_path(self._base_path / dataset, batch)
        with path.open("rb") as f:
            first = next(pq.ParquetFile(f, **READ_OPTIONS).iter_batches(batch_size=rows), None)
        schema = self.schemas[dataset]
        return conform_table(pa.Table.from_batches([first]) if first is not None else schema.empty_table(), schema, dataset=dataset)

    def part_files(self) -> PartFiles:
        """The writer of parts to this storage, for steps whose workers store the parts they make."""
        return PartFiles(self._base_path, self.schemas)

    def stored_batches(self, datasets: Iterable[str]) -> set[str]:
        """The batches some per-batch dataset holds a file of."""
        return set().union(*map(self._listed_batches, datasets))

    def held_batches(self, datasets: Iterable[str]) -> set[str]:
        """The batches every one of these per-batch datasets holds a file of: a listing per dataset, no file read."""
        listed = list(map(self._listed_batches, datasets))
        return set.intersection(*listed) if listed else set()

    def _listed_batches(self, dataset: str) -> set[str]:
        return {path.stem for path in data_files(self._base_path / dataset)}

    def holds_batch(self, datasets: Iterable[str], batch: str) -> bool:
        """Whether each of these per-batch datasets holds the batch's file, its footer readable and its columns the
        dataset's: not deleted or damaged since it was written, nor written by a version with other columns."""
        for dataset in datasets:
            footer = readable_footer(_part_path(self._base_path / dataset, batch))
            if footer is None or footer.schema.to_arrow_schema().names != self.schemas[dataset].names:
                return False
        return True

    def remove_batches(self, datasets: Iterable[str], batches: Collection[str]) -> None:
        """Remove the files of these batches from these per-batch datasets."""
        for dataset in datasets:
            for batch in batches:
                if (path := _part_path(self._base_path / dataset, batch)).exists():
                    path.unlink()

    def stored_as_recorded(self, instance: dg.DagsterInstance, dataset: str) -> bool:
        """Whether the parted dataset's files are the parts its latest materialisation stored, every one of them
        readable: a step that stopped half-way (it records no materialisation) or a file deleted or damaged since
        leaves other files than it recorded."""
        stored = self.stored_parts(dataset)
        recorded = latest_metadata(instance, dg.AssetKey(dataset), PARTS_KEY)
        every_file_a_part = len(stored) == len(data_files(self._base_path / dataset))
        return every_file_a_part and recorded == parts_key({batch: part.key for batch, part in stored.items()})

    def stored_parts(self, dataset: str) -> dict[str, StoredPart]:
        """The stored parts of a parted dataset, by batch, from the files' footers (rows are read when asked)."""
        schema = self.schemas[dataset]
        found = {path.stem: _stored_part(path, schema, dataset) for path in data_files(self._base_path / dataset)}
        return {batch: part for batch, part in found.items() if part is not None}

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
        dataset, schema = self.schema_for(context)
        columns = (context.definition_metadata or {}).get(COLUMNS)
        return PartitionTables(present, functools.partial(_read_partition, schema, dataset, columns))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        dataset, schema = self.schema_for(context)
        settings = context.definition_metadata or {}
        columns = settings.get(COLUMNS)
        if dataset not in PARTED_DATASETS:
            return _read_conformed(path, schema, dataset, columns)
        stored = self.stored_parts(dataset)
        return stored if settings.get(PARTS) else concat_parts(stored, schema, columns)


def _read_partition(schema: pa.Schema, dataset: str, columns: Sequence[str] | None, path: UPath, asked: Sequence[str] | None) -> pa.Table:
    """A partition's table: the columns asked for, else the input's (a module function: worker processes get it pickled)."""
    return _read_conformed(path, schema, dataset, asked if asked is not None else columns)


def _read_conformed(
    path: UPath, schema: pa.Schema, dataset: str, columns: Sequence[str] | None = None, where: pc.Expression | None = None
) -> pa.Table:
    """The part's rows (those `where` holds for, if given) in the dataset's schema."""
    columns = None if columns is None else list(columns)
    wanted = schemas.projected(schema, columns)
    # The filter saves memory, not decoding: a part is one row group, so every row of these columns is decoded
    # (reading strings as dictionaries first was measured slower: the texts are nearly all distinct).
    options = {} if where is None else {"filters": where}
    # Conformed again: Parquet has no seconds unit, so timestamp[s] columns come back as [ms].
    return conform_table(read_parquet(path, columns, **options), wanted, dataset=dataset)


class PartFiles(PartWriter):
    """Writes parts of parted datasets as <base>/<dataset>/<batch>.parquet (sidecars in `_<name>/`), each
    tagged with its key and memo, atomically. Plain data: it travels to worker processes pickled."""

    def __init__(self, base: UPath, schemas: Mapping[str, pa.Schema]):
        self.base, self.schemas = base, schemas

    @property
    def in_workers(self) -> bool:
        return is_local(self.base)

    def write(self, dataset: str, part: Part) -> StoredPart:
        schema, folder = self.schemas[dataset], self.base / dataset
        for name, sidecar in part.sidecars.items():  # before the part: a part on disk has its sidecars
            (folder / f"_{name}").mkdir(parents=True, exist_ok=True)
            tagged = sidecar.schema.with_metadata({PART_KEY: part.key.encode()})
            write_parquet_atomic(sidecar.replace_schema_metadata(tagged.metadata), tagged, _part_path(folder / f"_{name}", part.batch))
        table = conform_table(part.table, schema, dataset=dataset)
        tagged = schema.with_metadata({**schema.metadata, PART_KEY: part.key.encode(), PART_MEMO: _memo_json(part.memo)})
        folder.mkdir(parents=True, exist_ok=True)
        path = _part_path(folder, part.batch)
        write_parquet_atomic(table.replace_schema_metadata(tagged.metadata), tagged, path)
        return _stored_part(path, schema, dataset)


def _part_path(folder: UPath, batch: str) -> UPath:
    return folder / f"{batch}.parquet"


def _stored_part(path: UPath, schema: pa.Schema, dataset: str) -> StoredPart | None:
    """The part stored at path, from its footer (rows are read when asked); None when it is no part."""
    if (footer := readable_footer(path)) is None:  # not a Parquet file (any more): the part is made again
        return None
    metadata = footer.metadata or {}
    if PART_KEY not in metadata:  # not written as a part (an older layout): made again
        return None
    return StoredPart(
        key=metadata[PART_KEY].decode(),
        memo=json.loads(metadata[PART_MEMO]),
        rows=footer.num_rows,
        read=functools.partial(_read_conformed, path, schema, dataset),
        sidecar=functools.partial(_read_sidecar, path.parent, path.name, metadata[PART_KEY]),
        local=is_local(path),
    )


def _read_sidecar(folder: UPath, file_name: str, key: bytes, name: str) -> pa.Table | None:
    """The part's sidecar table, when one is stored with the part's key."""
    path = folder / f"_{name}" / file_name
    if (footer := readable_footer(path)) is None or (footer.metadata or {}).get(PART_KEY) != key:
        return None
    try:
        return read_parquet(path)
    except OSError:  # not to be read, or damaged (DamagedFileError): the step computes it again
        return None


def _sidecar_folders(folder: UPath) -> list[UPath]:
    return [path for path in folder.glob("_*") if path.is_dir()] if folder.exists() else []


def data_files(folder: UPath) -> list[UPath]:
    """The dataset files of a folder. Not a folder named like one: it holds no part of ours (and must not be taken
    for a batch's file, to be removed or read)."""
    return [path for path, is_file in _named_like_data_files(folder).items() if is_file]


def _named_like_data_files(folder: UPath) -> dict[UPath, bool]:
    """What in a folder is named like a dataset file (hidden temp files are not), in order, and whether it is a file:
    told by the listing itself (asking each path would cost a request per file on object storage)."""
    folder = UPath(folder)  # a plain local path too (the build's)
    if not folder.exists():
        return {}
    listed = folder.fs.glob(f"{folder.path.rstrip('/')}/[!.]*.parquet", detail=True)
    return {folder / name.rsplit("/", 1)[-1]: info.get("type") == "file" for name, info in sorted(listed.items())}


def readable_footer(path: UPath) -> pq.FileMetaData | None:
    """The file's footer; None when there is no file there to read or its footer is damaged: what is stored there is
    to be made again. Damage has many words in pyarrow (`_is_damage`); a read short of memory or cancelled is no
    verdict on the file, and raises."""
    try:
        return _footer(path)
    except Exception as exc:
        if isinstance(exc, OSError) or _is_damage(exc):
            return None
        raise


def _footer(path: UPath) -> pq.FileMetaData:
    if is_local(path):
        return pq.read_metadata(path.path)
    with path.open("rb") as f:
        return pq.read_metadata(f)


def _memo_json(memo: Mapping[str, Any]) -> bytes:
    """The memo as JSON, its keys in the order they were made in (the same every build: the same code makes
    them; a check's details quote an expectation's parameters in their order)."""
    return json.dumps(memo, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Stores every asset as a Parquet dataset folder under `base_path` (a path or fsspec URL)."""

    base_path: str = Field(
        default_factory=default_processed_dir,
        description=f"Local folder or fsspec URL; default ${PROCESSED_DIR_ENV}, else 'processed'.",
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec storage options for remote base paths."
    )
    corpus_recipe: str = Field(default="", description="The corpus recipe to record with every dataset (set by make_defs).")

    def create_io_manager(self, context: dg.InitResourceContext) -> ParquetUPathIOManager:
        return ParquetUPathIOManager(base_path=UPath(self.base_path, **self.storage_options), corpus_recipe=self.corpus_recipe)
