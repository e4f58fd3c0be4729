"""Blocking asset checks: each validated dataset must pass its Great Expectations suite.

One way for all datasets: the check is declared on the asset with `check_specs=[expectation_check_spec(name)]`
and its result is yielded from the asset body by `expectation_check_result` (so a partitioned asset is
checked one partition at a time, never by loading all of them). The check is blocking with severity
ERROR: when it fails, the asset's step fails after storing its outputs, and every downstream asset in
the run is skipped. The rules themselves live in expectations/<dataset>.json and
pipeline.core.validation; nothing here decides what valid means.
"""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from pipeline.core import validation

CHECK_NAME = "expectations"
VALIDATED_DATASETS = (
    "consultations", "page_versions", "rejects", "pii_originals", "sections", "related_questions",
    "missing_pages", "near_duplicates",
)  # fmt: skip
MAX_LISTED_ROWS = 20


def expectation_check_key(dataset: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(dataset), CHECK_NAME)


def expectation_check_spec(dataset: str) -> dg.AssetCheckSpec:
    """The spec to put in the asset's `check_specs`."""
    return dg.AssetCheckSpec(
        name=CHECK_NAME,
        asset=dataset,
        blocking=True,
        description=(
            f"Runs the expectation suite expectations/{dataset}.json (Great Expectations). "
            "Blocking: a failure stops every downstream asset in the run."
        ),
    )


def expectation_check_result(
    context: dg.AssetExecutionContext, dataset: str, checked: pa.Table | validation.ValidationReport
) -> dg.AssetCheckResult | None:
    """Validate the table and say so as an ERROR-severity check result; None if the check is not selected.
    Given a report instead (the suite's report on exactly the published table, which the asset already
    ran), the check reports that: the rows are not validated twice."""
    if expectation_check_key(dataset) not in context.selected_asset_check_keys:
        return None
    report = checked if isinstance(checked, validation.ValidationReport) else validation.validate(dataset, checked)
    failed = report.failed()
    return dg.AssetCheckResult(
        asset_key=dataset,
        check_name=CHECK_NAME,
        passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(report.outcomes)} expectations, all passed"
            if report.success
            else f"{len(failed)} of {len(report.outcomes)} expectations failed: "
            + ", ".join(outcome.name for outcome in failed)
        ),
        metadata={
            "expectations": dg.MetadataValue.int(len(report.outcomes)),
            "failed": dg.MetadataValue.int(len(failed)),
            "failed_expectations": dg.MetadataValue.md(_failures_markdown(failed)),
            "failures": dg.MetadataValue.json(
                [
                    {
                        "name": outcome.name,
                        "expectation_type": outcome.expectation_type,
                        "column": outcome.column,
                        "detail": outcome.detail,
                        "unexpected_rows": list(outcome.unexpected_rows[:MAX_LISTED_ROWS]),
                        "unexpected_count": len(outcome.unexpected_rows),
                    }
                    for outcome in failed
                ]
            ),
            "rows": dg.MetadataValue.int(report.rows),
        },
    )


def _failures_markdown(failed: list[validation.ExpectationOutcome]) -> str:
    if not failed:
        return "All expectations passed."
    lines = ["| expectation | column | unexpected rows | detail |", "|---|---|---|---|"]
    for outcome in failed:
        detail = " ".join(outcome.detail.split()).replace("|", "\\|")
        lines.append(
            f"| {outcome.name} | {outcome.column or ''} | {len(outcome.unexpected_rows)} | {detail} |"
        )
    return "\n".join(lines)


def failed_check_summary(evaluation: dg.AssetCheckEvaluation) -> str:
    """One line naming a failed check and its failed expectations (for the CLI summary)."""
    failures = evaluation.metadata.get("failures")
    names = [f["name"] for f in failures.value] if failures is not None else []
    return f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} ({', '.join(names) or 'failed'})"


__all__ = [
    "CHECK_NAME",
    "VALIDATED_DATASETS",
    "expectation_check_key",
    "expectation_check_result",
    "expectation_check_spec",
    "failed_check_summary",
]
