"""Reruns of `python -m pipeline build` on new scrapes (run_build, in process, one instance).

A first build of one batch; a second scrape with a changed page, an unchanged re-scrape and a page
missing; a rerun with nothing new; a forced rerun; a new file landing in an old batch. Each build must
ingest only what changed, rebuild the corpus from every batch, and reconcile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline.build import run_build
from pipeline.core.parts import PARTED_DATASETS
from pipeline.core.schemas import DATASETS

from .conftest import make_dagster_home, write_batch
from .pages import make_html, make_page
from .test_build_cli import summary_value

FIRST, SECOND = "2026-11-01", "2026-11-08"
RENT_URL = "https://houritsu.example/fudosan/20240102030405-7"
RENT = make_page(consultation="家賃の支払いが遅れたら、すぐに退去を求められますか?(背景)Uさんは今月の家賃を一週間遅れて払いました。")
WAGES = make_page(category="労働問題", consultation="未払いの残業代は何年前の分まで請求できますか?(背景)Vさんは三年前から残業代を受け取っていません。")
LOAN = make_page(category="債権回収", consultation="友人に貸したお金を返してもらうにはどうすればよいですか?(背景)Wさんは口約束で五十万円を貸しました。")
LEAVE = make_page(category="労働問題", consultation="有給休暇の取得を会社に断られました。違法ではありませんか?(背景)Xさんは繁忙期に休暇を申請しました。")


@dataclasses.dataclass(frozen=True)
class Build:
    code: int
    output: str
    parsed: list[str]  # partitions of parsed_pages materialised by this build
    runs: list[str]  # jobs run by this build
    hashes: dict[str, str]  # file under processed/ -> SHA-256 after this build

    def value(self, label: str) -> str:
        return summary_value(self.output, label)


@dataclasses.dataclass(frozen=True)
class History:
    raw: Path
    processed: Path
    first: Build  # FIRST only
    second: Build  # SECOND added
    noop: Build  # nothing new
    forced: Build  # --force
    late_file: Build  # a file added to FIRST


def build(raw: Path, processed: Path, *, force: bool = False) -> Build:
    with dg.DagsterInstance.get() as instance:
        runs_before = {run.run_id for run in instance.get_runs()}
        seen = {r.storage_id for r in instance.fetch_materializations(dg.AssetKey("parsed_pages"), limit=1000).records}
    out = io.StringIO()
    code = run_build(raw, processed, force=force, out=out)
    with dg.DagsterInstance.get() as instance:
        new_runs = [run for run in reversed(instance.get_runs()) if run.run_id not in runs_before]
        records = instance.fetch_materializations(dg.AssetKey("parsed_pages"), limit=1000, ascending=True).records
    files = sorted(p for p in processed.rglob("*") if p.is_file())
    return Build(
        code=code,
        output=out.getvalue(),
        parsed=[r.asset_materialization.partition for r in records if r.storage_id not in seen],
        runs=[run.job_name for run in new_runs],
        hashes={p.relative_to(processed).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    root = tmp_path_factory.mktemp("reruns")
    raw, processed = root / "raw", root / "processed"
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(root / "dagster_home"))}):
        write_batch(raw, FIRST, {
            "rent.html": make_html(RENT, url=RENT_URL),  # changes in the next scrape
            "wages.txt": WAGES,  # re-scraped unchanged
            "loan.txt": LOAN,  # missing from the next scrape
            "empty.txt": b"",  # a parser reject
        })  # fmt: skip
        first = build(raw, processed)
        write_batch(raw, SECOND, {
            "rent.html": make_html(RENT.replace("少額訴訟なども検討してください。", "少額訴訟も選択肢になります。"), url=RENT_URL),
            "wages.txt": WAGES.replace("\n", "\r\n"),  # same content, other bytes
        })  # fmt: skip
        second = build(raw, processed)
        noop = build(raw, processed)
        forced = build(raw, processed, force=True)
        write_batch(raw, FIRST, {"leave.txt": LEAVE})
        late_file = build(raw, processed)
        yield History(raw, processed, first, second, noop, forced, late_file)


def table(processed: Path, name: str) -> list[dict]:
    return pq.read_table(processed / name).to_pylist()


def test_every_build_succeeds_and_reconciles(history: History):
    for build_ in (history.first, history.second, history.noop, history.forced, history.late_file):
        assert build_.code == 0, build_.output
        assert "Counts reconcile: raw_pages" in build_.output
        assert "Build succeeded" in build_.output


def test_first_build_ingests_its_batch_then_builds_the_corpus(history: History):
    assert history.first.runs == ["ingest_batch", "build_corpus"]
    assert history.first.parsed == [FIRST]
    assert history.first.value("consultations out") == "3"


def test_a_new_batch_parses_only_that_batch(history: History):
    assert history.second.runs == ["ingest_batch", "build_corpus"]
    assert history.second.parsed == [SECOND]
    assert history.second.value("batches ingested now") == SECOND
    # the corpus still counts every batch: 4 + 2 inputs, 1 reject, 5 versions of 3 pages
    assert history.second.value("pages in (raw_pages)") == "6"
    assert history.second.value("page versions") == "5"
    assert history.second.value("  collapsed (not current)") == "2"
    assert history.second.value("consultations out") == "3"


def test_a_rerun_with_nothing_new_runs_nothing(history: History):
    assert history.noop.runs == []
    assert history.noop.parsed == []  # no parsed_pages materialisation at all
    assert "nothing new" in history.noop.output
    assert history.noop.value("batches ingested now") == "none"
    assert history.noop.value("corpus rebuilt now") == "no"
    # the summary still reads the counts from the datasets on disk
    for label in ("pages in (raw_pages)", "consultations out", "page versions", "rejects", "sections"):
        assert history.noop.value(label) == history.second.value(label)
    assert history.noop.hashes == history.second.hashes
    # and the checks as the corpus run that made it left them
    assert history.noop.value("checks passed (8, last corpus run)") == history.second.value("checks passed (8)")


def test_a_forced_rerun_reingests_everything_and_writes_identical_bytes(history: History):
    assert history.forced.runs == ["ingest_batch", "ingest_batch", "build_corpus"]
    assert sorted(history.forced.parsed) == [FIRST, SECOND]
    assert history.forced.hashes == history.second.hashes
    assert set(history.forced.hashes) == {
        *(f"{name}/{batch}.parquet" for name in ("raw_pages", "parsed_pages", *PARTED_DATASETS) for batch in (FIRST, SECOND)),
        *(f"{name}/part-0.parquet" for name in set(DATASETS) - {"raw_pages", "parsed_pages", *PARTED_DATASETS}),
        "README.md",  # the dataset card
        "missing_pages.csv",  # the crawl frontier as a list
        ".corpus.lock",  # who last held the corpus lock (pipeline/core/locking.py): not data
        # the persistent MinHash index, untouched when nothing is new: generation 2, written when SECOND changed a page
        *(f"related_questions/_{name}/{batch}.parquet" for name in ("teasers", "targets") for batch in (FIRST, SECOND)),
        "_near_duplicate_index/manifest.json",
        *(f"_near_duplicate_index/{name}" for name in ("pages.2.parquet", "signatures.2.npy", "pairs.2.npy")),
    }


def test_a_new_file_in_an_old_batch_reingests_only_that_batch(history: History):
    assert history.late_file.parsed == [FIRST]
    assert history.late_file.value("consultations out") == "4"
    unchanged = f"parsed_pages/{SECOND}.parquet"
    assert history.late_file.hashes[unchanged] == history.second.hashes[unchanged]


def test_page_history_across_batches(history: History):
    pages = {row["category"]: row for row in table(history.processed, "consultations")}
    rent = pages["不動産・賃貸"]
    assert (rent["page_id"], rent["batch"], rent["first_seen"], rent["last_seen"], rent["n_versions"]) == (
        "20240102030405-7", SECOND, FIRST, SECOND, 2
    )
    assert rent["answer"].endswith("少額訴訟も選択肢になります。")
    loan = pages["債権回収"]  # missing from the newer scrape: still in the corpus
    assert (loan["last_seen"], loan["n_versions"]) == (FIRST, 1)
    wages = [row for row in table(history.processed, "consultations") if row["question"].startswith("未払いの残業代")]
    assert len(wages) == 1 and (wages[0]["last_seen"], wages[0]["n_versions"]) == (SECOND, 1)


def test_page_versions_say_what_became_of_every_input(history: History):
    roles = {(row["source"], row["role"]) for row in table(history.processed, "page_versions")}
    assert roles == {
        (f"{FIRST}/rent.html", "superseded"),
        (f"{SECOND}/rent.html", "current"),
        (f"{FIRST}/wages.txt", "unchanged"),
        (f"{SECOND}/wages.txt", "current"),
        (f"{FIRST}/loan.txt", "current"),
        (f"{FIRST}/leave.txt", "current"),
    }
    assert [(r["source"], r["stage"]) for r in table(history.processed, "rejects")] == [(f"{FIRST}/empty.txt", "parse")]


def test_a_new_parser_version_ingests_every_batch_again_once(tmp_path: Path):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_batch(raw, FIRST, {"rent.txt": RENT})
    write_batch(raw, SECOND, {"wages.txt": WAGES})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        with mock.patch("pipeline.defs.partitions.PARSER_VERSION", "0.9.0"):
            assert build(raw, processed).code == 0
        upgraded = build(raw, processed)
        after = build(raw, processed)
    assert upgraded.code == 0, upgraded.output
    assert sorted(upgraded.parsed) == [FIRST, SECOND]
    assert upgraded.runs == ["ingest_batch", "ingest_batch", "build_corpus"]
    assert after.runs == []  # once


def test_a_batch_parsed_by_an_older_schema_is_ingested_again(tmp_path: Path):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_batch(raw, FIRST, {"rent.txt": RENT})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        assert build(raw, processed).code == 0
        stored = processed / "parsed_pages" / f"{FIRST}.parquet"
        pq.write_table(pq.read_table(stored).drop_columns(["content_hash"]), stored)  # as an older version wrote it
        rebuilt = build(raw, processed)
    assert rebuilt.code == 0, rebuilt.output
    assert rebuilt.parsed == [FIRST]
    assert pq.read_schema(stored).names == DATASETS["parsed_pages"].names


def test_a_batch_whose_folder_is_removed_leaves_the_corpus(tmp_path: Path):
    """Removing a scrape from raw/ (a takedown, a bad scrape) takes its pages out of every dataset, as removing a
    file from a batch does; while raw/ holds no batch at all, nothing is taken out (raw/ may be unmounted)."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(raw, FIRST, {"loan.txt": LOAN, "empty.txt": b""})
        write_batch(raw, SECOND, {"wages.txt": WAGES})
        assert build(raw, processed).code == 0
        (raw / FIRST / "loan.txt").rename(tmp_path / "loan.txt")
        (raw / FIRST / "empty.txt").unlink()
        (raw / FIRST / "_SUCCESS").unlink()
        (raw / FIRST).rmdir()

        retired = build(raw, processed)
        again = build(raw, processed)
        with dg.DagsterInstance.get() as instance:
            partitions = instance.get_dynamic_partitions("scrape_batches")

        (raw / SECOND / "wages.txt").unlink()
        (raw / SECOND / "_SUCCESS").unlink()
        (raw / SECOND).rmdir()
        emptied = build(raw, processed)

    assert retired.code == 0, retired.output
    assert retired.runs == ["build_corpus"] and retired.parsed == []
    assert retired.value("batches removed now") == FIRST
    assert f"Batch {FIRST} left {raw}: the corpus is made again without it" in retired.output
    assert "Counts reconcile" in retired.output
    assert partitions == [SECOND]
    for name in ("raw_pages", "parsed_pages", *PARTED_DATASETS):
        assert FIRST not in {path.stem for path in (processed / name).glob("*.parquet")}, name
    assert [row["page_id"] for row in pq.read_table(processed / "consultations").to_pylist()] == [
        row["page_id"] for row in pq.read_table(processed / "parsed_pages" / f"{SECOND}.parquet").to_pylist()
    ]
    assert pq.read_table(processed / "rejects").num_rows == 0  # the empty page went with its batch
    assert again.runs == [] and "nothing new" in again.output
    assert emptied.runs == [] and emptied.code == 0
    assert f"{raw} holds no batch folder: nothing is ingested, removed or rebuilt, and {processed} stays as it is" in emptied.output
    assert "nothing new" not in emptied.output
    assert emptied.value("pages in (raw_pages)") == "1"
    assert "Counts reconcile" in emptied.output


