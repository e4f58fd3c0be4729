"""Validate a dataset table against its Great Expectations suite (expectations/<dataset>.json).

The suites are plain JSON so they can be reviewed in a diff; GX 1.x runs them on a pandas
DataFrame through an ephemeral context. GX is imported lazily: importing it costs seconds and
most callers of the core never validate. Dtypes are not checked here (GX type expectations
misjudge pandas 3 string columns): the pyarrow schemas in schemas.py enforce them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    import great_expectations as gx

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"

# Expectations that judge the whole table; every other expectation in our suites is a column-map
# expectation that names the rows it failed.
TABLE_LEVEL_PREFIX = "expect_table_"
# Where each expectation sits in its suite, stored in its meta: GX returns results in its own order.
_POSITION_KEY = "suite_position"
_SAMPLE_SIZE = 3  # unexpected values quoted in a detail
_SAMPLE_EDGE = 30  # answers are long: quote their start and their end (where teasers sit)


@dataclasses.dataclass(frozen=True)
class ExpectationOutcome:
    name: str  # e.g. "expect_column_values_to_not_be_null(question)"
    expectation_type: str  # e.g. "expect_column_values_to_not_be_null"
    column: str | None
    success: bool
    row_level: bool  # True for column-map expectations that report failing rows
    unexpected_rows: tuple[int, ...]  # positional row indices into the validated table
    detail: str  # short human text: what failed, a few unexpected values
    rule: str = ""  # the expectation's own parameters, e.g. "min_value=80"

    def row_detail(self, value: Any) -> str:
        """What one failing row fails, with its own value (`detail` speaks of every failing row of the table)."""
        rule = f" ({short_value(self.rule)})" if self.rule else ""  # shortened: the PII check's regex is long
        return f"{self.name}{rule}: {short_value(value)}"


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    dataset: str
    outcomes: tuple[ExpectationOutcome, ...]
    rows: int  # of the validated table

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    def failed(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def failing_rows(self) -> dict[int, list[ExpectationOutcome]]:
        """Row position -> the row-level outcomes it failed, in suite order, rows ascending."""
        rows: dict[int, list[ExpectationOutcome]] = {}
        for outcome in self.outcomes:
            if outcome.row_level and not outcome.success:
                for row in outcome.unexpected_rows:
                    rows.setdefault(row, []).append(outcome)
        return dict(sorted(rows.items()))


# --- suites -----------------------------------------------------------------------------------


def suite_path(dataset: str, suites_dir: Path = EXPECTATIONS_DIR) -> Path:
    return Path(suites_dir) / f"{dataset}.json"


def load_suite_spec(dataset: str, suites_dir: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    """The suite as written in its JSON file (no GX import)."""
    path = suite_path(dataset, suites_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no expectation suite for dataset {dataset!r}: {path} is missing")
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("name") != dataset:
        raise ValueError(f"{path}: suite name {spec.get('name')!r} does not match the file name")
    return spec


def suite_columns(spec: Mapping[str, Any]) -> list[str]:
    """The columns the suite's column expectations read, in first-use order."""
    columns: list[str] = []
    for expectation in spec["expectations"]:
        column = expectation["kwargs"].get("column")
        if column is not None and column not in columns:
            columns.append(column)
    return columns


