"""Corpus tables across batches: versions, re-scrapes, aliases, and counts that reconcile."""

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet
import pytest

from pipeline.core import schemas, screening, tables, validation, workers
from pipeline.core.batches import SUCCESS_MARKER
from pipeline.core.page import content_hash, parse_page
from tests.pages import make_html, make_page

SITE_URL = "https://houritsu.example/fudosan/20240102030405-7"
RENT = make_page(consultation="家賃の支払いが遅れたら、すぐに退去を求められますか?(背景)Uさんは今月の家賃を一週間遅れて払いました。")
WAGES = make_page(category="労働問題", consultation="未払いの残業代は何年前の分まで請求できますか?(背景)Vさんは三年前から残業代を受け取っていません。")
LOAN = make_page(category="債権回収", consultation="友人に貸したお金を返してもらうにはどうすればよいですか?(背景)Wさんは口約束で五十万円を貸しました。")


def write_batch(raw: Path, batch: str, pages: dict[str, str | bytes]) -> None:
    folder = raw / batch
    folder.mkdir(parents=True)
    for name, content in pages.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    (folder / SUCCESS_MARKER).write_bytes(b"")


def screen(raw: Path) -> screening.Screened:
    parsed = {
        batch: tables.parse_manifest(tables.raw_manifest(raw, batch), raw)
        for batch in sorted(p.name for p in raw.iterdir())
    }
    return screening.screen_pages(parsed)


@pytest.fixture
def two_batches(tmp_path: Path) -> screening.Screened:
    raw = tmp_path / "raw"
    changed_answer = make_html(RENT.replace("少額訴訟なども検討してください。", "少額訴訟も選択肢になります。"), url=SITE_URL)
    write_batch(raw, "2026-11-01", {
        "rent.html": make_html(RENT, url=SITE_URL),  # changes in the next batch
        "wages.txt": WAGES,  # re-scraped unchanged
        "loan.txt": LOAN,  # missing from the next batch
        "empty.txt": b"",
    })  # fmt: skip
    write_batch(raw, "2026-11-08", {
        "rent.html": changed_answer,
        "wages.txt": WAGES.replace("\n", "\r\n"),  # same content, other bytes
        "wages-copy.html": make_html(WAGES, url="https://houritsu.example/roudou/20240305060708-9"),  # same content, site id
    })  # fmt: skip
    return screen(raw)


def rows_by(table: pa.Table, key: str) -> dict:
    return {row[key]: row for row in table.to_pylist()}


def test_one_row_per_page_with_its_history(two_batches):
    pages = rows_by(two_batches.consultations, "page_id")
    rent = pages["20240102030405-7"]
    assert (rent["first_seen"], rent["last_seen"], rent["n_versions"], rent["batch"]) == ("2026-11-01", "2026-11-08", 2, "2026-11-08")
    assert rent["answer"].endswith("少額訴訟も選択肢になります。")


def test_page_missing_from_a_newer_batch_stays(two_batches):
    loan = [row for row in two_batches.consultations.to_pylist() if row["category"] == "債権回収"]
    assert len(loan) == 1 and loan[0]["last_seen"] == "2026-11-01" and loan[0]["n_versions"] == 1


def test_same_content_under_two_ids_collapses_into_the_site_id(two_batches):
    wages = [row for row in two_batches.consultations.to_pylist() if row["category"] == "労働問題"]
    assert len(wages) == 1
    assert wages[0]["page_id"] == "20240305060708-9"
    assert wages[0]["aliases"] == ["h" + wages[0]["content_hash"]]
    assert wages[0]["first_seen"] == "2026-11-08"  # the kept page's own history


def test_every_input_has_exactly_one_fate(two_batches):
    versions = two_batches.page_versions.to_pylist()
    fates = [(v["batch"], v["source"]) for v in versions] + [
        (r["batch"], r["source"]) for r in two_batches.rejects.to_pylist()
    ]
    assert len(fates) == len(set(fates)) == 7
    roles = {(v["source"], v["role"]) for v in versions}
    assert roles == {
        ("2026-11-01/rent.html", "superseded"),
        ("2026-11-08/rent.html", "current"),
        ("2026-11-01/wages.txt", "unchanged"),
        ("2026-11-08/wages.txt", "alias"),
        ("2026-11-08/wages-copy.html", "current"),
        ("2026-11-01/loan.txt", "current"),
    }
    assert sum(v["role"] == "current" for v in versions) == two_batches.consultations.num_rows == 3
    assert two_batches.rejects["reject_reason"].to_pylist() == ["empty_file"]


