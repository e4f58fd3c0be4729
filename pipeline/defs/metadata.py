"""What the Dagster UI shows about a dataset: description, column schema, row count, a preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pyarrow as pa

from pipeline.core.schemas import DATASETS

PREVIEW_ROWS = 5
PREVIEW_CHARS = 60


def describe(dataset: str) -> str:
    """The schema's "doc" metadata: the one description of a dataset."""
    meta = DATASETS[dataset].metadata or {}
    return meta.get(b"doc", b"").decode()


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """A pyarrow schema as Dagster's `TableSchema` (types as Arrow spells them, nullability as constraints)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.type),
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema
        ]
    )


def definition_metadata(dataset: str) -> dict[str, Any]:
    """Known before any run: the catalog shows the columns of an asset that never materialised."""
    return {"dagster/column_schema": column_schema(DATASETS[dataset])}


def table_metadata(table: pa.Table) -> dict[str, Any]:
    """Reported with every materialisation: row count, column schema, a markdown preview."""
    return {
        "dagster/row_count": dg.MetadataValue.int(table.num_rows),
        "dagster/column_schema": column_schema(table.schema),
        "preview": dg.MetadataValue.md(markdown_preview(table)),
    }


def markdown_preview(table: pa.Table, rows: int = PREVIEW_ROWS, width: int = PREVIEW_CHARS) -> str:
    """The first `rows` rows as a markdown table, every cell on one line and at most `width` characters."""
    if table.num_columns == 0:
        return "_(no columns)_"
    header = "| " + " | ".join(table.column_names) + " |"
    rule = "|" + "---|" * table.num_columns
    body = [
        "| " + " | ".join(_cell(record[name], width) for name in table.column_names) + " |"
        for record in table.slice(0, rows).to_pylist()
    ]
    more = table.num_rows - len(body)
    footer = ["", f"_… {more} more rows_"] if more > 0 else ["", "_(no rows)_"] if not body else []
    return "\n".join([header, rule, *body, *footer])


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "∅"
    elif isinstance(value, list):
        text = f"[{len(value)}] " + ", ".join(_short(v) for v in value[:3])
    else:
        text = _short(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items() if v is not None) + "}"
    return str(value)
