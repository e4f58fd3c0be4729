"""The README stays true: it opens with the two commands, documents every dataset column, and what it names and
quotes of the code (commands, options, settings and their defaults, files, Dagster names, numbers) is what the code has."""

import argparse
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from pipeline import cli
from pipeline.core import batches, html_text, locking, schemas, validation, workers
from pipeline.core.page import DEFAULT_MAX_BYTES, parse_file
from pipeline.core.quality import near_duplicates
from pipeline.core.quality.near_duplicates import DuplicateConfig
from pipeline.core.record import PageWarning, RejectReason
from pipeline.defs import schedules, sensors
from pipeline.defs.resources import QualitySettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


def test_readme_opens_with_the_two_commands():
    first_lines = README.splitlines()[:6]
    assert any(line.startswith("make run") for line in first_lines)
    assert any(line.startswith("make test") for line in first_lines)


@pytest.mark.parametrize("dataset", ["consultations", "sections", "related_questions", "page_versions", "rejects", "missing_pages", "near_duplicates", "pii_originals"])
def test_every_column_is_documented(dataset):
    section = README.split(f"### `{dataset}`", 1)[1].split("\n### ", 1)[0]
    documented = {name.strip(" `") for row in section.splitlines() if row.startswith("| `") for name in row.split("|")[1].split(",")}
    for name in schemas.DATASETS[dataset].names:
        assert name in documented, f"{dataset}.{name} is not documented"


# --- what the README names and quotes, against the code ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
FLAT = re.sub(r"\s+", " ", README)  # claims wrap across lines
DOCUMENTED_DATASETS = ["consultations", "sections", "related_questions", "page_versions", "rejects", "missing_pages", "near_duplicates", "pii_originals"]


def between(start: str, end: str) -> str:
    return README.split(start, 1)[1].split(end, 1)[0]


def table_names(text: str) -> list[str]:
    """The first cell of every row of the markdown tables in text ("`a`, `b`" is two names)."""
    return [name.strip(" `") for row in text.splitlines() if row.startswith("| `") for name in row.split("|")[1].split(",")]


def readme_type(dtype: pa.DataType) -> str:
    """A pyarrow type as the README's tables write it."""
    text = str(dtype).replace("list<item: ", "list<").replace("tz=", "")
    return {"double": "float64"}.get(text, text)


@pytest.mark.parametrize("dataset", DOCUMENTED_DATASETS)
def test_documented_columns_are_the_schema_in_order_with_types(dataset):
    rows = [
        (name.strip(" `"), row.split("|")[2].strip())
        for row in README.split(f"### `{dataset}`", 1)[1].split("\n### ", 1)[0].splitlines()
        if row.startswith("| `")
        for name in row.split("|")[1].split(",")
    ]
    schema = schemas.DATASETS[dataset]
    assert [name for name, _ in rows] == schema.names
    for name, written in rows:
        field = schema.field(name)
        assert written.removesuffix(", null") == readme_type(field.type), f"{dataset}.{name}"
        assert written.endswith(", null") == field.nullable, f"{dataset}.{name}: nullable is {field.nullable}"


def test_parse_output_keys_are_documented_in_order():
    documented = table_names(between("## The parser", "### Reject reasons"))
    record = parse_file(ROOT / "raw" / "sample" / "001_kojinjoho_itakusaki.txt").to_dict()
    assert documented == list(record)


def test_reject_reasons_are_the_parsers():
    assert table_names(between("### Reject reasons", "\n## ")) == [reason.value for reason in RejectReason]


def test_warnings_are_the_parsers():
    row = next(line for line in README.splitlines() if line.startswith("| `warnings` |"))
    named = set(re.findall(r"`([a-z_]+)`", row)) - {"warnings"}
    assert {warning.value for warning in PageWarning} <= named
    assert named <= {warning.value for warning in PageWarning} | {reason.value for reason in RejectReason}


def test_every_setting_read_is_documented_and_every_documented_one_is_read():
    code = "\n".join(path.read_text("utf-8") for path in (ROOT / "pipeline").rglob("*.py"))
    assert set(re.findall(r"\"(PIPELINE_[A-Z_]+)\"", code)) == set(re.findall(r"PIPELINE_[A-Z_]+", README))


@pytest.mark.parametrize(
    "name, default",
    [
        ("PIPELINE_BATCH_QUIET_SECONDS", batches.DEFAULT_QUIET_SECONDS),
        ("PIPELINE_SENSOR_INTERVAL_SECONDS", sensors.DEFAULT_INTERVAL_SECONDS),
        ("PIPELINE_CORPUS_CRON", schedules.DEFAULT_CRON),
        ("PIPELINE_TIMEZONE", schedules.DEFAULT_TIMEZONE),
        ("PIPELINE_NEAR_DUPLICATE_THRESHOLD", DuplicateConfig().threshold),
    ],
)
def test_setting_defaults(name, default):
    quoted = re.findall(rf"`{name}`,? \(?default `?([^`)]+?)`?\)", FLAT)
    assert quoted, f"the README quotes no default for {name}"
    assert set(quoted) == {format(default, "g") if isinstance(default, int | float) else default}


