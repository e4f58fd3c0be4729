"""A new batch costs what it adds: parts of the corpus datasets that did not change are kept, not remade.

consultations, pii_originals, sections and related_questions are stored per batch (pipeline.core.parts);
a build keeps a part whose key (its input rows, settings, code and suites) is unchanged, with its stored
check results and quarantined rows, and remakes the others. Kept or remade, the datasets are the same.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from unittest import mock

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline.build import run_build
from pipeline.core.parts import PARTED_DATASETS
from pipeline.core.validation import SuiteRun

from .conftest import make_dagster_home, write_batch
from .pages import make_html, make_page
from .parquet_damage import flip_bytes_in_column
from .test_build_cli import summary_value

FIRST, SECOND = "2026-12-01", "2026-12-08"
LOAN = make_page(category="債権回収", consultation="友人に貸したお金を返してもらうにはどうすればよいですか?(背景)Wさんは口約束で五十万円を貸しました。")
SHORT = make_page(category="労働問題", answer_lines=["短すぎる回答です。"])  # fails the answer-length expectation
LEAVE = make_page(category="労働問題", consultation="有給休暇の取得を会社に断られました。違法ではありませんか?(背景)Xさんは繁忙期に休暇を申請しました。")


def build(raw: Path, processed: Path, *, force: bool = False, verify: bool = False) -> str:
    out = io.StringIO()
    assert run_build(raw, processed, force=force, verify=verify, out=out) == 0, out.getvalue()
    return out.getvalue()


def files(processed: Path) -> dict[str, tuple[str, int]]:
    """Every file of the parted datasets: its SHA-256 and modification time."""
    return {
        path.relative_to(processed).as_posix(): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for name in PARTED_DATASETS
        for path in sorted((processed / name).glob("*.parquet"))
    }


def latest_metadata(dataset: str, name: str):
    with dg.DagsterInstance.get() as instance:
        record = instance.fetch_materializations(dg.AssetKey(dataset), limit=1).records[0]
    return record.asset_materialization.metadata[name].value


def parts_written(dataset: str) -> list[str]:
    return latest_metadata(dataset, "parts_written")


def assert_as_built_from_scratch(
    raw: Path, processed: Path, fresh: Path, datasets: tuple[str, ...] = ("rejects", "page_versions", "consultations")
) -> None:
    """The datasets built incrementally into `processed` are those a build from scratch of the same raw/ makes (into
    `fresh`, with an instance of its own)."""
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(fresh.with_name(fresh.name + "_home")))}):
        build(raw, fresh)
    for name in datasets:
        assert pq.read_table(processed / name).equals(pq.read_table(fresh / name)), name


@pytest.fixture
def two_builds(tmp_path: Path):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.txt": LOAN, "short.txt": SHORT})
        first = build(raw, processed)
        before = files(processed)
        write_batch(raw, SECOND, {"leave.txt": LEAVE})
        second = build(raw, processed)
        yield raw, processed, first, second, before


def test_a_batch_of_new_pages_leaves_the_other_parts_untouched(two_builds):
    raw, processed, _, second, before = two_builds
    after = files(processed)
    for name in PARTED_DATASETS:
        kept = f"{name}/{FIRST}.parquet"
        assert after[kept] == before[kept], f"{kept} was rewritten"
        assert f"{name}/{SECOND}.parquet" in after
        assert parts_written(name) == [SECOND]
    assert summary_value(second, "consultations out") == "2"


def test_a_kept_part_keeps_its_quarantined_rows_and_its_check(two_builds):
    _, processed, first, second, _ = two_builds
    for output in (first, second):
        assert summary_value(output, "  validate / expect_column_value_lengths_to_be_between") == "1"
        assert "consultations:expectations" in summary_value(output, "checks passed (8)")
    rejects = pq.read_table(processed / "rejects").to_pylist()
    assert [(r["source"], r["stage"]) for r in rejects] == [(f"{FIRST}/short.txt", "validate")]
    sources = pq.read_table(processed / "page_versions")["source"].to_pylist()
    assert f"{FIRST}/short.txt" not in sources and len(sources) == 2


def test_kept_parts_equal_parts_made_again(two_builds):
    raw, processed, _, _, _ = two_builds
    incremental = {path: digest for path, (digest, _) in files(processed).items()}
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(processed.parent / "dagster_home"))}):
        build(raw, processed, force=True)  # every part made again
        assert parts_written("consultations") == [FIRST, SECOND]
    assert {path: digest for path, (digest, _) in files(processed).items()} == incremental


def test_a_page_moving_to_a_new_batch_remakes_the_part_it_left(two_builds):
    raw, processed, _, _, _ = two_builds
    before = files(processed)
    write_batch(raw, "2026-12-15", {"loan.txt": LOAN.replace("\n", "\r\n")})  # re-scraped: now current there
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(processed.parent / "dagster_home"))}):
        output = build(raw, processed)
        assert parts_written("consultations") == [FIRST, "2026-12-15"]
    # FIRST's part is made again without loan: only short.txt is current there, and it stays quarantined.
    assert pq.read_metadata(processed / "consultations" / f"{FIRST}.parquet").num_rows == 0
    assert summary_value(output, "consultations out") == "2"
    assert summary_value(output, "  validate / expect_column_value_lengths_to_be_between") == "1"
    assert before[f"consultations/{SECOND}.parquet"] == files(processed)[f"consultations/{SECOND}.parquet"]


def test_a_new_page_that_old_teasers_point_to_relinks_only_their_part(tmp_path: Path):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    renewal = make_page(consultation="更新料の支払いを断ることはできますか?")  # a teaser of every page asks this
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.txt": LOAN})
        build(raw, processed)
        before = files(processed)
        sidecar_written = (processed / "related_questions" / "_teasers" / f"{FIRST}.parquet").stat().st_mtime_ns
        write_batch(raw, SECOND, {"renewal.txt": renewal})
        build(raw, processed)
        assert parts_written("related_questions") == [FIRST, SECOND]  # FIRST's teaser has a target now
        assert parts_written("consultations") == [SECOND]
        # linked again: the new page's teasers, and of FIRST's only the one that may point to it
        teasers = latest_metadata("related_questions", "links/teasers")
        assert latest_metadata("related_questions", "links/linked_now") < teasers
    assert files(processed)[f"consultations/{FIRST}.parquet"] == before[f"consultations/{FIRST}.parquet"]
    sidecar = processed / "related_questions" / "_teasers" / f"{FIRST}.parquet"  # the same teasers: kept
    assert sidecar.stat().st_mtime_ns == sidecar_written
    stored = pq.read_metadata(processed / "related_questions" / f"{FIRST}.parquet").metadata[b"pipeline.part_memo"]
    fresh = SuiteRun("related_questions").check(pq.read_table(processed / "related_questions" / f"{FIRST}.parquet")).to_memo()
    assert json.loads(stored)["check"] == json.loads(json.dumps(fresh))  # the reused checks are the checks run now
    teasers = pq.read_table(processed / "related_questions" / f"{FIRST}.parquet").to_pylist()
    asked = next(t for t in teasers if t["question"].startswith("更新料"))
    target = pq.read_table(processed / "consultations" / f"{SECOND}.parquet")["page_id"][0].as_py()
    assert (asked["target_page_id"], asked["link_method"]) == (target, "question")


def test_parts_left_by_a_step_that_stopped_half_way_are_all_linked_again(tmp_path: Path):
    """Links are linked again only where pages changed when the stored parts are those of one finished build;
    other parts (a step that stopped half-way records no materialisation) may have been linked against
    different corpora, so every teaser is linked again."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    renewal = make_page(consultation="更新料の支払いを断ることはできますか?")
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.txt": LOAN})
        write_batch(raw, SECOND, {"leave.txt": LEAVE})
        build(raw, processed)
        (processed / "related_questions" / f"{SECOND}.parquet").unlink()  # not the parts the last build recorded
        write_batch(raw, "2026-12-15", {"renewal.txt": renewal})
        build(raw, processed)
        assert latest_metadata("related_questions", "links/linked_now") == latest_metadata("related_questions", "links/teasers")
    assert_as_built_from_scratch(raw, processed, tmp_path / "fresh", ("related_questions",))