def import_gx() -> Any:
    """Great Expectations, imported (seconds, the first time in a process) with its analytics off. Worker
    pools import it before they fork, so that every worker shares one import."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if "great_expectations" not in sys.modules:
        _defer_scipy_stats()
    import great_expectations as gx
    import tqdm

    # GX makes tqdm bars (hidden), and tqdm starts a monitor thread for them: with another thread alive, a
    # worker pool can no longer fork (workers.py) and falls back to a fork server, seconds slower.
    tqdm.tqdm.monitor_interval = 0
    # GX fingerprints each batch by hashing its whole frame, twice per run (30–65% of a run on a 10k-page part), for
    # the result's batch markers only, which nothing here reads: frames above the threshold are not hashed.
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0
    return gx


def _defer_scipy_stats() -> None:
    """scipy.stats as a lazy module (the standard library's LazyLoader), run when something first uses it. GX
    imports it for distribution expectations (KL divergence, KS tests) that no suite here has: ≈ 1 s, a third of
    GX's import, paid by every build that validates."""
    if "scipy.stats" in sys.modules or (spec := importlib.util.find_spec("scipy.stats")) is None or spec.loader is None:
        return
    import scipy

    spec.loader = importlib.util.LazyLoader(spec.loader)
    stats = importlib.util.module_from_spec(spec)
    sys.modules["scipy.stats"] = stats
    spec.loader.exec_module(stats)
    # GX's `from scipy import stats` takes the attribute; through the import system it would run the module at once.
    scipy.stats = stats


def build_suite(spec: Mapping[str, Any], positions: Iterable[int] | None = None) -> gx.ExpectationSuite:
    """A GX suite from the JSON spec (only the expectations at `positions`, when given); each
    expectation's meta records its position in the file."""
    gx = import_gx()

    wanted = set(range(len(spec["expectations"])) if positions is None else positions)
    expectations = [
        {
            "type": expectation["type"],
            "kwargs": dict(expectation["kwargs"]),
            "meta": {**expectation.get("meta", {}), _POSITION_KEY: position},
        }
        for position, expectation in enumerate(spec["expectations"])
        if position in wanted
    ]
    return gx.ExpectationSuite(
        name=spec["name"], expectations=expectations, meta=dict(spec.get("meta", {}))
    )


def expectation_name(expectation_type: str, column: str | None, label: str | None) -> str:
    """Readable and unique within a suite: the label tells apart two rules on the same column."""
    inside = ", ".join(part for part in (column, label) if part)
    return f"{expectation_type}({inside})"


# --- the frame handed to GX -------------------------------------------------------------------


def _is_scalar(dtype: pa.DataType) -> bool:
    return not (pa.types.is_nested(dtype) or pa.types.is_dictionary(dtype))


def frame_for_gx(table: pa.Table | pd.DataFrame, needed: Iterable[str]) -> pd.DataFrame:
    """A DataFrame with the table's columns in order, positional index, real values only where needed.

    Columns the suite does not read become int8 placeholders: the column-set expectation still
    sees every name, but nested columns (list<struct> headings, sections) never reach pandas
    hashing inside GX, and the large ones are not converted at all.
    """
    needed = set(needed)
    columns: dict[str, Any] = {}
    if isinstance(table, pa.Table):
        for name in table.column_names:
            column = table.column(name)
            if name in needed and _is_scalar(column.type):
                columns[name] = column.to_pandas()
            else:
                columns[name] = np.zeros(table.num_rows, dtype=np.int8)
        return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    frame = table.reset_index(drop=True)
    for name in frame.columns:
        if name in needed:
            columns[name] = frame[name]
        else:
            columns[name] = np.zeros(len(frame), dtype=np.int8)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


# --- running GX -------------------------------------------------------------------------------


def _quiet_context() -> Any:
    """An in-memory GX context that prints nothing and phones nowhere.

    Progress bars are off (by default GX draws "Calculating Metrics" bars on stderr for every
    validation), analytics are off (config and env, for code paths that read only the env), and
    no temporary Data Docs site is set up: the report is the only output.
    """
    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(spec: Mapping[str, Any], positions: Iterable[int], frame: pd.DataFrame) -> list[Any]:
    """Validate the whole frame as one batch against the suite's expectations at `positions`; results in suite order.

    Twice at most: first without the failing rows' indices (BASIC: a third less work on a consultations part, as
    COMPLETE evaluates every condition again to list its rows), then COMPLETE for the expectations that failed."""
    results = _validate(build_suite(spec, positions), frame, "BASIC")
    failed = [_position(result) for result in results if not result.success]
    if failed:
        listed = {_position(result): result for result in _validate(build_suite(spec, failed), frame, "COMPLETE")}
        results = [listed.get(_position(result), result) for result in results]
    return results


def _validate(suite: gx.ExpectationSuite, frame: pd.DataFrame, result_format: str) -> list[Any]:
    context = _quiet_context()
    batch_definition = (
        context.data_sources.add_pandas("pipeline")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    # The sample list feeds the human detail; COMPLETE also lists every failing row's index.
    result = batch.validate(suite, result_format={"result_format": result_format, "partial_unexpected_count": _SAMPLE_SIZE})
    return sorted(result.results, key=_position)


def _position(result: Any) -> int:
    return result.expectation_config.meta[_POSITION_KEY]


# --- results -> outcomes ----------------------------------------------------------------------


def short_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "null"
    text = repr(str(value))[1:-1]  # one line: newlines shown as \\n
    if len(text) <= 2 * _SAMPLE_EDGE + 5:
        return text
    return f"{text[:_SAMPLE_EDGE]} [...] {text[-_SAMPLE_EDGE:]}"


def _rule_text(kwargs: Mapping[str, Any]) -> str:
    """The expectation's own parameters, e.g. "regex=おすすめ法律相談"."""
    shown = {k: v for k, v in kwargs.items() if k not in ("column", "batch_id") and v is not None}
    return ", ".join(
        f"{key}={value}" if isinstance(value, str) else f"{key}={value!r}" for key, value in shown.items()
    )


def _describe(column: str | None, kwargs: Mapping[str, Any], result: Any) -> str:
    exception = result.exception_info or {}
    if exception.get("raised_exception"):
        return f"could not run: {exception.get('exception_message')}"
    rule = _rule_text(kwargs)
    subject = f"column {column}" if column else "table"
    if result.success:
        return f"{subject}: ok ({rule})"
    details = result.result
    if "unexpected_count" in details:
        samples = ", ".join(short_value(v) for v in details.get("partial_unexpected_list") or [])
        return (
            f"{subject}: {details['unexpected_count']} of {details.get('element_count')} rows "
            f"fail ({rule}); e.g. {samples}"
        )
    mismatch = (details.get("details") or {}).get("mismatched")
    if mismatch:  # the column-set expectation: say what is missing or extra, not the whole list
        return f"{subject}: column set differs: " + "; ".join(f"{k} {v}" for k, v in mismatch.items())
    return f"{subject}: observed {details.get('observed_value')!r} ({rule})"


def to_outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    column = config.kwargs.get("column")
    raised = _raised(result)
    # A column-map expectation that could not run (e.g. its column is missing) blames no row:
    # the table as a whole is wrong and the column-set expectation says so.
    row_level = not config.type.startswith(TABLE_LEVEL_PREFIX) and not raised
    unexpected = tuple(int(i) for i in result.result.get("unexpected_index_list") or ()) if row_level else ()
    return ExpectationOutcome(
        name=expectation_name(config.type, column, config.meta.get("label")),
        expectation_type=config.type,
        column=column,
        success=bool(result.success),
        row_level=row_level,
        unexpected_rows=unexpected,
        detail=_describe(column, config.kwargs, result),
        rule=_rule_text(config.kwargs),
    )


# GX copies a frame's rows while it evaluates an expectation, so a large table is validated in slices of
# about this many bytes and the results merged: memory follows the slice, not the corpus (and a narrow
# table is cut in few slices: each GX run costs ≈ 0.1 s of its own).
SLICE_BYTES = 48 * 2**20  # at 100k pages, 128 MB slices put the sections step over a 2 GB budget
# A column this small is copied faster than a GX run of its own costs (≈ 0.1 s): no run of its own (_runs).
SPLIT_MIN_BYTES = 16 * 2**20

# Where each expectation runs: the one rule is `runs_whole`. Part by part (and slice by slice, results merged) only the
# expectations that get there the result of one run on the whole table:
# - a single column's values judged row by row: a row passes or fails alone, whatever rows are beside it (unless
#   `mostly` is below 1: the verdict is then a share of the table's rows);
ROW_WISE_TYPES = frozenset({
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_json_parseable",
    "expect_column_values_to_be_null",
    "expect_column_values_to_match_json_schema",
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern_list",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_not_match_regex_list",
})  # fmt: skip
# - the table's columns (their names, their number): every part has the dataset's columns (and the whole-table run
#   has only the columns it reads).
COLUMN_SET_TYPES = frozenset({
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal",
    "expect_table_column_count_to_be_between",
    "expect_column_to_exist",
})  # fmt: skip
# Every other expectation runs once on the whole table, in `SuiteRun.report()`, on the columns it reads of every part:
# rows compared with one another (uniqueness, increasing values, z-scores), row counts, a column's aggregates (min,
# mean, distinct values, ...), two or more columns (the part-wise runs give an expectation one column: `_runs`,
# `recheck`), and any type not listed here.


def runs_whole(expectation: Mapping[str, Any]) -> bool:
    """Whether the expectation (as in the suite's JSON) runs once on the whole table rather than part by part."""
    kind, kwargs = expectation["type"], expectation["kwargs"]
    if kind in COLUMN_SET_TYPES:
        return False
    return kind not in ROW_WISE_TYPES or kwargs.get("mostly", 1) < 1


def expectation_columns(expectation: Mapping[str, Any]) -> list[str]:
    """The columns an expectation reads (a column, a pair, a list), in the order its kwargs name them."""
    kwargs = expectation["kwargs"]
    named = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", [])]
    return [column for column in named if column is not None]


def validate(
    dataset: str, table: pa.Table | pd.DataFrame, *, suites_dir: Path = EXPECTATIONS_DIR
) -> ValidationReport:
    """Run the dataset's suite on the table; row positions in the report index the table as given."""
    run = SuiteRun(dataset, suites_dir=suites_dir)
    run.add(table)
    return run.report()


@dataclasses.dataclass(frozen=True)
class PartCheck:
    """The results of the suite's expectations that run part by part (not `runs_whole`) on one part of a table, one
    per expectation: what a part's rows fail, and, once added to its SuiteRun, its share of the report."""

    dataset: str
    results: list[Any]
    rows: int

    def failing_rows(self) -> dict[int, list[ExpectationOutcome]]:
        """Row position in the part -> the row-level outcomes it fails (the whole-table ones not included)."""
        return ValidationReport(self.dataset, tuple(to_outcome(r) for r in self.results), self.rows).failing_rows()

    def to_memo(self) -> dict[str, Any]:
        """The results as JSON, to be stored with the part they judged (see `from_memo`)."""
        return {"rows": self.rows, "results": [_result_memo(result) for result in self.results]}

    @classmethod
    def from_memo(cls, dataset: str, memo: Mapping[str, Any], *, suites_dir: Path = EXPECTATIONS_DIR) -> PartCheck:
        """The check as it was stored. The memo is only valid for the suite it was made with: parts are keyed by
        the suite's text (parts.py), so a part checked by another suite is checked again, never read back."""
        spec = load_suite_spec(dataset, suites_dir)
        return cls(dataset, [_result_from_memo(spec, memo) for memo in memo["results"]], int(memo["rows"]))


@dataclasses.dataclass(frozen=True)
class Revision:
    """A part as it is now, against the check of its earlier version (`SuiteRun.recheck`): the same rows and
    columns, the values of some columns changed in some rows."""

    before: PartCheck
    changed: pa.Table  # the columns whose values changed, every row of the part, as they are now
    rows: np.ndarray  # the positions of the rows where they changed, ascending


class SuiteRun:
    """A dataset's suite over a table that arrives in parts (one batch at a time, say), never whole.

    The row-by-row and column-set expectations run on each part (`check`, in slices, see SLICE_BYTES); every other
    one (`runs_whole`: uniqueness, row counts, aggregates, ...) runs once in `report()`, on the columns it reads of
    every part added: the report is that of one run on the table made of every part.
    """

    def __init__(self, dataset: str, *, suites_dir: Path = EXPECTATIONS_DIR):
        self.dataset = dataset
        self._spec = load_suite_spec(dataset, suites_dir)
        expectations = self._spec["expectations"]
        self._whole = [i for i, e in enumerate(expectations) if runs_whole(e)]
        self._sliced = [i for i in range(len(expectations)) if i not in self._whole]
        self._whole_columns = list(dict.fromkeys(c for i in self._whole for c in expectation_columns(expectations[i])))
        self._added: list[tuple[int, list[Any]]] = []  # (first row, results per sliced expectation) per part
        self._whole_frames: list[pd.DataFrame] = []
        self._rows = 0

    @property
    def whole_table_columns(self) -> list[str]:
        """The columns the whole-table expectations read: all `add` needs of a part that was checked before."""
        return list(self._whole_columns)

    def check(self, part: pa.Table | pd.DataFrame) -> PartCheck:
        """The part's results, one per expectation run part by part, merged over its slices."""
        results = self._run(part, self._sliced)
        return PartCheck(self.dataset, [results[position] for position in self._sliced], len(part))

    def recheck(self, revisions: Sequence[Revision]) -> list[PartCheck]:
        """The checks of parts checked before and changed since in some rows of some columns: the changed rows of
        every part are checked in one GX run (a run costs ≈ 0.1 s however few its rows, and a page added to the
        corpus can move a few links in every related_questions part).

        As slicing does, this relies on every expectation run part by part being either row by row on one column (a
        row passes or fails alone) or about the table's columns (`runs_whole` sends every other one to the whole
        table): an expectation on a column that did not change, or on the column set (which a revision keeps), keeps
        its result; one on a changed column keeps its results on the other rows and takes those of the changed rows
        from the run."""
        if not revisions:
            return []
        changed = revisions[0].changed.column_names
        if any(revision.changed.column_names != changed for revision in revisions):
            raise ValueError(f"{self.dataset}: revisions to check together must change the same columns")
        spec = self._spec["expectations"]
        rerun = [position for position in self._sliced if spec[position]["kwargs"].get("column") in changed]
        found = self._run(pa.concat_tables([revision.changed.take(revision.rows) for revision in revisions]), rerun)
        starts = np.cumsum([0, *(len(revision.rows) for revision in revisions)])
        checks = []
        for revision, start in zip(revisions, starts):
            results = [
                _rows_replaced(before, found[position], revision, int(start), spec[position]["kwargs"]["column"])
                if position in found
                else before
                for position, before in zip(self._sliced, revision.before.results)
            ]
            checks.append(PartCheck(self.dataset, results, revision.before.rows))
        return checks

    def _run(self, part: pa.Table | pd.DataFrame, positions: list[int]) -> dict[int, Any]:
        """The results of the expectations at these positions on the part, each merged over the part's slices."""
        results: dict[int, Any] = {}
        for run_positions, columns in self._runs(part, positions):
            step = _slice_rows(_columns(part, columns))
            per_slice = [
                (start, run_suite(self._spec, run_positions, frame_for_gx(_rows(part, start, step), columns)))
                for start in range(0, max(len(part), 1), step)
            ]
            results |= {position: _merge([(start, found[k]) for start, found in per_slice]) for k, position in enumerate(run_positions)}
        return results

    def _runs(self, part: pa.Table | pd.DataFrame, positions: list[int]) -> list[tuple[list[int], list[str]]]:
        """The GX runs that check these expectations: (positions, columns with real values). GX copies every
        real column of its frame for every expectation it evaluates, so when one column is most of the bytes
        (a consultation's answer, a section's body) and more than SPLIT_MIN_BYTES, its expectations run on
        their own, and the others on a frame without it: half the time of one run (docs/benchmarks.md)."""
        if not positions:
            return []
        expectations = self._spec["expectations"]
        read = suite_columns({"expectations": [expectations[i] for i in positions]})
        sizes = {column: _column_bytes(part, column) for column in read}
        heaviest = max(sizes, key=sizes.get, default=None)
        if heaviest is None or sizes[heaviest] <= max(sum(sizes.values()) / 2, SPLIT_MIN_BYTES):
            return [(positions, read)]
        alone = [i for i in positions if expectations[i]["kwargs"].get("column") == heaviest]
        others = [i for i in positions if i not in alone]
        return [(alone, [heaviest]), (others, [column for column in read if column != heaviest])]

    def add(self, part: pa.Table | pd.DataFrame, checked: PartCheck | None = None) -> None:
        """Count the part in (`checked`: its check, when already run, on exactly this part; the part may then
        hold only the whole-table expectations' columns, and its rows are the check's)."""
        checked = checked if checked is not None else self.check(part)
        self._added.append((self._rows, checked.results))
        if self._whole:  # only the columns they read; none for a row count: the part's rows as checked
            columns = self._whole_columns
            frame = frame_for_gx(_columns(part, columns), columns) if columns else pd.DataFrame(index=pd.RangeIndex(checked.rows))
            self._whole_frames.append(frame)
        self._rows += checked.rows

    def report(self) -> ValidationReport:
        """The suite's report on the parts added so far, as one table (row positions count across parts); with none
        added, on the dataset's empty table (the table-level expectations judge an empty dataset too)."""
        if not self._added:
            from pipeline.core.schemas import DATASETS

            self.add(DATASETS[self.dataset].empty_table())
        results = []
        if self._whole:
            frame = pd.concat(self._whole_frames, ignore_index=True) if len(self._whole_frames) > 1 else self._whole_frames[0]
            results += run_suite(self._spec, self._whole, frame)
        results += [_merge([(start, found[k]) for start, found in self._added]) for k in range(len(self._sliced))]
        results.sort(key=_position)
        return ValidationReport(dataset=self.dataset, outcomes=tuple(to_outcome(r) for r in results), rows=self._rows)


def _names(table: pa.Table | pd.DataFrame) -> list[str]:
    return table.column_names if isinstance(table, pa.Table) else list(table.columns)


def _column_bytes(table: pa.Table | pd.DataFrame, column: str) -> int:
    if column not in _names(table):
        return 0
    return table[column].nbytes if isinstance(table, pa.Table) else int(table[column].memory_usage(index=False, deep=False))


def _columns(table: pa.Table | pd.DataFrame, columns: list[str]) -> pa.Table | pd.DataFrame:
    """The columns of the table that it has (what a run's frame holds real values of: its slices' size)."""
    present = [column for column in columns if column in _names(table)]
    return table.select(present) if isinstance(table, pa.Table) else table[present]


def _slice_rows(table: pa.Table | pd.DataFrame) -> int:
    size = table.nbytes if isinstance(table, pa.Table) else int(table.memory_usage(index=False).sum())
    return max(1, int(len(table) * SLICE_BYTES / size)) if size else max(1, len(table))


def _rows(table: pa.Table | pd.DataFrame, start: int, count: int) -> pa.Table | pd.DataFrame:
    return table.slice(start, count) if isinstance(table, pa.Table) else table.iloc[start : start + count]


@dataclasses.dataclass(frozen=True)
class _MergedResult:
    """One expectation's GX results over the slices of a table as one result, or a result read back from a
    memo: what to_outcome reads."""

    expectation_config: Any
    success: bool
    result: dict[str, Any]
    exception_info: dict[str, Any]


# What to_outcome and _merge read of a result's details: no more (COMPLETE results list every failing value).
_MEMO_DETAILS = ("element_count", "unexpected_count", "partial_unexpected_list", "unexpected_index_list", "observed_value", "details")


def _result_memo(result: Any) -> dict[str, Any]:
    details = {key: _json_safe(result.result[key]) for key in _MEMO_DETAILS if key in result.result}
    exception = result.exception_info or {}
    config = result.expectation_config
    return {
        "position": config.meta[_POSITION_KEY],
        # As GX completed them (defaults filled in): details quote them. batch_id names the GX run, not the rule.
        "kwargs": {key: _json_safe(value) for key, value in config.kwargs.items() if key != "batch_id"},
        "success": bool(result.success),
        "result": details,
        "exception_info": {key: _json_safe(exception.get(key)) for key in ("raised_exception", "exception_message") if key in exception},
    }


def _result_from_memo(spec: Mapping[str, Any], memo: Mapping[str, Any]) -> _MergedResult:
    position = memo["position"]
    expectation = spec["expectations"][position]
    config = _StoredConfig(expectation["type"], dict(memo["kwargs"]), {**expectation.get("meta", {}), _POSITION_KEY: position})
    return _MergedResult(config, bool(memo["success"]), dict(memo["result"]), dict(memo["exception_info"]))


def _json_safe(value: Any) -> Any:
    """JSON's own types as they are (a list stays a list: details quote it with repr); the rest as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return None if value is pd.NA else str(value)


@dataclasses.dataclass(frozen=True)
class _StoredConfig:
    """What results read of an expectation's configuration, rebuilt from the suite for a stored result."""

    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]


def _merge(parts: list[tuple[int, Any]]) -> Any:
    """The slices' results of one expectation: counts summed, failing row indices shifted to the table's
    positions, samples from the first slices; a table-level result from the first slice that failed."""
    if len(parts) == 1:
        return parts[0][1]
    results = [result for _, result in parts]
    first_bad = next((r for r in results if not r.success), results[0])
    merged = dict(first_bad.result)
    if "unexpected_count" in merged:
        merged["unexpected_count"] = sum(r.result.get("unexpected_count") or 0 for r in results)
        merged["element_count"] = sum(r.result.get("element_count") or 0 for r in results)
        samples = [v for r in results for v in r.result.get("partial_unexpected_list") or []]
        merged["partial_unexpected_list"] = samples[:_SAMPLE_SIZE]
        if "unexpected_index_list" in merged:  # a slice failed: its rows are listed (run_suite)
            merged["unexpected_index_list"] = [
                start + int(i) for start, r in parts for i in r.result.get("unexpected_index_list") or []
            ]
    raised = next((r.exception_info for r in results if _raised(r)), None)
    return _MergedResult(
        expectation_config=results[0].expectation_config,
        success=all(r.success for r in results),
        result=merged,
        exception_info=raised or first_bad.exception_info or {},
    )


def _rows_replaced(before: Any, found: Any, revision: Revision, start: int, column: str) -> Any:
    """One row-level expectation's result on a revised part: `before` on the rows that did not change, `found`
    (the expectation run on the changed rows of several parts, this part's from `start`) on those that did."""
    if _raised(found) or _raised(before):  # it could not run (then or now): nothing to merge
        return found if _raised(found) else before
    rows = revision.rows
    failed_now = np.asarray(found.result.get("unexpected_index_list") or [], dtype=np.int64)
    failed_now = failed_now[(failed_now >= start) & (failed_now < start + len(rows))] - start
    failed_before = np.asarray(before.result.get("unexpected_index_list") or [], dtype=np.int64)
    failed = np.union1d(np.setdiff1d(failed_before, rows), rows[failed_now])
    # The samples as GX quotes them: the values of the first failing rows, as its frame holds them.
    samples = frame_for_gx(revision.changed.select([column]).take(failed[:_SAMPLE_SIZE]), [column])[column].tolist()
    result = {key: before.result[key] for key in _MEMO_DETAILS if key in before.result and key != "unexpected_index_list"}
    result |= {"unexpected_count": len(failed), "partial_unexpected_list": samples}
    if len(failed):  # rows are listed where they fail, as run_suite lists them
        result["unexpected_index_list"] = failed.tolist()
    return _MergedResult(before.expectation_config, success=not len(failed), result=result, exception_info=before.exception_info or {})


def _raised(result: Any) -> bool:
    return bool((result.exception_info or {}).get("raised_exception"))
