"""The synthetic corpus: every page parses, in the site's shapes and sizes, deterministic, with versions."""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import pytest

from pipeline import cli, synth
from pipeline.core.batches import SUCCESS_MARKER, batch_dirs, batch_files
from pipeline.core.page import parse_file, parse_page

PAGES = 400


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, synth.Summary]:
    out = tmp_path_factory.mktemp("synth")
    summary = synth.generate(out, PAGES, 4, html_share=0.3, rescrape_share=0.05, changed_share=0.02, seed=7)
    return out, summary


@pytest.fixture(scope="module")
def parsed(corpus) -> dict[Path, object]:
    out, _ = corpus
    return {path: parse_file(path) for batch in batch_dirs(out) for path in batch_files(batch)}


def test_batches_sort_in_order_and_are_finished(corpus):
    out, summary = corpus
    names = [d.name for d in batch_dirs(out)]
    assert names == sorted(names) == list(summary.batches) and len(names) == 4
    assert all((out / name / SUCCESS_MARKER).is_file() for name in names)
    assert sum(len(batch_files(out / name)) for name in names) == summary.files == PAGES


def test_every_page_parses_ok_in_shape(parsed):
    assert len(parsed) == PAGES
    for path, result in parsed.items():
        assert result.status == "ok", (path, result.reject_reason, result.reject_detail)
        assert 3 <= len(result.headings) <= 8, path
        assert len(result.related) == synth.RELATED_COUNT, path
        assert all(r.truncated and len(r.preview) == synth.TEASER_CHARS for r in result.related), path
        assert "おすすめ法律相談" not in result.answer


def test_sizes_are_realistic(corpus, parsed):
    out, _ = corpus
    for path, result in parsed.items():
        size = path.stat().st_size
        if result.format == "text":
            assert synth.MIN_TEXT_BYTES <= size <= synth.MAX_TEXT_BYTES, path
        else:  # the same page as a text dump is in range; the HTML adds its chrome
            serial = int(path.stem)
            text = synth.render_text(synth.make_page(7, serial, 0, "text")).encode("utf-8")
            assert synth.MIN_TEXT_BYTES <= len(text) <= synth.MAX_TEXT_BYTES, path
            assert 5_000 < size < 20_000, path


def test_the_mix_of_formats_shapes_and_categories(parsed):
    results = list(parsed.values())
    formats = collections.Counter(r.format for r in results)
    assert 0.2 < formats["html"] / len(results) < 0.4
    assert {r.category for r in results} == {c.label for c in synth.CATEGORIES}
    assert any(r.title for r in results) and any(r.background for r in results)
    assert any(r.background is None for r in results)  # quoted and topic-only consultations
    assert any("no_question_sentence" in r.warnings for r in results)  # topic-only
    assert {h.level for r in results for h in r.headings} == {1, 2, 3}
    html = [r for r in results if r.format == "html"]
    assert all(r.url and r.page_id == r.url.rsplit("/", 1)[1] for r in html)
    assert all(all(item.url for item in r.related) for r in html)


def test_html_pages_carry_the_usual_chrome(corpus):
    out, _ = corpus
    page = next(p for p in out.rglob("*.html")).read_text("utf-8")
    for chrome in ("<head>", "<script>", "<style>", "<header", "<nav", 'class="breadcrumb"', "<footer", "cookie-banner",
                   "share-buttons", 'rel="canonical"'):  # fmt: skip
        assert chrome in page


def test_rescrapes_are_identical_and_changed_pages_keep_their_id(corpus, parsed):
    out, summary = corpus
    assert summary.rescrapes == round(PAGES * 0.05) and summary.changed == round(PAGES * 0.02)
    by_name = collections.defaultdict(list)  # the same page has the same file name in every batch
    for path in parsed:
        by_name[path.name].append(path)
    repeated = [sorted(paths) for paths in by_name.values() if len(paths) > 1]
    assert len(repeated) >= (summary.rescrapes + summary.changed) * 0.9
    identical = changed = 0
    for paths in repeated:
        results = [parsed[p] for p in paths]
        assert len({r.page_id for r in results}) == 1  # a version of the same page, never a new one
        for before, after in zip(paths, paths[1:]):
            if before.read_bytes() == after.read_bytes():
                identical += 1
            else:
                changed += 1
                assert parsed[before].format == "html" and parsed[before].question == parsed[after].question
                assert parsed[before].answer != parsed[after].answer
    assert identical >= 1 and changed >= 1