def test_tables_have_the_schemas(two_batches):
    for name in ("consultations", "page_versions", "rejects"):
        assert getattr(two_batches, name).schema.equals(schemas.DATASETS[name])


def test_each_quarantined_row_says_what_it_failed_with_its_own_value(tmp_path):
    """Not the part's summary ("2 of 2 rows fail ...; e.g. <both answers>"), which spoke of every failing row."""
    raw = tmp_path / "raw"
    brief = make_page(category="労働問題", consultation="残業代は請求できますか?", answer_lines=["できる場合があります。"])
    write_batch(raw, "b1", {"short.txt": make_page(answer_lines=["短すぎる回答です。"]), "brief.txt": brief, "ok.txt": LOAN})
    rule = "expect_column_value_lengths_to_be_between(answer) (min_value=100, max_value=200000)"
    assert {row["source"]: row["reject_detail"] for row in screen(raw).rejects.to_pylist()} == {
        "b1/short.txt": f"{rule}: 短すぎる回答です。",
        "b1/brief.txt": f"{rule}: できる場合があります。",
    }


def test_row_failing_an_expectation_is_quarantined_with_its_name(tmp_path):
    raw = tmp_path / "raw"
    write_batch(raw, "b1", {"short.txt": make_page(answer_lines=["短すぎる回答です。"]), "ok.txt": LOAN})
    screened = screen(raw)
    assert screened.consultations.num_rows == 1
    assert screened.rejects.to_pylist()[0] | {"reject_detail": None, "sha256": None, "page_id": None} == {
        "batch": "b1", "source": "b1/short.txt", "stage": "validate",
        "reject_reason": "expect_column_value_lengths_to_be_between",
        "reject_detail": None, "page_id": None, "sha256": None,
    }  # fmt: skip
    assert "answer" in screened.rejects["reject_detail"][0].as_py()
    assert screened.page_versions["source"].to_pylist() == ["b1/ok.txt"]
    # The report is on the published rows (validated again without the quarantined one): it passes.
    assert screened.consultations_report.success
    assert screened.consultations_report.outcomes == validation.validate("consultations", screened.consultations).outcomes


def test_the_report_is_the_report_on_the_published_table(two_batches):
    report = two_batches.consultations_report
    assert report is not None and report.success
    assert report.outcomes == validation.validate("consultations", two_batches.consultations).outcomes


def test_manifest_skips_markers_and_hidden_files(tmp_path):
    write_batch(tmp_path, "b1", {"a.txt": "x", ".partial.txt": "y"})
    assert tables.raw_manifest(tmp_path, "b1")["source"].to_pylist() == ["b1/a.txt"]


def test_a_file_named_in_shift_jis_is_listed_and_parsed(tmp_path):
    # A scrape saved on a Japanese Windows machine names its files in CP932: not UTF-8, so not Arrow text as is.
    raw = tmp_path / "raw"
    write_batch(raw, "b", {"rent.txt": RENT})
    name = "相談.txt".encode("cp932")
    with open(os.path.join(os.fsencode(raw / "b"), name), "wb") as handle:
        handle.write(WAGES.encode("utf-8"))
    manifest = tables.raw_manifest(raw, "b")
    escaped = "b/\\x91\\x8a\\x92k.txt"  # 相談 in CP932: 91 8a 92 6b ("k")
    assert manifest["source"].to_pylist() == [escaped, "b/rent.txt"]
    parsed = rows_by(tables.parse_manifest(manifest, raw), "source")
    assert parsed[escaped]["status"] == "ok" and parsed[escaped]["question"] == parse_page(WAGES.encode(), "w").question