def test_quality_settings_defaults(monkeypatch):
    monkeypatch.delenv("PIPELINE_KEEP_PII_ORIGINALS", raising=False)
    monkeypatch.delenv("PIPELINE_NEAR_DUPLICATE_THRESHOLD", raising=False)
    settings = QualitySettings.from_env()
    assert settings.near_duplicate_threshold == DuplicateConfig().threshold  # the default quoted above
    assert not settings.keep_pii_originals
    assert "`PIPELINE_KEEP_PII_ORIGINALS` (default off)" in FLAT


def test_quoted_numbers():
    bands, rows = near_duplicates._bands(DuplicateConfig().threshold, DuplicateConfig().num_perm, DuplicateConfig().lsh_weights)
    for claim in [
        f"[--max-bytes {DEFAULT_MAX_BYTES}]",
        f"(default {DEFAULT_MAX_BYTES / 2**20:g} MiB)",
        f"deeper than {html_text.MAX_DEPTH} levels",
        f"from {workers.PARALLEL_MIN_PAGES:,} files",
        f"from {workers.PARALLEL_MIN_PAGES:,} pages",
        f"into {DuplicateConfig().num_perm} bins",
        f"({bands} bands of {rows} bins at the default threshold {DuplicateConfig().threshold:g}",
        f"≈ {validation.SLICE_BYTES / 2**20:g} MB",
    ]:
        assert claim in FLAT


def test_every_command_and_option_named_exists():
    parser = cli._parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction)).choices
    assert set(re.findall(r"python -m pipeline (\w+)", README)) <= set(commands)
    options = {option for command in commands.values() for action in command._actions for option in action.option_strings}
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", README)) - {"--output"}  # jupyter execute's
    assert named <= options
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert set(re.findall(r"(?:^|`)make (\w+)", README, re.M)) <= set(re.findall(r"^(\w+):", makefile, re.M))


def test_every_file_named_exists():
    examples = {"raw/_tmp"}  # a folder the README tells what the build does with
    named = set(re.findall(r"`((?:pipeline|tests|docs|benchmarks|notebooks|expectations|raw)/[^`<>*\s=]*)`", README))
    assert named, "no file named"
    assert [path for path in sorted(named - examples) if not (ROOT / path).exists()] == []


def test_dagster_names():
    from pipeline.defs import defs

    repository = defs.get_repository_def()
    for row in between("| job | assets | partitioned |", "\n\n").splitlines()[2:]:
        job, assets = row.split("|")[1].strip(" `"), row.split("|")[2]
        named = set(re.findall(r"`(\w+)`", re.sub(r"\(one step, `\w+`\)", "", assets)))
        job_def = repository.get_job(job)
        assert named == {key.to_user_string() for key in job_def.asset_layer.executable_asset_keys}
    assert "screen_pages" in {node.name for node in repository.get_job("build_corpus").graph.nodes}
    assert repository.get_job("build_corpus").tags.get("pipeline/writes") == "corpus"
    for name in ["scrape_batches_sensor", "corpus_after_ingest", "corpus_after_verify", "corpus_schedule", "verify_storage"]:
        assert f"`{name}`" in README  # as the README names them
    assert {"scrape_batches_sensor", "corpus_after_ingest", "corpus_after_verify"} == {sensor.name for sensor in repository.sensor_defs}
    assert {node.name for node in repository.get_job("verify_storage").graph.nodes} == {"remove_damaged"}
    assert ["corpus_schedule"] == [schedule.name for schedule in repository.schedule_defs]
    checks = repository.get_job("build_corpus").asset_layer.asset_graph.asset_check_keys
    assert f"checks passed ({len(checks)}, last corpus run)" in FLAT


def test_the_loading_snippets_run_as_written(built_corpus, monkeypatch):
    """`pd.read_parquet("processed/consultations")` inside `with corpus_reader("processed"):`, from the folder that
    holds processed/, and `schemas.CONSULTATIONS.empty_table()`, as the Datasets section writes them."""
    section = between("## Datasets (", "\n### ")
    read = re.search(r"`(pd\.read_parquet\([^`]*\))`", section).group(1)
    reader = re.search(r"`(with corpus_reader\([^`]*\):)`", section).group(1)
    empty = re.search(r"`(schemas\.\w+\.empty_table\(\))`", section).group(1)
    monkeypatch.chdir(built_corpus.parent)
    namespace = {"pd": pd, "corpus_reader": locking.corpus_reader, "schemas": schemas}
    exec(f"{reader}\n    frame = {read}\nempty = {empty}", namespace)
    assert len(namespace["frame"]) > 0
    assert list(namespace["frame"].columns) == schemas.CONSULTATIONS.names
    assert namespace["empty"].num_rows == 0 and namespace["empty"].schema.names == schemas.CONSULTATIONS.names
    assert "`pipeline.core.locking.corpus_reader(processed)`" in README  # where the README says it lives