def test_content_differs_between_pages(parsed):
    first_versions = {}
    for path, result in parsed.items():
        first_versions.setdefault(path.name, result)
    hashes = {(r.question, r.answer) for r in first_versions.values()}
    assert len(hashes) == len(first_versions)


def test_text_varies_like_real_prose():
    """Unrelated pages share few 5-character shingles (what near-duplicate detection sees); no answer repeats itself."""
    import itertools
    import statistics

    import pyarrow as pa

    from pipeline.core.consultation import split_sentences
    from pipeline.core.quality.normalise import matching_keys

    results = [parse_page(synth.render(synth.make_page(13, serial, 0, "text")), str(serial)) for serial in range(150)]
    for result in results:
        sentences = [s for paragraph in result.answer.split("\n\n") for s in split_sentences(paragraph)]
        assert len(sentences) == len(set(sentences)), result.source
    texts = ["".join(part or "" for part in (r.title, r.question, r.background, r.answer)) for r in results]
    keys = matching_keys(pa.array(texts, pa.string())).to_pylist()
    shingles = [{key[i : i + 5] for i in range(len(key) - 4)} for key in keys]
    similarity = sorted(len(a & b) / len(a | b) for a, b in itertools.combinations(shingles, 2))
    assert statistics.median(similarity) < 0.08
    assert similarity[int(len(similarity) * 0.99)] < 0.25 and similarity[-1] < 0.4


def test_same_arguments_give_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        synth.generate(tmp_path / name, 60, 3, html_share=0.5, seed=3)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
    synth.generate(tmp_path / "c", 60, 3, html_share=0.5, seed=4)  # another seed, other pages
    files_c = sorted(p.relative_to(tmp_path / "c") for p in (tmp_path / "c").rglob("*") if p.is_file())
    common = [f for f in files_c if f in set(files_a) and f.name != SUCCESS_MARKER]
    assert common and all((tmp_path / "c" / f).read_bytes() != (tmp_path / "a" / f).read_bytes() for f in common)


def test_workers_write_the_same_files_as_one_process(tmp_path, monkeypatch):
    """A corpus large enough for the pool, with re-scrapes, changed pages and HTML: the same names and bytes
    as the same corpus rendered here (`workers=1`)."""
    pooled = []
    in_order = synth.pools.in_order
    monkeypatch.setattr(synth.pools, "in_order", lambda *args, **kwargs: pooled.append(kwargs) or in_order(*args, **kwargs))
    pages = synth.pools.PARALLEL_MIN_PAGES
    made, files = {}, {}
    for workers in (1, 2):
        out = tmp_path / str(workers)
        made[workers] = synth.generate(out, pages, 4, html_share=0.3, rescrape_share=0.05, changed_share=0.02, seed=8, workers=workers)
        files[workers] = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert [(kw["parallel"], kw["workers"]) for kw in pooled] == [(True, 1), (True, 2)]  # 1: in_order maps here
    assert made[1].rescrapes and made[1].changed and made[1].html
    assert dataclasses.replace(made[1], out_dir=tmp_path) == dataclasses.replace(made[2], out_dir=tmp_path)
    assert sorted(files[1]) == sorted(files[2]) and len(files[1]) == pages + 4  # and a _SUCCESS marker a batch
    assert [name for name in files[1] if files[1][name] != files[2][name]] == []


def test_a_corpus_can_be_continued_with_a_batch_of_new_pages(tmp_path):
    synth.generate(tmp_path, 50, 2, seed=5)
    summary = synth.generate(tmp_path, 5, 1, seed=5, first_batch=2, first_serial=50, rescrape_share=0, changed_share=0)
    assert summary.batches == (synth.batch_name(2),) and summary.new == 5
    assert [d.name for d in batch_dirs(tmp_path)][-1] == synth.batch_name(2)
    old_names = {p.name for d in batch_dirs(tmp_path)[:2] for p in batch_files(d)}
    assert not old_names & {p.name for p in batch_files(tmp_path / synth.batch_name(2))}