def test_a_corpus_written_before_parts_is_made_again_in_parts(tmp_path: Path):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.txt": LOAN})
        build(raw, processed)
        part = processed / "consultations" / f"{FIRST}.parquet"
        legacy = processed / "consultations" / "part-0.parquet"  # as the layout before parts wrote it
        pq.write_table(pq.read_table(part).replace_schema_metadata(None), legacy)
        part.unlink()
        output = build(raw, processed)
    assert "Building the corpus" in output and "nothing new" not in output
    assert sorted(p.name for p in (processed / "consultations").glob("*.parquet")) == [f"{FIRST}.parquet"]


def test_a_failing_rescrape_keeps_the_page_and_later_batches_screen_only_themselves(tmp_path: Path):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    url = "https://houritsu.example/roudou/20240305060708-9"
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"leave.html": make_html(LEAVE, url=url), "loan.txt": LOAN})
        build(raw, processed)
        write_batch(raw, SECOND, {"leave.html": make_html(SHORT, url=url)})  # the page came back with its answer cut
        output = build(raw, processed)
        assert summary_value(output, "consultations out") == "2"
        assert summary_value(output, "  validate / expect_column_value_lengths_to_be_between") == "1"
        assert parts_written("consultations") == [FIRST, SECOND]  # FIRST made again: the page is current there again

        write_batch(raw, "2026-12-15", {"short.txt": SHORT.replace("短すぎる", "とても短い")})
        output = build(raw, processed)
        # What failed before is known from the stored parts: the corpus is planned as it was left, and only the
        # new batch is screened.
        assert parts_written("consultations") == ["2026-12-15"]
        assert summary_value(output, "  validate / expect_column_value_lengths_to_be_between") == "2"
    consultations = pq.read_table(processed / "consultations", columns=["page_id", "batch", "answer"]).to_pylist()
    leave = next(row for row in consultations if row["page_id"] == "20240305060708-9")
    assert leave["batch"] == FIRST and len(leave["answer"]) > 100
    versions = pq.read_table(processed / "page_versions").to_pylist()
    assert {row["page_id"] for row in versions} == {row["page_id"] for row in consultations}
    assert f"{SECOND}/leave.html" not in {row["source"] for row in versions}


