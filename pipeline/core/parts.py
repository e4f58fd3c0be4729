"""Corpus datasets kept as one Parquet file per scrape batch ("parts"), each tagged with the key it was made from.

The key of a part is a digest of everything its rows depend on: the input rows it is made from, the
settings, and the code and the expectation suite that make and check it. A step works out the key of
every part it would write; a part whose stored file carries that key is kept as it is, neither made
nor validated again, and what the step needs of it later (its check results, the rows it took out)
comes back from its memo, stored in the same file. So a build costs what changed, not what the corpus
holds, and a change of code or suite remakes every part it touches.

Storage (where the files are, how they are written) is the caller's: the Dagster IO manager hands a
step the stored parts as `StoredPart`s and writes the `Part`s it gets back.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from pipeline.core import schemas, workers
from pipeline.core.memory import release_freed_memory

if TYPE_CHECKING:
    from pipeline.core.validation import SuiteRun

# The corpus datasets stored per batch: their rows belong to the batch holding each page's current version.
PARTED_DATASETS = frozenset({"consultations", "pii_originals", "sections", "related_questions"})


def _no_sidecar(name: str) -> None:
    """A part without sidecars (a module function, not a lambda: parts travel to worker processes pickled)."""
    return None


@dataclasses.dataclass(frozen=True)
class StoredPart:
    """A part as it is stored: its key, its memo, and its rows when asked for (only the columns asked for; with
    `where`, a pyarrow.compute expression, only the rows it holds for: `read(columns, where=...)`).

    `sidecar(name)` reads a table the step kept with the part (e.g. keys computed from its rows, to be used
    again without the rows): None when there is none stored with this part's key. `local`: stored on this
    machine's file system, so a worker process can read it too (not in a process's own memory://, nor on
    object storage, whose clients do not survive a fork)."""

    key: str
    memo: Mapping[str, Any]
    rows: int
    read: Callable[..., pa.Table]
    sidecar: Callable[[str], pa.Table | None] = _no_sidecar
    local: bool = False


@dataclasses.dataclass(frozen=True)
class Part:
    """A part as a step hands it to storage: its rows and the sidecar tables to store with them (private to
    the step: readers of the dataset never see them); or no rows: the stored part with this key stays, either
    kept from an earlier build or `written` already by the step that made it (a PartWriter)."""

    batch: str
    key: str
    memo: Mapping[str, Any]
    table: pa.Table | None = None
    sidecars: Mapping[str, pa.Table] = dataclasses.field(default_factory=dict)
    written: bool = False

    @property
    def kept(self) -> bool:
        return self.table is None and not self.written


class PartWriter(abc.ABC):
    """Stores parts where their dataset lives (the IO manager's storage), for steps that make parts in worker
    processes: the workers store what they made instead of sending the rows back (memory and time)."""

    @property
    @abc.abstractmethod
    def in_workers(self) -> bool:
        """Whether worker processes may write to it (a local file system; not a process's own memory://)."""

    @abc.abstractmethod
    def write(self, dataset: str, part: Part) -> StoredPart:
        """Store the part (with its rows); returns it as stored."""


class BatchTables(Mapping[str, pa.Table]):
    """Tables by scrape batch (e.g. each batch's parsed pages), read when asked for: only the columns asked for."""

    @abc.abstractmethod
    def read(self, batch: str, columns: Sequence[str] | None = None) -> pa.Table: ...

    def digest(self, batch: str) -> str:
        """Identifies the batch's table: what a part made from it is keyed by."""
        table = self.read(batch)
        return column_digest(table, table.column_names)

    def __getitem__(self, batch: str) -> pa.Table:
        return self.read(batch)


class TablesInMemory(BatchTables):
    def __init__(self, tables: Mapping[str, pa.Table]):
        self._tables = dict(tables)

    def read(self, batch: str, columns: Sequence[str] | None = None) -> pa.Table:
        table = self._tables[batch]
        return table if columns is None else table.select(list(columns))

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


def reusable(stored: Mapping[str, StoredPart] | None, batch: str, key: str) -> StoredPart | None:
    """The stored part of the batch when it was made from the same key, else None (to be made again)."""
    part = (stored or {}).get(batch)
    return part if part is not None and part.key == key else None


def digest(*values: Any) -> str:
    """A stable digest of JSON-able values (dict keys sorted): the same inputs give the same key in any process."""
    text = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parts_key(keys: Mapping[str, str]) -> str:
    """The key of a whole set of parts (batch -> part key): the same parts, the same key."""
    return digest(sorted(keys.items()))


def column_digest(table: pa.Table, columns: Sequence[str]) -> str:
    """A digest of the values of these columns, row by row (independent of how the table is chunked)."""
    return digest([table[name].to_pylist() for name in columns])


def code_digest(modules: Iterable[ModuleType], files: Iterable[Path] = ()) -> str:
    """A digest of the source of these modules and files (e.g. expectation suites), and of what stores and checks
    every part (this module and validation: a memo is read back by them): any edit changes it.

    Keys carry it, so a part made by other code is made again; no version number to forget to bump.
    """
    from pipeline.core import validation

    machinery = {Path(__file__), Path(validation.__file__)}
    hasher = hashlib.sha256()
    for path in sorted({Path(module.__file__) for module in modules if module.__file__} | machinery | set(map(Path, files))):
        hasher.update(path.name.encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def concat_parts(parts: Mapping[str, StoredPart], schema: pa.Schema, columns: Sequence[str] | None = None) -> pa.Table:
    """Every part's rows (these columns) as one table, in batch order; an empty table when there is none."""
    wanted = schemas.projected(schema, columns)
    tables = [parts[batch].read(columns) for batch in sorted(parts)]
    return pa.concat_tables([wanted.empty_table(), *tables]) if tables else wanted.empty_table()


def validated_parts(
    dataset: str,
    keys: Mapping[str, str],
    make: Callable[[str], pa.Table],
    stored: Mapping[str, StoredPart] | None,
    suite: SuiteRun,
    *,
    writer: PartWriter | None = None,
    pages: int = 0,
) -> Iterator[Part]:
    """The parts of a dataset, by batch (batch order): the stored part where its key is the same, else
    `make(batch)`. Every part is counted into `suite` (a SuiteRun of the dataset's suite): a made part is
    checked now, a kept part brings its stored check; the whole-table expectations read its rows.

    With a `writer`, made parts are stored where they are made and come back without their rows; with many
    `pages` in all they are made and checked in worker processes (`made_in_workers`; `make` must pickle)."""
    to_make = [batch for batch in sorted(keys) if reusable(stored, batch, keys[batch]) is None]
    made = made_in_workers(functools.partial(_made, dataset, make, writer, keys), to_make, writer=writer, pages=pages)
    for batch in sorted(keys):
        if (kept := reusable(stored, batch, keys[batch])) is not None:
            yield keep(kept, batch, dataset, suite)
        else:
            yield counted(next(made), batch, dataset, suite)


def keep(stored: StoredPart, batch: str, dataset: str, suite: SuiteRun, *, written: bool = False) -> Part:
    """A stored part as it is (kept from an earlier build, or `written` now by a worker): counted into the
    suite with its stored check (the whole-table expectations read their columns from its file)."""
    from pipeline.core.validation import PartCheck

    suite.add(stored.read(suite.whole_table_columns), PartCheck.from_memo(dataset, stored.memo["check"]))
    return Part(batch, stored.key, stored.memo, written=written)


def counted(made: Part | StoredPart, batch: str, dataset: str, suite: SuiteRun) -> Part:
    """A part made now, counted into the suite with the check it was made with (its memo's "check"): stored
    already by the worker that made it (`PartWriter`), or with its rows."""
    from pipeline.core.validation import PartCheck

    if isinstance(made, StoredPart):
        return keep(made, batch, dataset, suite, written=True)
    suite.add(made.table, PartCheck.from_memo(dataset, made.memo["check"]))
    return made


def made_in_workers(work: Callable[[Any], Any], items: Sequence[Any], *, writer: PartWriter | None, pages: int) -> Iterator[Any]:
    """work(item) for each part to make, in order: in worker processes when there are several parts, many
    pages, and a writer the workers can store them with (the rows then never travel back), else here.
    Great Expectations is imported here first: forked workers share the import (and check the parts); and what
    the step freed but its allocators kept is handed back, or it stays beside the workers (in related_questions
    at 100k pages, what linking freed took the build's peak from 1.78 to 2.0 GB)."""
    from pipeline.core.validation import import_gx

    parallel = writer is not None and writer.in_workers and len(items) > 1 and pages >= workers.PARALLEL_MIN_PAGES
    if parallel:
        import_gx()
        release_freed_memory()
    return workers.in_order(work, items, parallel=parallel, preload=("great_expectations",))


def _made(dataset: str, make: Callable[[str], pa.Table], writer: PartWriter | None, keys: Mapping[str, str], batch: str) -> Part | StoredPart:
    return checked(dataset, batch, keys[batch], make(batch), writer)


def checked(
    dataset: str, batch: str, key: str, table: pa.Table, writer: PartWriter | None, sidecars: Mapping[str, pa.Table] | None = None
) -> Part | StoredPart:
    """A part made now, checked with the dataset's suite (in a worker, perhaps): stored by the writer when there is
    one, else with its rows; `counted` takes it from there."""
    from pipeline.core.validation import SuiteRun

    return stored_now(dataset, Part(batch, key, {"check": SuiteRun(dataset).check(table).to_memo()}, table, dict(sidecars or {})), writer)


def stored_now(dataset: str, part: Part, writer: PartWriter | None) -> Part | StoredPart:
    """A part made now (with its check in its memo): stored by the writer when there is one, else with its rows."""
    return writer.write(dataset, part) if writer is not None else part


class PartRows:
    """Rows of a parted dataset by their position in the whole (its parts in batch order), read a part at a
    time: only the parts holding the rows asked for are read, and only these columns."""

    def __init__(self, parts: Mapping[str, StoredPart], columns: Sequence[str]):
        self._parts = [parts[batch] for batch in sorted(parts)]
        self._starts = np.cumsum([0, *(part.rows for part in self._parts)])
        self._columns = list(columns)
        self._read: tuple[int, pa.Table] | None = None  # the last part read: rows come in ascending order

    def take(self, rows: np.ndarray) -> pa.Table:
        """The given rows (ascending), in that order."""
        part_of = np.searchsorted(self._starts, rows, "right") - 1
        pieces = [self._part(index).take(pa.array(rows[part_of == index] - self._starts[index])) for index in np.unique(part_of)]
        if not pieces:  # no row asked for
            return self._part(0).slice(0, 0) if self._parts else pa.table({})
        return pa.concat_tables(pieces)

    def _part(self, index: int) -> pa.Table:
        if self._read is None or self._read[0] != index:
            self._read = (index, self._parts[index].read(self._columns))
        return self._read[1]