def test_links_in_raw_are_rejected_or_skipped_and_said_never_followed(tmp_path: Path):
    """A broken link in a batch is an input that cannot be read: a reject, not a gap. A link to a folder in a batch
    is one too, never walked (`ln -s .. loop` crashed the build). A link in raw/ to a batch folder is no batch:
    skipped, and the build says so (it made a second batch holding every page of the first). So is a folder named
    in Shift_JIS (its name crashed the build where it became a partition key)."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    batch = write_batch(raw, FIRST, {"loan.txt": LOAN})
    (batch / "gone.txt").symlink_to("/nonexistent/gone.txt")
    (batch / "loop").symlink_to("..")
    (raw / "latest").symlink_to(batch)
    write_batch(raw, os.fsdecode("第2回".encode("cp932")), {"loan.txt": LOAN})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        built = build(raw, processed)
        with dg.DagsterInstance.get() as instance:
            partitions = instance.get_dynamic_partitions("scrape_batches")
    assert built.code == 0, built.output
    assert f"Skipping {raw}/latest: a link to a folder, not a batch" in built.output
    assert f"Skipping {raw}/\\x91\\xe62\\x89\\xf1: its name is not UTF-8 (rename the folder" in built.output
    assert partitions == [FIRST] and built.parsed == [FIRST]
    assert [(r["source"], r["reject_reason"], r["reject_detail"]) for r in table(processed, "rejects")] == [
        (f"{FIRST}/gone.txt", "unreadable", "broken symbolic link to /nonexistent/gone.txt (FileNotFoundError: No such file or directory)"),
        (f"{FIRST}/loop", "unreadable", "symbolic link to ..: a folder, not followed"),
    ]
    assert [r["source"] for r in table(processed, "page_versions")] == [f"{FIRST}/loan.txt"]
    assert "Counts reconcile: raw_pages 3 = page_versions 1 + rejects 2" in built.output


def test_a_first_build_on_an_empty_raw_builds_nothing_and_says_so(tmp_path: Path):
    """The messages name the folders given (--raw, --processed), which need not be raw/ and processed/."""
    raw, processed = tmp_path / "scrapes", tmp_path / "corpus"
    raw.mkdir()
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        first, again = build(raw, processed), build(raw, processed)
    for built in (first, again):
        assert built.code == 0, built.output
        assert built.runs == []
        assert f"{raw} holds no batch folder: nothing is ingested, removed or rebuilt, and {processed} stays" in built.output
        assert f"Nothing to build: add scrapes as folders {raw}/<batch>/" in built.output
        assert "FAILED" not in built.output
    assert list(processed.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated parsed_pages", "deleted raw_pages"])
def test_an_ingested_file_deleted_or_damaged_is_ingested_again(tmp_path: Path, damage: str):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_batch(raw, FIRST, {"rent.txt": RENT})
    write_batch(raw, SECOND, {"wages.txt": WAGES})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        assert build(raw, processed).code == 0
        if damage == "truncated parsed_pages":
            stored = processed / "parsed_pages" / f"{SECOND}.parquet"
            stored.write_bytes(stored.read_bytes()[:100])
        else:
            (processed / "raw_pages" / f"{SECOND}.parquet").unlink()
        repaired = build(raw, processed)
    assert repaired.code == 0, repaired.output
    assert repaired.parsed == [SECOND]
    assert repaired.runs == ["ingest_batch", "build_corpus"]
    assert "Counts reconcile: raw_pages 2 = page_versions 2 + rejects 0" in repaired.output


def test_a_changed_quality_setting_makes_the_corpus_again_and_switching_it_back_does_too(tmp_path: Path):
    """A build with no new scrape still makes the corpus again when a setting it is made by changed (the parts'
    keys then say which parts): keeping PII originals on fills pii_originals, off again empties it, where the
    build said "nothing new" and left the private text on disk."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    calls = make_page(consultation="見知らぬ番号090-1234-5678から毎晩電話がかかってきます。やめさせる方法はありますか?")
    write_batch(raw, FIRST, {"calls.txt": calls})
    originals = lambda: pq.read_table(processed / "pii_originals").num_rows  # noqa: E731
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        assert build(raw, processed).code == 0
        assert originals() == 0
        with mock.patch.dict(os.environ, {"PIPELINE_KEEP_PII_ORIGINALS": "1"}):
            kept = build(raw, processed)
            kept_rows = originals()
        dropped = build(raw, processed)
        after = build(raw, processed)
    assert kept.code == 0, kept.output
    assert kept.runs == ["build_corpus"] and "a quality setting changed since its last run" in kept.output
    assert kept_rows == 1
    assert dropped.runs == ["build_corpus"] and originals() == 0
    assert after.runs == [] and "nothing new" in after.output