def test_a_batch_already_written_is_never_written_into(tmp_path):
    """Another seed written over a batch mixed two sites' pages in one folder without a word."""
    synth.generate(tmp_path, 20, 1, seed=1)
    before = sorted(p.name for p in (tmp_path / synth.batch_name(0)).iterdir())
    with pytest.raises(ValueError, match="already holds files"):
        synth.generate(tmp_path, 20, 1, seed=2)
    assert sorted(p.name for p in (tmp_path / synth.batch_name(0)).iterdir()) == before
    (tmp_path / synth.batch_name(1)).write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        synth.generate(tmp_path, 20, 1, seed=1, first_batch=1)
    (tmp_path / synth.batch_name(2)).mkdir()
    (tmp_path / synth.batch_name(2) / ".DS_Store").write_bytes(b"")
    synth.generate(tmp_path, 20, 1, seed=1, first_batch=2, first_serial=20)  # a folder holding hidden files only


def test_explicit_batch_sizes_and_text_only(tmp_path):
    summary = synth.generate(tmp_path, 30, [20, 10], html_share=0.0, seed=9)
    assert [len(batch_files(tmp_path / b)) for b in summary.batches] == [20, 10]
    assert summary.html == 0 and summary.changed == 0  # text dumps have no URL: nothing can change in place
    with pytest.raises(ValueError):
        synth.generate(tmp_path / "x", 30, [20, 5])


def test_every_shape_parses_when_made_directly():
    shapes = collections.Counter()
    for serial in range(300):
        for fmt in ("text", "html"):
            page = synth.make_page(11, serial, 0, fmt)
            result = parse_page(synth.render(page), f"{serial}.{fmt}")
            assert result.status == "ok" and 3 <= len(result.headings) <= 8 and len(result.related) == 10
            shapes[len(page.consultation), result.title is not None, result.background is not None] += 1
    assert len(shapes) >= 4


def test_command_line(tmp_path, capsys):
    code = cli.main(["synth", "--pages", "12", "--batches", "2", "--html-share", "0.5", "--seed", "1", str(tmp_path / "out")])
    assert code == 0 and "12 files in 2 batches" in capsys.readouterr().out
    assert len([p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != SUCCESS_MARKER]) == 12
    assert cli.main(["synth", "--pages", "2", "--batches", "3", str(tmp_path / "bad")]) == 2


def test_teasers_link_to_the_pages_they_show():
    """A recommendation shows another page of the site (its consultation, its answer's first characters): in a
    corpus of consecutive pages, the linker takes each teaser to the page it was made from, and the teasers of
    pages outside it (older or later ones: the crawl frontier) to none, but where the page shown asks, word for
    word, what a corpus page asks or opens its answer alike (common wording: the linker cannot tell them apart)."""
    from pipeline.core import tables
    from pipeline.core.quality.normalise import matching_key
    from tests.test_quality_support import consultation, table, teaser

    seed, pages = 7, range(600)
    made = {serial: synth.make_page(seed, serial) for serial in pages}
    parsed = {serial: parse_page(synth.render(page), f"{serial}.txt") for serial, page in made.items()}
    rows = [
        consultation(
            result.page_id, title=result.title, question=result.question, background=result.background, answer_text=result.answer,
            related=[teaser(r.question, r.preview, r.url) for r in result.related],
        )
        for result in parsed.values()
    ]
    linked = tables.related_questions_table(table(rows)).sort_by([("page_id", "ascending"), ("position", "ascending")])
    by_id = {result.page_id: result for result in parsed.values()}
    shown = sorted(((parsed[serial].page_id, position), r) for serial, page in made.items() for position, r in enumerate(page.related))
    assert linked.num_rows == len(shown) == len(pages) * synth.RELATED_COUNT
    assert all(len({r.serial for r in page.related} - {serial}) == synth.RELATED_COUNT for serial, page in made.items())
    in_corpus = coincidences = 0
    for (_, r), target, method in zip(shown, linked["target_page_id"].to_pylist(), linked["link_method"].to_pylist()):
        if r.serial in made:
            in_corpus += 1
            assert target == parsed[r.serial].page_id, r
        elif target is not None:
            coincidences += 1
            alike = {
                "question": matching_key(by_id[target].question) == matching_key(r.question),
                "preview": matching_key(by_id[target].answer).startswith(matching_key(r.teaser)),
            }
            assert alike.get(method), r
    assert 0.1 < in_corpus / len(shown) < 0.5  # pages within 1,000 either side, or older ones: a third are
    assert coincidences < 0.1 * len(shown)