def test_posted_at_reads_the_site_id_as_japan_time():
    assert tables.posted_at("20240102030405-7").isoformat() == "2024-01-01T18:04:05+00:00"
    assert tables.posted_at("h0123456789abcdef") is None
    assert tables.posted_at("20241399000000-1") is None


def test_parsed_pages_carry_the_content_hash_of_accepted_pages(tmp_path):
    raw = tmp_path / "raw"
    write_batch(raw, "b", {"rent.txt": RENT, "empty.txt": b""})
    parsed = tables.parse_manifest(tables.raw_manifest(raw, "b"), raw).to_pylist()
    by_source = {row["source"]: row for row in parsed}
    rent = by_source["b/rent.txt"]
    assert rent["content_hash"] == content_hash(rent["title"], rent["question"], rent["background"], rent["answer"])
    assert by_source["b/empty.txt"]["content_hash"] is None


def test_parsed_pages_carry_the_content_hash_of_pages_with_the_site_id(tmp_path):
    raw = tmp_path / "raw"
    write_batch(raw, "b", {"rent.html": make_html(RENT, url=SITE_URL)})
    [rent] = tables.parse_manifest(tables.raw_manifest(raw, "b"), raw).to_pylist()
    assert rent["page_id"] == "20240102030405-7"
    assert rent["content_hash"] == content_hash(rent["title"], rent["question"], rent["background"], rent["answer"])


def hashed(result) -> str | None:
    return content_hash(result.title, result.question, result.background, result.answer) if result.ok else None


def test_parsed_pages_table_equals_the_table_of_the_records():
    # The table built column by column is the one Table.from_pylist makes of the records (PageResult.to_dict).
    pages = {
        "rent.txt": RENT,
        "no_related.txt": make_page(related_lines=[]),
        "no_headings.txt": make_page(answer_lines=["見出しのない回答です。" * 5, "段落がもう一つあります。" * 4]),
        "site.html": make_html(WAGES, url=SITE_URL),
        "no_url.html": make_html(LOAN, url=None),
        "empty.txt": b"",
        "binary.txt": b"\x00\x01binary",
    }
    results = [("b", parse_page(p.encode() if isinstance(p, str) else p, name)) for name, p in pages.items()]
    records = [
        {"batch": batch, "posted_at": tables.posted_at(r.page_id), "content_hash": hashed(r), **r.to_dict()}
        for batch, r in results
    ]
    built = tables.parsed_pages_table(results)
    assert built.equals(pa.Table.from_pylist(records, schema=schemas.PARSED_PAGES))
    assert built.schema.equals(schemas.PARSED_PAGES, check_metadata=True)
    assert {r["status"] for r in records} == {"ok", "rejected"} and rows_by(built, "source")["site.html"]["posted_at"]
    assert any(r["status"] == "ok" and not r[name] for r in records for name in ("headings", "related"))
    assert tables.parsed_pages_table([]).equals(schemas.PARSED_PAGES.empty_table())


def test_parse_manifest_keeps_a_chunk_per_chunk_of_files(tmp_path, monkeypatch):
    # The chunks follow _CHUNK_FILES alone: a Parquet file's bytes depend on the chunks it is written from.
    raw = tmp_path / "raw"
    write_batch(raw, "b", {f"{i}.txt": page for i, page in enumerate([RENT, WAGES, LOAN, "", RENT])})
    manifest = tables.raw_manifest(raw, "b")
    whole = tables.parse_manifest(manifest, raw)
    monkeypatch.setattr(tables, "_CHUNK_FILES", 2)
    parts = tables.parse_manifest(manifest, raw)
    assert parts.equals(whole) and parts.num_rows == 5
    assert {tuple(map(len, column.chunks)) for column in parts.columns} == {(2, 2, 1)}
    assert tables.parse_manifest(manifest.slice(0, 0), raw).equals(schemas.PARSED_PAGES.empty_table())