def test_the_corpus_recipe_follows_the_code_the_suites_and_the_settings(tmp_path: Path):
    import shutil

    from pipeline.core import validation
    from pipeline.defs import partitions

    package, suites = tmp_path / "pipeline", tmp_path / "expectations"
    shutil.copytree(partitions._PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(validation.EXPECTATIONS_DIR, suites)
    with mock.patch.object(partitions, "_PACKAGE", package), mock.patch.object(validation, "EXPECTATIONS_DIR", suites):
        recipe = partitions.corpus_recipe(False, 0.8)
        assert partitions.corpus_recipe(False, 0.8) == recipe
        assert partitions.corpus_recipe(True, 0.8) != recipe
        assert partitions.corpus_recipe(False, 0.7) != recipe
        with (suites / "sections.json").open("a") as suite:
            suite.write("\n")
        assert partitions.corpus_recipe(False, 0.8) != recipe
        recipe = partitions.corpus_recipe(False, 0.8)
        with (package / "core" / "screening.py").open("a") as code:
            code.write("\n# an edit\n")
        assert partitions.corpus_recipe(False, 0.8) != recipe
        recipe = partitions.corpus_recipe(False, 0.8)
        (package / "synth.py").write_text("# not corpus code\n")
        assert partitions.corpus_recipe(False, 0.8) == recipe
        (package / "core" / ".#answer.py").symlink_to("user@host.4242:1764570000")  # an editor's lock: a broken link
        (package / "defs" / ".ipynb_checkpoints").mkdir()
        (package / "defs" / ".ipynb_checkpoints" / "assets-checkpoint.py").write_text("# a copy\n")
        assert partitions.corpus_recipe(False, 0.8) == recipe


def test_an_instance_keeps_one_corpus_and_refuses_another(tmp_path: Path):
    """Two corpora on one instance took each other's batches out (as folders gone from raw/) and made everything
    again at every build; the second is refused, saying so, and runs with an instance of its own."""
    first_raw, second_raw = tmp_path / "first" / "raw", tmp_path / "second" / "raw"
    write_batch(first_raw, FIRST, {"rent.txt": RENT})
    write_batch(second_raw, SECOND, {"wages.txt": WAGES})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        assert build(first_raw, tmp_path / "first" / "processed").code == 0
        refused = build(second_raw, tmp_path / "second" / "processed")
        with dg.DagsterInstance.get() as instance:
            partitions = instance.get_dynamic_partitions("scrape_batches")
        again = build(first_raw, tmp_path / "first" / "processed")
    assert refused.code == 1 and refused.runs == []
    assert f"keeps the batches of {first_raw}" in refused.output and "DAGSTER_HOME=" in refused.output
    assert partitions == [FIRST]
    assert again.runs == [] and "nothing new" in again.output
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(tmp_path / "second" / "dagster_home")}):  # not there yet: set up
        out = io.StringIO()
        assert run_build(second_raw, tmp_path / "second" / "processed", out=out) == 0, out.getvalue()
    assert (tmp_path / "second" / "dagster_home" / "dagster.yaml").exists()