def test_a_corpus_file_deleted_or_damaged_is_made_again_alone(two_builds):
    """The next build completes a damaged corpus: a part deleted or truncated is made again (the others are kept),
    as is a dataset's one file; before, the build said "up to date" and then that the counts did not reconcile."""
    raw, processed, _, _, _ = two_builds
    damages = {
        "consultations": lambda path: path.unlink(),
        "sections": lambda path: path.write_bytes(path.read_bytes()[:100]),
    }
    for dataset, damage in damages.items():  # the fixture's DAGSTER_HOME is still set
        before = files(processed)
        damage(processed / dataset / f"{FIRST}.parquet")
        output = build(raw, processed)
        assert "Building the corpus" in output and "Counts reconcile" in output, output
        assert parts_written(dataset) == [FIRST]
        assert {path: digest for path, (digest, _) in files(processed).items()} == {path: digest for path, (digest, _) in before.items()}
    (processed / "page_versions" / "part-0.parquet").unlink()
    output = build(raw, processed)
    assert "Building the corpus" in output and "Counts reconcile" in output, output
    assert summary_value(output, "page versions") == "2"


def test_build_verify_makes_again_the_files_damaged_inside_their_pages(two_builds):
    """Bytes flipped inside a kept part and a batch's parsed pages leave their footers whole, which is all a build
    reads of the files it keeps: `--verify` reads every file whole, removes the damaged ones and makes them again
    (the batch ingested again, the part made again alone), and the corpus is as it was."""
    raw, processed, _, _, _ = two_builds
    intact = {path: digest for path, (digest, _) in files(processed).items()}
    part, parsed = processed / "consultations" / f"{FIRST}.parquet", processed / "parsed_pages" / f"{FIRST}.parquet"
    parsed_before = pq.read_table(parsed)
    flip_bytes_in_column(part, "answer")
    flip_bytes_in_column(parsed, "answer")

    output = build(raw, processed, verify=True)
    damaged = [line.split()[1] for line in output.splitlines() if line.startswith("Damaged: ")]
    assert damaged == [str(parsed), str(part)], output
    assert f"Ingesting batch {FIRST}" in output and "Counts reconcile" in output, output
    assert parts_written("consultations") == [FIRST]
    assert {path: digest for path, (digest, _) in files(processed).items()} == intact
    assert pq.read_table(parsed).equals(parsed_before)

    again = build(raw, processed, verify=True)
    assert "Verified: every stored file reads whole" in again and "nothing new" in again, again