def test_parts_screened_and_stored_in_worker_processes_are_the_parts_screened_here(tmp_path, monkeypatch: pytest.MonkeyPatch):
    from upath import UPath

    from pipeline.core.parts import TablesInMemory
    from pipeline.defs.io_manager import PartFiles

    raw = tmp_path / "raw"
    write_batch(raw, "b1", {"rent.txt": RENT, "short.txt": make_page(answer_lines=["短すぎる回答です。"])})
    write_batch(raw, "b2", {"wages.txt": WAGES, "loan.txt": LOAN})
    parsed = TablesInMemory({batch: tables.parse_manifest(tables.raw_manifest(raw, batch), raw) for batch in ("b1", "b2")})
    here = screening.screen_pages(dict(parsed))
    monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", 0)  # two parts of two pages: in two workers
    asked, in_order = [], workers.in_order  # (parallel, parts) of each call
    monkeypatch.setattr(workers, "in_order", lambda work, items, **kwargs: asked.append((kwargs["parallel"], len(items))) or in_order(work, items, **kwargs))
    files = PartFiles(UPath(tmp_path / "processed"), schemas.DATASETS)
    stored = screening.Screening(parsed, writer=files)
    made = list(stored.parts())
    assert asked == [(True, 2), (False, 1)]  # both parts in workers; a later round of one part is screened here

    assert all(part.consultations.written and part.consultations.table is None for part in made)
    for name in ("consultations", "pii_originals"):
        read = pa.concat_tables([pa.Table.from_pylist([], schema=schemas.DATASETS[name])] + [
            pa.parquet.read_table(tmp_path / "processed" / name / f"{batch}.parquet") for batch in ("b1", "b2")
        ])  # fmt: skip
        assert read.cast(schemas.DATASETS[name]).equals(getattr(here, name)), name
    assert stored.page_versions().equals(here.page_versions) and stored.rejects().equals(here.rejects)
    assert stored.report("consultations") == here.consultations_report
    assert stored.rejects()["stage"].to_pylist() == ["validate"]


def _stored_consultations(tmp_path: Path, processed) -> dict:
    """The consultations parts of two small batches, as stored in `processed` (a UPath)."""
    from pipeline.core.parts import TablesInMemory
    from pipeline.defs.io_manager import ParquetUPathIOManager, PartFiles

    raw = tmp_path / "raw"
    write_batch(raw, "b1", {"rent.txt": RENT, "loan.txt": LOAN})
    write_batch(raw, "b2", {"wages.txt": WAGES})
    parsed = TablesInMemory({batch: tables.parse_manifest(tables.raw_manifest(raw, batch), raw) for batch in ("b1", "b2")})
    list(screening.Screening(parsed, writer=PartFiles(processed, schemas.DATASETS)).parts())
    return ParquetUPathIOManager(base_path=processed).stored_parts("consultations")


def test_related_parts_made_in_worker_processes_are_the_parts_made_here(tmp_path, monkeypatch: pytest.MonkeyPatch):
    from upath import UPath

    from pipeline.defs.io_manager import ParquetUPathIOManager, PartFiles

    consultations = _stored_consultations(tmp_path, UPath(tmp_path / "processed"))

    def related(parallel_from: int, writer=None) -> tuple[tables.RelatedParts, list, validation.ValidationReport]:
        monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", parallel_from)
        suite = validation.SuiteRun("related_questions")
        made = tables.related_parts(consultations, None, suite, writer=writer)
        return made, [(part.batch, part.key, part.table, dict(part.sidecars)) for part in made.parts], suite.report()

    asked = []
    in_order = workers.in_order
    monkeypatch.setattr(workers, "in_order", lambda *args, **kwargs: asked.append(kwargs["parallel"]) or in_order(*args, **kwargs))
    here, here_parts, here_report = related(10**9)
    there, there_parts, there_report = related(0)
    # Each build asks twice: for the link keys, then for the parts, made here without a writer to store them.
    assert asked == [False, False, True, False]
    assert there.linked.equals(here.linked) and there.linked.num_rows == sum(part[2].num_rows for part in here_parts) > 0
    assert there_parts == here_parts and there_report == here_report

    stored_at = UPath(tmp_path / "stored")
    written, written_parts, written_report = related(0, PartFiles(stored_at, schemas.DATASETS))
    assert asked[4:] == [True, True]  # the parts made in workers too, which stored them
    assert written.linked.equals(here.linked) and written_report == here_report
    assert [(batch, key, table) for batch, key, table, _ in written_parts] == [(batch, key, None) for batch, key, *_ in here_parts]
    stored = ParquetUPathIOManager(base_path=stored_at).stored_parts("related_questions")
    for batch, key, table, sidecars in here_parts:
        assert stored[batch].key == key and stored[batch].read(None).to_pylist() == table.to_pylist()
        assert {name: stored[batch].sidecar(name).to_pylist() for name in sidecars} == {name: t.to_pylist() for name, t in sidecars.items()}