def test_a_checkout_moved_whole_keeps_its_instance(tmp_path: Path):
    import shutil

    before, after = tmp_path / "before", tmp_path / "after"
    write_batch(before / "raw", FIRST, {"rent.txt": RENT})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(before / ".dagster_home"))}):
        assert build(before / "raw", before / "processed").code == 0
    shutil.move(before, after)
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(after / ".dagster_home")}):
        moved = build(after / "raw", after / "processed")
    assert moved.code == 0 and moved.runs == [] and "nothing new" in moved.output


def test_a_first_build_pointed_at_the_wrong_folders_does_not_keep_the_instance(tmp_path: Path):
    """Its record names a corpus folder that holds nothing: the corrected build replaces it rather than being refused."""
    raw = tmp_path / "raw"
    write_batch(raw, FIRST, {"rent.txt": RENT})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        out = io.StringIO()
        assert run_build(raw / FIRST, tmp_path / "processed", out=out) == 0  # a batch given as raw/: nothing built
        assert f"is {raw / FIRST} itself a batch?" in out.getvalue()
        corrected = build(raw, tmp_path / "processed")
        (tmp_path / "dagster_home" / "pipeline_corpus.json").write_text("{", encoding="utf-8")  # cut short
        again = build(raw, tmp_path / "processed")
    assert corrected.code == 0 and corrected.runs == ["ingest_batch", "build_corpus"], corrected.output
    assert again.code == 0 and "nothing new" in again.output