def test_a_version_quarantined_before_a_newer_one_came_is_superseded_as_a_build_from_scratch_makes_it(tmp_path: Path):
    """A quarantined version is checked only while it would be the page's current one: once a later scrape of
    the page passes, it is superseded, not a reject (it stayed a reject, and the corpus differed from one
    built from scratch of the same raw/, and from --force)."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    url = "https://houritsu.example/roudou/20240305060708-9"
    cut_short = make_html(SHORT, url=url)
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"leave.html": make_html(LEAVE, url=url), "loan.txt": LOAN})
        build(raw, processed)
        write_batch(raw, SECOND, {"leave.html": cut_short})
        build(raw, processed)
        assert [row["source"] for row in pq.read_table(processed / "rejects").to_pylist()] == [f"{SECOND}/leave.html"]
        write_batch(raw, "2026-12-15", {"leave.html": make_html(LEAVE.replace("繁忙期に", "年度末の繁忙期に"), url=url)})
        build(raw, processed)
    assert_as_built_from_scratch(raw, processed, tmp_path / "fresh")
    assert list(files(processed)) == list(files(tmp_path / "fresh"))  # no part left for the batch whose page moved on
    roles = {row["source"]: row["role"] for row in pq.read_table(processed / "page_versions").to_pylist()}
    assert roles[f"{SECOND}/leave.html"] == "superseded" and pq.read_table(processed / "rejects").num_rows == 0


def test_a_version_quarantined_alone_then_collapsed_into_a_site_page_is_an_alias_as_a_build_from_scratch_makes_it(tmp_path: Path):
    """A text dump (hashed id) fails on its category alone and is quarantined; a later batch brings the site's page
    with the same content (a good category), kept in its place. A build from scratch never checks the dump (an alias
    is not screened): it is an alias of the site page. It stayed a reject, and the site page had no alias."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    badly_labelled = LOAN.replace("債権回収", "債権回収（貸金）", 1)  # fails the category pattern, same content
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.txt": badly_labelled})
        build(raw, processed)
        assert [row["source"] for row in pq.read_table(processed / "rejects").to_pylist()] == [f"{FIRST}/loan.txt"]
        write_batch(raw, SECOND, {"loan.html": make_html(LOAN, url="https://houritsu.example/saiken/20240101000000-1")})
        build(raw, processed)
    assert_as_built_from_scratch(raw, processed, tmp_path / "fresh")
    roles = {row["source"]: row["role"] for row in pq.read_table(processed / "page_versions").to_pylist()}
    assert roles == {f"{FIRST}/loan.txt": "alias", f"{SECOND}/loan.html": "current"}
    assert pq.read_table(processed / "rejects").num_rows == 0


def test_a_text_dump_quarantined_while_its_site_page_changed_is_an_alias_again_when_the_page_changes_back(tmp_path: Path):
    """The text dump of a site page is an alias of it (never checked); the page changes, so the dump stands alone,
    is checked and fails (its category); the page changes back: the dump is an alias again, as a build from
    scratch makes it. It stayed a reject."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    url = "https://houritsu.example/saiken/20240101000000-1"
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.html": make_html(LOAN, url=url), "loan.txt": LOAN.replace("債権回収", "債権回収（貸金）", 1)})
        build(raw, processed)
        write_batch(raw, SECOND, {"loan.html": make_html(LOAN.replace("口約束で", "借用書なしで"), url=url)})
        build(raw, processed)
        assert [row["source"] for row in pq.read_table(processed / "rejects").to_pylist()] == [f"{FIRST}/loan.txt"]
        write_batch(raw, "2026-12-15", {"loan.html": make_html(LOAN, url=url)})
        build(raw, processed)
    assert_as_built_from_scratch(raw, processed, tmp_path / "fresh")
    roles = {row["source"]: row["role"] for row in pq.read_table(processed / "page_versions").to_pylist()}
    assert roles[f"{FIRST}/loan.txt"] == "alias" and pq.read_table(processed / "rejects").num_rows == 0
