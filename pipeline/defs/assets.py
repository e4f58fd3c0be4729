"""The corpus assets. Thin: each one calls a function of pipeline.core.tables and reports metadata.

    raw_pages ─▶ parsed_pages ─▶ consultations ─┬─▶ sections
                                 rejects        └─▶ related_questions
"""

from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from pipeline.core import tables
from pipeline.defs.checks import VALIDATED_DATASETS, expectation_check_result, expectation_check_spec
from pipeline.defs.metadata import definition_metadata, describe, table_metadata
from pipeline.defs.resources import CorpusPaths

GROUP = "corpus"
KINDS = {"parquet"}


def _asset_kwargs(dataset: str) -> dict:
    """Decorator arguments shared by every single asset: group, kinds, description, column schema."""
    return {
        "name": dataset,
        "group_name": GROUP,
        "kinds": KINDS,
        "description": describe(dataset),
        "metadata": definition_metadata(dataset),
        "check_specs": [expectation_check_spec(dataset)] if dataset in VALIDATED_DATASETS else None,
    }


def asset_out(dataset: str) -> dg.AssetOut:
    """The same, for one output of a multi-asset."""
    return dg.AssetOut(
        group_name=GROUP,
        kinds=KINDS,
        description=describe(dataset),
        metadata=definition_metadata(dataset),
    )


def emit(
    context: dg.AssetExecutionContext, dataset: str, table: pa.Table
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The output of one dataset with its metadata, then its blocking check result (if it has one)."""
    yield dg.Output(table, output_name=_output_name(context, dataset), metadata=table_metadata(table))
    if dataset in VALIDATED_DATASETS:
        result = expectation_check_result(context, dataset, table)
        if result is not None:
            yield result


def _output_name(context: dg.AssetExecutionContext, dataset: str) -> str:
    return context.assets_def.get_output_name_for_asset_key(dg.AssetKey(dataset))


@dg.asset(**_asset_kwargs("raw_pages"))
def raw_pages(context: dg.AssetExecutionContext, paths: CorpusPaths):
    yield from emit(context, "raw_pages", tables.raw_manifest(paths.raw_path))


@dg.asset(**_asset_kwargs("parsed_pages"))
def parsed_pages(context: dg.AssetExecutionContext, paths: CorpusPaths, raw_pages: pa.Table):
    yield from emit(context, "parsed_pages", tables.parse_manifest(raw_pages, paths.raw_path))


SCREENED_CHECK_SPECS = [expectation_check_spec("consultations"), expectation_check_spec("rejects")]


@dg.multi_asset(
    name="screen_pages",
    outs={"consultations": asset_out("consultations"), "rejects": asset_out("rejects")},
    check_specs=SCREENED_CHECK_SPECS,
    description="Splits parsed pages into consultations and rejects (parse, dedupe and validate stages).",
)
def screen_pages(context: dg.AssetExecutionContext, parsed_pages: pa.Table):
    screened = tables.screen_pages(parsed_pages)
    yield from emit(context, "consultations", screened.consultations)
    yield from emit(context, "rejects", screened.rejects)


@dg.asset(**_asset_kwargs("sections"))
def sections(context: dg.AssetExecutionContext, consultations: pa.Table):
    yield from emit(context, "sections", tables.sections_table(consultations))


@dg.asset(**_asset_kwargs("related_questions"))
def related_questions(context: dg.AssetExecutionContext, consultations: pa.Table):
    yield from emit(context, "related_questions", tables.related_questions_table(consultations))


CORPUS_ASSETS = [raw_pages, parsed_pages, screen_pages, sections, related_questions]