def test_related_parts_relinked_in_worker_processes_are_the_parts_relinked_here(tmp_path, monkeypatch: pytest.MonkeyPatch):
    import shutil

    from upath import UPath

    from pipeline.core.parts import TablesInMemory
    from pipeline.defs.io_manager import ParquetUPathIOManager, PartFiles

    # Two batches linked and stored; then a page every teaser asking about renewal fees shows (b1's and b2's).
    processed = UPath(tmp_path / "processed")
    stored = ParquetUPathIOManager(base_path=processed)
    stored.write_parts("related_questions", tables.related_parts(_stored_consultations(tmp_path, processed), None, validation.SuiteRun("related_questions")).parts, processed / "related_questions")
    write_batch(tmp_path / "raw", "b3", {"renewal.txt": make_page(consultation="更新料の支払いを断ることはできますか?")})
    raw = tmp_path / "raw"
    parsed = TablesInMemory({batch: tables.parse_manifest(tables.raw_manifest(raw, batch), raw) for batch in ("b1", "b2", "b3")})
    list(screening.Screening(parsed, writer=PartFiles(processed, schemas.DATASETS)).parts())
    consultations = stored.stored_parts("consultations")
    shutil.copytree(tmp_path / "processed", tmp_path / "there")

    def relinked(where: str, parallel_from: int, writer=None) -> tuple[tables.RelatedParts, list, validation.ValidationReport]:
        monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", parallel_from)
        suite = validation.SuiteRun("related_questions")
        before = ParquetUPathIOManager(base_path=UPath(tmp_path / where)).stored_parts("related_questions")
        made = tables.related_parts(consultations, before, suite, stored_whole=True, writer=writer)
        return made, [(part.batch, part.key, dict(part.memo), part.table) for part in made.parts], suite.report()

    here, here_parts, here_report = relinked("processed", 10**9)
    assert [(batch, table is not None) for batch, _, _, table in here_parts] == [("b1", True), ("b2", True), ("b3", True)]
    assert here.linked_now < here.linked.num_rows  # b1's and b2's parts relinked, not linked whole
    there_at = UPath(tmp_path / "there")
    sidecar = tmp_path / "there" / "related_questions" / "_teasers" / "b1.parquet"
    sidecar_written = sidecar.stat().st_mtime_ns
    there, there_parts, there_report = relinked("there", 0, PartFiles(there_at, schemas.DATASETS))

    assert there.linked.equals(here.linked) and there_report == here_report
    assert [(batch, key, memo, table) for batch, key, memo, table in there_parts] == [(batch, key, memo, None) for batch, key, memo, _ in here_parts]
    after = ParquetUPathIOManager(base_path=there_at).stored_parts("related_questions")
    for batch, key, memo, table in here_parts:
        assert (after[batch].key, dict(after[batch].memo)) == (key, memo) and after[batch].read(None).to_pylist() == table.to_pylist()
    assert sidecar.stat().st_mtime_ns == sidecar_written and after["b1"].sidecar("teasers") is not None  # the same teasers: kept


def test_link_keys_of_parts_a_worker_cannot_read_are_computed_here(tmp_path, monkeypatch: pytest.MonkeyPatch):
    import uuid

    from upath import UPath

    consultations = _stored_consultations(tmp_path, UPath(f"memory://link-keys-{uuid.uuid4().hex}/processed"))
    assert not any(part.local for part in consultations.values())
    monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", 0)
    monkeypatch.setattr(workers, "pool_context", lambda preload=(): pytest.fail("a pool for parts in memory://"))
    related = tables.related_parts(consultations, None, validation.SuiteRun("related_questions"))
    assert sum(part.table.num_rows for part in related.parts) == related.linked.num_rows > 0