def test_an_object_storage_url_is_the_same_corpus_with_or_without_its_trailing_slash(tmp_path: Path):
    from pipeline.defs.partitions import instance_taken

    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "home")) as instance:
        assert instance_taken(instance, "memory://bucket/raw/", "memory://bucket/processed/") is None
        assert instance_taken(instance, "memory://bucket/raw", "memory://bucket/processed") is None
        assert instance_taken(instance, "memory://other/raw", "memory://other/processed") is not None


def test_a_corpus_run_that_failed_part_way_under_other_settings_is_made_again(tmp_path: Path):
    """A run with PII originals on wrote pii_originals, then failed before its last asset; with the setting off
    again the build said 'nothing new' and kept the private text."""
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    calls = make_page(consultation="見知らぬ番号090-1234-5678から毎晩電話がかかってきます。やめさせる方法はありますか?")
    write_batch(raw, FIRST, {"calls.txt": calls})
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        assert build(raw, processed).code == 0
        (processed / "README.md").unlink()
        (processed / "README.md").mkdir()  # the dataset card cannot be written: the run fails at its last asset
        with mock.patch.dict(os.environ, {"PIPELINE_KEEP_PII_ORIGINALS": "1"}):
            failed = build(raw, processed)
        kept_rows = pq.read_table(processed / "pii_originals").num_rows
        (processed / "README.md").rmdir()
        after = build(raw, processed)
    assert failed.code == 1 and kept_rows == 1
    assert after.code == 0 and after.runs == ["build_corpus"], after.output
    assert pq.read_table(processed / "pii_originals").num_rows == 0
