"""The benchmark harness runs end to end; the parser's speed-ups give exactly what they replaced (bs4, regexes)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import synth
from pipeline.core.html_text import html_to_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmark_writes_the_table_and_the_plot(tmp_path):
    out, plot = tmp_path / "benchmarks.md", tmp_path / "benchmarks_build.png"
    committed = ROOT / "docs" / "benchmarks.md"
    before = committed.stat().st_mtime_ns if committed.exists() else None
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--build-sizes", "30,40,50",
         "--work", str(tmp_path / "work"), "--out", str(out), "--plot", str(plot)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    print(f"benchmarks/run.py --quick took {time.monotonic() - started:.0f} s")  # ≈ 60 s on the 2-core machine
    report = out.read_text("utf-8")
    assert "<!-- bench:begin -->" in report and "<!-- bench:end -->" in report
    for row in ("| cores |", "**text parse**", "**HTML parse**", "floor: read + decode", "serial (`workers=1`)",
                "full build, 30 text pages", "no-op rerun", "| text parse ≥ 5,000 pages/s", "| memory grows sub-linearly",
                "| adding 1% new pages ≤ 5% of a full build", "| `screen_pages` |", "| `parsed_pages` |",
                "runs' own bookkeeping", "| process start (the median timed alone, above) |",
                "| Great Expectations' import (the median timed alone, above) |", "| no-op rerun ≤ 5 s of work beyond process start |",
                "Process start, `python -c \"import pipeline.build\"`"):  # fmt: skip
        assert row in report, row
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert (committed.stat().st_mtime_ns if committed.exists() else None) == before  # the repository's copy untouched


def test_a_build_row_times_the_unsampled_runs_and_takes_memory_from_the_sampled_ones():
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import _build_row

    timed = [{"wall": wall, "maxrss_mb": 1.0, "tree_rss_mb": None, "tree_pss_mb": None} for wall in (60.0, 58.0, 75.0)]
    sampled = [{"wall": 63.0, "maxrss_mb": rss, "tree_rss_mb": 2 * rss, "tree_pss_mb": rss + 200} for rss in (1500.0, 1400.0, 1600.0)]
    row = _build_row("full build", 100_000, timed, sampled)
    assert (row["seconds"], row["walls"], row["runs"]) == (60.0, [58.0, 60.0, 75.0], 3)
    assert (row["maxrss_mb"], row["tree_rss_mb"], row["tree_pss_mb"]) == (1500.0, 3000.0, 1700.0)


def test_where_the_time_went_accounts_for_the_whole_wall_time():
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import _time_table

    spent = {"wall": 20.0, "steps": {"related_questions": 6.0, "screen_pages": 4.0}, "runs": 2, "bookkeeping": 1.5}
    rows = [line for line in _time_table("add a batch", spent, start=2.5, gx_import=2.0) if line.startswith("| ") and "---" not in line][1:]
    seconds = {row.split(" | ")[0].removeprefix("| "): float(row.split(" | ")[1]) for row in rows}
    assert seconds["`related_questions`"] == 6.0 and seconds["the 2 runs' own bookkeeping (Dagster creating, starting and ending each run, between its steps)"] == 1.5
    assert seconds["process start (the median timed alone, above)"] == 2.5
    assert seconds["Great Expectations' import (the median timed alone, above)"] == 2.0
    assert sum(seconds.values()) == 20.0  # the rest is what the other rows leave: 4.0 s
    assert any(name.startswith("the rest:") and value == 4.0 for name, value in seconds.items())


def test_report_block_is_replaced_and_the_prose_around_it_kept(tmp_path):
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import BEGIN, END, write_report

    out = tmp_path / "benchmarks.md"
    out.write_text(f"# Benchmarks\n\nintro\n\n{BEGIN}\nold\n{END}\n\n## Analysis\n\nkept\n", "utf-8")
    write_report(out, f"{BEGIN}\nnew\n{END}\n")
    text = out.read_text("utf-8")
    assert "old" not in text and "new" in text and text.startswith("# Benchmarks\n\nintro") and text.endswith("kept\n")


@pytest.mark.filterwarnings("ignore")  # bs4 warns about XHTML parsed as HTML
def test_lxml_reduction_is_identical_to_the_previous_bs4_one_on_generated_pages():
    pytest.importorskip("bs4")
    sys.path.insert(0, str(ROOT))
    from benchmarks.bs4_reference import html_to_text as bs4_html_to_text

    for serial in range(120):
        html = synth.render_html(synth.make_page(21, serial, 0, "html"))
        new, old = html_to_text(html), bs4_html_to_text(html)
        assert (new.text, new.url, new.link_targets) == (old.text, old.url, old.link_targets)


@pytest.mark.parametrize(
    "html",
    [
        "<p>a <b> b</b>\n  c<!-- x --> d</p>",  # whitespace collapses per text node, not across them
        "<body><p>in</p></body></html><p>after the end</p><main>late main</main>",  # content after </html>
        "<html class='ads'><body><p>x</p></body></html>",  # chrome on the root
        "<main class='share'><p>not main</p></main><article><a href=' /a '>link<br>two</a></article>",
        "<head><link rel='alternate canonical' href=''><meta property='og:url' content='/og'></head><p>x</p>",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>xhtml</p></body></html>",
        "<!-- only a comment -->",
        "<p>&nbsp;&amp;&#12354;\u3000全角</p><pre>  keep\n  runs  </pre>",
    ],
)
@pytest.mark.filterwarnings("ignore")
def test_lxml_reduction_is_identical_to_the_bs4_one_on_edge_cases(html):
    pytest.importorskip("bs4")
    sys.path.insert(0, str(ROOT))
    from benchmarks.bs4_reference import html_to_text as bs4_html_to_text

    new, old = html_to_text(html), bs4_html_to_text(html)
    assert (new.text, new.url, new.link_targets) == (old.text, old.url, old.link_targets)


# The parser's speed-ups replaced regexes and library calls by cheaper code: each must give exactly what
# it replaced (docs/benchmarks.md). Checked here against the originals on arbitrary text.

_TRICKY = st.text(
    alphabet=st.sampled_from(list("ab。？?.…‥．・\n\r\t\f \u3000\u00a0\u200b\x1f\x1c\x0b【[(（■●◆▼★☆<《]】１①第ｶﾞ\u3099\u0301é\ufffd\x00\x07")),
    max_size=60,
)


@given(_TRICKY)
def test_header_decoration_strip_equals_the_regex(text):
    from pipeline.core.page import _strip_header_decoration_before

    assert _strip_header_decoration_before(text) == re.sub(r"[\s【\[(（■●◆▼★☆<《]*$", "", text)


_COMPATIBILITY_TEXT = st.text(alphabet=st.sampled_from(list("Ａａ０（？！\u3000①⑳ｶﾞ\u3099\u0301\u0327éa。\n")), max_size=40)


@given(st.one_of(_TRICKY, _COMPATIBILITY_TEXT, st.text(max_size=80)))
def test_content_hash_normalisation_equals_the_original(text):
    from pipeline.core.page import _nfkc

    assert _nfkc(text) == unicodedata.normalize("NFKC", text)
    assert "".join(text.split()) == re.sub(r"\s+", "", text)


@given(st.one_of(_TRICKY, st.text(max_size=80)))
def test_html_space_collapse_equals_the_regex(text):
    from pipeline.core.html_text import _HTML_SPACE, _collapse_space

    assert _collapse_space(text) == _HTML_SPACE.sub(" ", text)


@given(st.one_of(_TRICKY, st.text(max_size=80)))
def test_normalise_text_equals_the_original(text):
    from pipeline.core.decode import normalise_text

    original = text.replace("\r\n", "\n").replace("\r", "\n")
    original = re.sub("[\u200b\u200c\u200d\u2060\ufeff]", "", original).translate({0xA0: " ", 0x09: " "})
    assert normalise_text(text) == original


@given(st.text(alphabet=st.sampled_from(list("あア漢a \n\t\x00\x01\x07\x0b\x1b\x1f\x7f")), max_size=300), st.sampled_from(["utf_8", "cp932", "euc_jp"]))
def test_control_character_bound_is_an_upper_bound(text, encoding):
    from pipeline.core.decode import _CONTROL_CHARS, _control_bytes, _control_chars_above

    data = text.encode(encoding)
    count = len(_CONTROL_CHARS.findall(text[:8192]))
    for limit in range(0, 10):
        if count > limit:
            assert _control_chars_above(limit, _control_bytes(data), text)


_MARKER_LINE = st.text(alphabet=st.sampled_from(list("0１9.．(（)）①⑳第一十条 ■◆□◇●【】・a。、")), min_size=1, max_size=12)


@given(st.one_of(_MARKER_LINE, st.text(min_size=1, max_size=20)))
def test_a_line_matches_only_the_marker_of_its_first_character(line):
    from pipeline.core.answer import _MARKERS

    matching = [marker for marker in _MARKERS if marker.pattern.match(line)]
    assert len(matching) <= 1  # so the order the markers of one first character are tried in changes nothing
    for marker in matching:
        assert line[0] in marker.first_chars


def test_to_dict_equals_dataclasses_asdict():
    import dataclasses

    from pipeline.core.page import parse_file

    for sample in sorted((ROOT / "raw" / "sample").iterdir()):
        result = parse_file(sample)
        expected = dataclasses.asdict(result) | {
            "headings": [dataclasses.asdict(h) for h in result.headings],
            "sections": [dataclasses.asdict(s) for s in result.sections],
            "related": [dataclasses.asdict(r) for r in result.related],
            "warnings": list(result.warnings),
        }
        assert result.to_dict() == expected and list(result.to_dict()) == list(expected)


@pytest.mark.slow
def test_parse_manifest_with_the_pool_gives_the_serial_table(tmp_path, monkeypatch):
    from pipeline.core import tables, workers

    synth.generate(tmp_path, 60, 2, html_share=0.3, seed=2)
    (tmp_path / synth.batch_name(0) / "broken.txt").write_bytes(b"\x00binary")  # rejects keep their place
    manifest = tables.raw_manifest(tmp_path)
    monkeypatch.setattr(tables, "_CHUNK_FILES", 7)  # several chunks on both workers
    serial = tables.parse_manifest(manifest, tmp_path, workers=1)
    monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", 0)
    pooled = tables.parse_manifest(manifest, tmp_path, workers=2)  # fork: no other thread here
    assert pooled.equals(serial) and pooled.num_rows == 61
    assert pooled["source"].num_chunks == 9 and _chunks(pooled) == _chunks(serial)  # so the same Parquet file
    assert pooled["source"].to_pylist() == manifest["source"].to_pylist()

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # another thread alive: the pool must use forkserver
    other.start()
    try:
        assert workers.pool_context().get_start_method() == "forkserver"
        assert tables.parse_manifest(manifest, tmp_path, workers=2).equals(serial)
    finally:
        stop.set()
        other.join()


def _chunks(table) -> list[list[int]]:
    return [[len(chunk) for chunk in column.chunks] for column in table.columns]


@given(st.one_of(_TRICKY, st.text(max_size=20)))
def test_line_filters_equal_the_regexes(text):
    from pipeline.core.answer import _BULLET_CHARS
    from pipeline.core.related import ELLIPSIS_LINE, content_lines

    expected = [line for line in (raw.strip() for raw in text.split("\n")) if line and not ELLIPSIS_LINE.match(line)]
    assert content_lines(text) == expected
    for line in expected:
        assert (line[:1] in _BULLET_CHARS) == (re.match(r"^[・\-‐－―*•◦▪]", line) is not None)


def test_parse_manifest_reads_other_storage_serially(tmp_path, monkeypatch):
    from upath import UPath

    from pipeline.core import tables, workers

    synth.generate(tmp_path, 12, 1, html_share=0.5, seed=4)
    memory = UPath("memory:///synth-parallel-check")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            (memory / path.relative_to(tmp_path)).write_bytes(path.read_bytes())
    monkeypatch.setattr(workers, "PARALLEL_MIN_PAGES", 0)
    monkeypatch.setattr(workers, "pool_context", lambda preload=(): pytest.fail("a pool on memory:// storage"))
    parsed = tables.parse_manifest(tables.raw_manifest(memory), memory, workers=2)
    assert parsed.num_rows == 12 and set(parsed["status"].to_pylist()) == {"ok"}


def _split_sentences_char_by_char(text: str) -> list[str]:
    """consultation.split_sentences as it was before it skipped to the next bracket or end by regex."""
    from pipeline.core.consultation import _CLOSERS, _OPENERS, _SENTENCE_END

    sentences: list[str] = []
    expected_closers: list[str] = []
    start = 0
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _OPENERS:
            expected_closers.append(_OPENERS[char])
        elif expected_closers and char == expected_closers[-1]:
            expected_closers.pop()
        elif char in _SENTENCE_END and not expected_closers:
            while i + 1 < n and (text[i + 1] in _SENTENCE_END or text[i + 1] in _CLOSERS):
                i += 1
            sentences.append(text[start : i + 1].strip())
            start = i + 1
        i += 1
    if tail := text[start:].strip():
        sentences.append(tail)
    return [sentence for sentence in sentences if sentence]


_SENTENCE_TEXT = st.text(alphabet=st.sampled_from(list("ab か。！？!?.「」『』（）()【】\"'\n\u3000…")), max_size=60)


@given(st.one_of(_SENTENCE_TEXT, _TRICKY, st.text(max_size=40)))
def test_sentence_split_equals_the_character_loop(text):
    from pipeline.core.consultation import split_sentences

    assert split_sentences(text) == _split_sentences_char_by_char(text)


@given(st.one_of(st.text(alphabet=st.sampled_from(list("背景として、,:：()（）【】。?」 \nab")), max_size=30), _TRICKY))
def test_background_marker_search_equals_the_regex_search(text):
    from pipeline.core.consultation import BACKGROUND_MARKER, find_background_marker

    found, expected = find_background_marker(text), BACKGROUND_MARKER.search(text)
    assert (found and found.span()) == (expected and expected.span())


_QUESTION_SENTENCE = re.compile(  # consultation.is_question as a regex, as it was written before
    r"(?:[?？]|か|ください|下さい|たい(?:です)?|(?:ほ|欲)しい(?:です)?|願います|お願いします|でしょうか|ですか|ますか)[」』)）]*[。.．]?[」』)）]*$"
)


@given(st.one_of(st.text(alphabet=st.sampled_from(list("かい?？」』)）。.．ください下たでほ欲しす願まお \n")), max_size=12), _TRICKY))
def test_question_test_equals_the_regex(sentence):
    from pipeline.core.consultation import is_question

    assert is_question(sentence) == (_QUESTION_SENTENCE.search(sentence.rstrip()) is not None)