def test_a_rescrape_failing_validation_leaves_the_page_at_its_last_valid_version(tmp_path):
    raw = tmp_path / "raw"
    cut_short = make_html(make_page(answer_lines=["回答は準備中です。"]), url=SITE_URL)  # the same page, answer lost
    write_batch(raw, "b1", {"rent.html": make_html(RENT, url=SITE_URL), "loan.txt": LOAN})
    write_batch(raw, "b2", {"rent.html": cut_short})
    screened = screen(raw)

    rent = rows_by(screened.consultations, "page_id")["20240102030405-7"]
    assert (rent["batch"], rent["first_seen"], rent["last_seen"], rent["n_versions"]) == ("b1", "b1", "b1", 1)
    assert [(r["source"], r["stage"], r["reject_reason"]) for r in screened.rejects.to_pylist()] == [
        ("b2/rent.html", "validate", "expect_column_value_lengths_to_be_between")
    ]
    versions = {row["source"]: row for row in screened.page_versions.to_pylist()}
    assert set(versions) == {"b1/rent.html", "b1/loan.txt"} and versions["b1/rent.html"]["role"] == "current"
    assert set(screened.page_versions["page_id"].to_pylist()) == set(screened.consultations["page_id"].to_pylist())
    assert screened.consultations_report.success


def test_a_page_whose_every_version_fails_is_rejected_whole(tmp_path):
    raw = tmp_path / "raw"
    short = make_page(answer_lines=["回答は準備中です。"])
    write_batch(raw, "b1", {"rent.html": make_html(short, url=SITE_URL), "loan.txt": LOAN})
    write_batch(raw, "b2", {"rent.html": make_html(short.replace("準備中", "作成中"), url=SITE_URL)})
    screened = screen(raw)

    assert "20240102030405-7" not in screened.consultations["page_id"].to_pylist() and screened.consultations.num_rows == 1
    assert sorted((r["source"], r["stage"]) for r in screened.rejects.to_pylist()) == [("b1/rent.html", "validate"), ("b2/rent.html", "validate")]
    assert screened.page_versions["source"].to_pylist() == ["b1/loan.txt"]


def test_a_reject_whose_detail_quotes_the_page_is_published_redacted(tmp_path):
    """A parser's reject may quote the page (here its first line, not a category), and rejects are published."""
    raw = tmp_path / "raw"
    write_batch(raw, "b1", {"rent.txt": RENT, "contact.txt": "お問い合わせ taro.yamada@example.com 03-1234-5678\n本文です。\n"})
    parsed = tables.parse_manifest(tables.raw_manifest(raw, "b1"), raw)
    rejected = parsed.filter(pa.compute.field("status") == "rejected")
    # The quote is redacted before it is cut to 40 characters: a cut phone number would no longer be found.
    assert rejected["reject_detail"].to_pylist() == ["first line is not a category label: 'お問い合わせ <EMAIL> <PHONE>'"]

    # Whatever a detail holds (a parser error's message, say), the published one is redacted.
    detail = "ParserError: near 'taro.yamada@example.com 03-1234-5678'"
    position = parsed["status"].to_pylist().index("rejected")
    details = parsed["reject_detail"].to_pylist()
    details[position] = detail
    parsed = parsed.set_column(parsed.schema.get_field_index("reject_detail"), "reject_detail", pa.array(details, pa.string()))
    rejects = screening.screen_pages({"b1": parsed}).rejects
    assert rejects["reject_detail"].to_pylist() == ["ParserError: near '<EMAIL> <PHONE>'"]
    assert validation.SuiteRun("rejects").check(rejects).failing_rows() == {}
    leaked = rejects.set_column(rejects.schema.get_field_index("reject_detail"), "reject_detail", pa.array([detail]))
    [failing] = validation.SuiteRun("rejects").check(leaked).failing_rows().values()  # the suite catches a detail left unredacted
    assert [outcome.expectation_type for outcome in failing] == ["expect_column_values_to_not_match_regex"]
