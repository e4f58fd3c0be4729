"""The GX suites in expectations/ run for real (no mocks) on small frames built from the schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.core import validation
from pipeline.core.schemas import CONSULTATIONS, DATASETS, RELATED_QUESTIONS, REJECTS, SECTIONS
from pipeline.core.validation import (
    EXPECTATIONS_DIR,
    PartCheck,
    Revision,
    SuiteRun,
    build_suite,
    load_suite_spec,
    suite_columns,
    validate,
)

SUITES = sorted(path.stem for path in EXPECTATIONS_DIR.glob("*.json"))
ANSWER = "ご相談の件について、まず契約書の内容を確認する必要があります。" * 4 + "\n\nまとめ\n\n早めに専門家へ相談しましょう。"
TEASER = "隣人の騒音がひどく何度注意しても改善されない場合にどのような手段が取れるでしょ"  # 39 characters, as the site cuts them


# --- building rows from the schemas -----------------------------------------------------------


def _default(field: pa.Field) -> Any:
    """A value of the field's type: nullable fields stay null, lists empty, strings a placeholder."""
    if field.nullable:
        return None
    if pa.types.is_list(field.type):
        return []
    if pa.types.is_string(field.type):
        return f"{field.name}-value"
    if pa.types.is_integer(field.type):
        return 0
    if pa.types.is_floating(field.type):
        return 0.5
    if pa.types.is_boolean(field.type):
        return False
    raise TypeError(f"add a default for {field.name}: {field.type}")


def row_for(schema: pa.Schema, **values: Any) -> dict[str, Any]:
    """One row with every schema field (so new columns show up here), overridden by values."""
    unknown = set(values) - set(schema.names)
    assert not unknown, f"not in the schema: {unknown}"
    return {field.name: _default(field) for field in schema} | values


def consultation_row(n: int = 1, **values: Any) -> dict[str, Any]:
    """A consultation that passes its suite; n varies the page id."""
    return row_for(
        CONSULTATIONS,
        page_id=f"20240315093000-{n}",
        url=f"https://example.invalid/相続/20240315093000-{n}",
        category="個人情報保護・情報漏洩",
        title="顧客名簿が流出した場合の責任",
        question="会社はどのような責任を負いますか?",
        background="従業員が顧客名簿を持ち出しました。",
        answer=ANSWER,
        batch="sample",
        source=f"sample/page{n}.txt",
        sha256="0" * 64,
        encoding="utf-8",
        format="text",
        parser_version="1.0.0",
    ) | values


def table(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def consultations_with(bad: dict[str, Any]) -> pa.Table:
    """Three rows; the middle one (position 1) carries the bad values."""
    rows = [consultation_row(1), consultation_row(2, **bad), consultation_row(3)]
    return table(CONSULTATIONS, rows)


def failed_names(report) -> list[str]:
    return [outcome.name for outcome in report.failed()]


# --- consultations ----------------------------------------------------------------------------


def test_valid_consultations_pass():
    hashed_id = consultation_row(2, page_id="h0123456789abcdef", title=None, background=None)
    rows = [consultation_row(1), hashed_id]
    report = validate("consultations", table(CONSULTATIONS, rows))
    assert report.success, [o.detail for o in report.failed()]
    assert report.failing_rows() == {}
    assert len({o.name for o in report.outcomes}) == len(report.outcomes), "outcome names must be unique"


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"question": None}, "expect_column_values_to_not_be_null(question)"),
        ({"answer": ANSWER + "\n\n" + TEASER + "..."}, "expect_column_values_to_not_match_regex(answer, teaser_ending)"),
        ({"answer": ANSWER + "\n" + TEASER + "…"}, "expect_column_values_to_not_match_regex(answer, teaser_ending)"),
        ({"answer": ANSWER + "\n" + TEASER + "・・・"}, "expect_column_values_to_not_match_regex(answer, teaser_ending)"),
        ({"answer": ANSWER + "\n\nおすすめ法律相談\n\n解約について"}, "expect_column_values_to_not_match_regex(answer, recommendation_block)"),
        ({"page_id": "page-2"}, "expect_column_values_to_match_regex(page_id)"),
        ({"page_id": "20240315-2"}, "expect_column_values_to_match_regex(page_id)"),
        ({"answer": "弁護士に相談してください。"}, "expect_column_value_lengths_to_be_between(answer)"),
        ({"question": "?"}, "expect_column_value_lengths_to_be_between(question)"),
        ({"category": "会社の情報が漏れました。"}, "expect_column_values_to_match_regex(category)"),
        ({"category": "個人 情報"}, "expect_column_values_to_match_regex(category)"),
        ({"title": "顧客名簿が流出した場合の..."}, "expect_column_values_to_not_match_regex(title, trailing_ellipsis)"),
        ({"background": "従業員が持ち出し…"}, "expect_column_values_to_not_match_regex(background, trailing_ellipsis)"),
        ({"format": "pdf"}, "expect_column_values_to_be_in_set(format)"),
        ({"encoding": "latin-1"}, "expect_column_values_to_be_in_set(encoding)"),
    ],
)
def test_bad_consultation_row_fails_its_expectation_at_its_position(bad, expected):
    report = validate("consultations", consultations_with(bad))
    assert failed_names(report) == [expected]
    rows = report.failing_rows()
    assert list(rows) == [1]
    assert [o.name for o in rows[1]] == [expected]
    assert rows[1][0].row_level and rows[1][0].unexpected_rows == (1,)


@pytest.mark.parametrize(
    "answer",
    [
        # a last paragraph longer than a teaser may end in an ellipsis
        ANSWER + "\n\n" + "相手方が話し合いに応じない場合には家庭裁判所に調停を申し立てることも考えられますが、その前にできることとして...",
        # a teaser-length line that is not the last line
        ANSWER + "\n\n" + TEASER + "...\n\n以上のとおりです。",
    ],
)
def test_answer_endings_that_are_not_teasers_pass(answer):
    assert len(TEASER) == 39
    assert validate("consultations", consultations_with({"answer": answer})).success


def test_duplicate_page_ids_report_both_rows():
    rows = [consultation_row(1), consultation_row(2), consultation_row(1, source="sample/copy.txt")]
    report = validate("consultations", table(CONSULTATIONS, rows))
    assert failed_names(report) == ["expect_column_values_to_be_unique(page_id)"]
    assert list(report.failing_rows()) == [0, 2]


def test_rows_are_positions_even_for_a_dataframe_with_another_index():
    frame = consultations_with({"question": None}).to_pandas()
    frame.index = [10, 20, 30]
    report = validate("consultations", frame)
    assert list(report.failing_rows()) == [1]


def test_detail_names_the_column_and_quotes_the_value():
    report = validate("consultations", consultations_with({"page_id": "page-2"}))
    (outcome,) = report.failed()
    assert outcome.column == "page_id"
    assert "page_id" in outcome.detail and "page-2" in outcome.detail and "1 of 3" in outcome.detail


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_column_set_mismatch_is_a_table_level_failure(change):
    valid = table(CONSULTATIONS, [consultation_row(1), consultation_row(2)])
    if change == "extra":
        changed = valid.append_column("notes", pa.array(["a", "b"]))
    else:
        changed = valid.drop_columns(["url"])  # no other expectation reads url
    report = validate("consultations", changed)
    (outcome,) = report.failed()
    assert outcome.expectation_type == "expect_table_columns_to_match_set"
    assert not outcome.row_level and outcome.unexpected_rows == ()
    assert ("notes" if change == "extra" else "url") in outcome.detail
    assert report.failing_rows() == {}


def test_missing_column_that_the_suite_reads_blames_no_row():
    valid = table(CONSULTATIONS, [consultation_row(1), consultation_row(2)])
    report = validate("consultations", valid.drop_columns(["answer"]))
    failed = report.failed()
    assert "expect_table_columns_to_match_set()" in [o.name for o in failed]
    assert all(o.column in (None, "answer") for o in failed)
    assert report.failing_rows() == {}


def test_empty_table_passes():
    assert validate("consultations", CONSULTATIONS.empty_table()).success


# --- the other datasets -----------------------------------------------------------------------


def test_valid_side_tables_pass():
    page = "20240315093000-1"
    sections = [
        row_for(SECTIONS, page_id=page, section_index=i, heading=heading, body="本文です。")
        for i, heading in enumerate([None, "まとめ"])
    ]
    related = [
        row_for(RELATED_QUESTIONS, page_id=page, question="解約できますか", preview="契約の解約", truncated=True)
    ]
    rejects = [
        row_for(REJECTS, source="sample/empty.txt", stage="parse", reject_reason="empty_file", reject_detail="0 bytes")
    ]
    assert validate("sections", table(SECTIONS, sections)).success
    assert validate("related_questions", table(RELATED_QUESTIONS, related)).success
    assert validate("rejects", table(REJECTS, rejects)).success


GOOD_SIDE_ROWS = {
    "sections": {"page_id": "p", "section_index": 0, "body": "本文"},
    "related_questions": {"page_id": "p", "question": "解約?", "preview": "解約"},
    "rejects": {"stage": "parse", "reject_reason": "empty_file"},
}


@pytest.mark.parametrize(
    ("dataset", "bad", "expected"),
    [
        ("sections", {"section_index": -1}, "expect_column_values_to_be_between(section_index)"),
        ("sections", {"body": "本文\nおすすめ法律相談"}, "expect_column_values_to_not_match_regex(body, recommendation_block)"),
        ("sections", {"heading": "おすすめ法律相談"}, "expect_column_values_to_not_match_regex(heading, recommendation_block)"),
        ("related_questions", {"question": "解"}, "expect_column_value_lengths_to_be_between(question)"),
        ("related_questions", {"position": -1}, "expect_column_values_to_be_between(position)"),
        ("related_questions", {"preview": "おすすめ法律相談"}, "expect_column_values_to_not_match_regex(preview, recommendation_block)"),
        ("rejects", {"stage": "load"}, "expect_column_values_to_be_in_set(stage)"),
        ("rejects", {"reject_reason": "Empty File"}, "expect_column_values_to_match_regex(reject_reason)"),
        ("rejects", {"reject_detail": None}, "expect_column_values_to_not_be_null(reject_detail)"),
    ],
)
def test_bad_side_table_row_fails_its_expectation(dataset, bad, expected):
    schema, good = DATASETS[dataset], GOOD_SIDE_ROWS[dataset]
    rows = [row_for(schema, **good), row_for(schema, **(good | bad))]
    report = validate(dataset, table(schema, rows))
    assert failed_names(report) == [expected]
    assert list(report.failing_rows()) == [1]


# --- the suite files themselves ---------------------------------------------------------------


def test_every_schema_dataset_that_is_written_has_a_suite():
    assert {"consultations", "sections", "related_questions", "rejects"} <= set(SUITES)
    assert set(SUITES) <= set(DATASETS)


@pytest.mark.parametrize("dataset", SUITES)
def test_suite_file_is_reviewable_and_loads_into_gx(dataset):
    import great_expectations as gx

    spec = json.loads((EXPECTATIONS_DIR / f"{dataset}.json").read_text(encoding="utf-8"))
    assert spec["name"] == dataset and spec["meta"]["notes"]
    for expectation in spec["expectations"]:
        assert set(expectation) == {"type", "kwargs", "meta"} and expectation["meta"]["why"]
        # dtypes belong to the pyarrow schemas: GX type checks misjudge pandas 3 strings
        assert "type" not in expectation["type"].removeprefix("expect_")
        # the class must exist in GX and accept exactly these kwargs (pydantic forbids extras)
        class_name = "".join(part.title() for part in expectation["type"].split("_"))
        getattr(gx.expectations, class_name)(**expectation["kwargs"])
    suite = build_suite(load_suite_spec(dataset))
    assert len(suite.expectations) == len(spec["expectations"])


@pytest.mark.parametrize("dataset", SUITES)
def test_suite_column_set_is_the_schema(dataset):
    spec = load_suite_spec(dataset)
    expectations = spec["expectations"]
    (column_set,) = [e["kwargs"]["column_set"] for e in expectations if e["type"] == "expect_table_columns_to_match_set"]
    assert column_set == DATASETS[dataset].names
    read = {e["kwargs"]["column"] for e in expectations if "column" in e["kwargs"]}
    assert read <= set(column_set)


def test_a_missing_suite_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="parsed_pages"):
        validate("parsed_pages", pd.DataFrame(), suites_dir=tmp_path)


def test_validation_prints_no_progress_bars(capfd):
    validate("consultations", consultations_with({"question": None}))
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err
    assert out == "" and err == ""


def test_gx_does_not_hash_the_frames_it_checks(monkeypatch: pytest.MonkeyPatch):
    """The fingerprint GX takes of a batch (a hash of the whole frame, for its batch markers) is switched off:
    it was up to 70% of a check. A failing rule is still found."""
    validation.import_gx()
    from great_expectations.execution_engine import pandas_execution_engine

    def hashed(frame):
        raise AssertionError("GX hashed the frame")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", hashed)
    report = validate("consultations", consultations_with({"question": None}))
    assert [o.name for o in report.failed()] == ["expect_column_values_to_not_be_null(question)"]


def test_gx_import_defers_scipy_stats_until_something_uses_it():
    """GX imports scipy.stats (≈ 1 s of its import) for distribution expectations our suites do not have: in a
    fresh process, importing GX and running every suite leave it unrun, and it works once used."""
    script = (
        "import sys\n"
        "from pipeline.core.schemas import DATASETS\n"
        "from pipeline.core.validation import import_gx, validate\n"
        "import_gx()\n"
        f"for name in {SUITES!r}:\n"
        "    validate(name, DATASETS[name].empty_table())\n"
        "print('scipy.stats._stats_py' in sys.modules)\n"
        "from scipy import stats\n"
        "print(round(float(stats.entropy([0.5, 0.5])), 6), 'scipy.stats._stats_py' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=EXPECTATIONS_DIR.parent)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "0.693147", "True"]


@pytest.mark.parametrize("as_frame", [False, True], ids=["arrow", "pandas"])
def test_a_table_validated_in_slices_gets_the_report_of_one_run(monkeypatch: pytest.MonkeyPatch, as_frame):
    rows = [consultation_row(n) for n in range(1, 8)]
    rows[1] |= {"question": None}  # first slice
    rows[5] |= {"page_id": "page-6", "category": "x"}  # third slice, two rules
    rows[6] |= {"page_id": rows[0]["page_id"]}  # a duplicate of a row in another slice
    whole = table(CONSULTATIONS, rows)
    data = whole.to_pandas() if as_frame else whole
    one_run = validate("consultations", data)
    size = data.memory_usage(index=False).sum() if as_frame else whole.nbytes
    monkeypatch.setattr("pipeline.core.validation.SLICE_BYTES", 2 * size / len(rows))  # two rows a slice
    sliced = validate("consultations", data)
    assert sliced.failing_rows().keys() == one_run.failing_rows().keys() == {0, 1, 5, 6}
    assert sliced.outcomes == one_run.outcomes  # names, verdicts, rows and details (counts, samples)


def test_a_check_read_back_from_its_memo_gives_the_same_report():
    """A kept part (parts.py) brings its stored check: counted in, it reports as the check run now would."""
    good = pa.Table.from_pylist([consultation_row(1), consultation_row(2)], schema=CONSULTATIONS)
    bad = pa.Table.from_pylist([consultation_row(3, answer=ANSWER + "\n" + TEASER + "...")], schema=CONSULTATIONS)
    ran, replayed = SuiteRun("consultations"), SuiteRun("consultations")
    for part in (good, bad):
        check = ran.check(part)
        ran.add(part, check)
        memo = json.loads(json.dumps(check.to_memo()))  # as stored: JSON in the part's file
        replayed.add(part.select(replayed.whole_table_columns), PartCheck.from_memo("consultations", memo))
    assert replayed.report() == ran.report()
    assert not replayed.report().success
    assert replayed.report().failing_rows().keys() == {2}  # positions count across parts


def _related_part(n: int, links: list[tuple[str | None, str | None]]) -> pa.Table:
    rows = [
        row_for(RELATED_QUESTIONS, page_id=f"20240315093000-{n}", position=i, question=f"質問その{i}ですか", preview="解約について",
                target_page_id=target, link_method=method)
        for i, (target, method) in enumerate(links)
    ]  # fmt: skip
    return table(RELATED_QUESTIONS, rows)


GOOD_LINK, NO_LINK, BAD_ID, BAD_METHOD = ("20240101000000-9", "question"), (None, None), ("page-9", "question"), ("20240101000000-9", "guess")


@pytest.mark.parametrize(
    ("before", "now"),
    [
        # links moved in a few rows, every row valid
        ([GOOD_LINK] * 6 + [NO_LINK] * 2, [GOOD_LINK] * 3 + [NO_LINK] * 3 + [GOOD_LINK] * 2),
        # failures fixed, failures made, failures kept in rows that did not change
        ([BAD_ID, GOOD_LINK, BAD_METHOD, GOOD_LINK, BAD_ID, NO_LINK], [GOOD_LINK, BAD_ID, BAD_METHOD, BAD_METHOD, BAD_ID, BAD_ID]),
        # more failing rows than a detail quotes, the first ones fixed: the samples come from rows further on
        ([BAD_ID] * 8, [GOOD_LINK] * 4 + [BAD_ID] * 4),
    ],
    ids=["moved", "fixed-and-made", "samples-further-on"],
)
def test_a_recheck_of_changed_rows_gives_the_check_of_the_whole_part(before, now):
    """Parts whose links moved (tables.related_parts): only their changed rows are checked, every part's in one
    run, merged with the stored check; the memos are those of checking each revised part whole."""
    run = SuiteRun("related_questions")
    parts_before = [_related_part(1, before), _related_part(2, list(reversed(before)))]
    parts_now = [_related_part(1, now), _related_part(2, list(reversed(now)))]
    link_columns = ["target_page_id", "link_method"]
    revisions = []
    for part_before, part_now in zip(parts_before, parts_now):
        stored = PartCheck.from_memo("related_questions", json.loads(json.dumps(run.check(part_before).to_memo())))
        moved = [i for i, (a, b) in enumerate(zip(part_before.select(link_columns).to_pylist(), part_now.select(link_columns).to_pylist())) if a != b]
        revisions.append(Revision(stored, part_now.select(link_columns), np.array(moved, dtype=np.int64)))
    rechecked = run.recheck(revisions)
    assert [check.to_memo() for check in rechecked] == [run.check(part).to_memo() for part in parts_now]


def test_a_recheck_runs_gx_once_for_every_part(monkeypatch: pytest.MonkeyPatch):
    run = SuiteRun("related_questions")
    parts = [_related_part(n, [GOOD_LINK, NO_LINK]) for n in range(5)]
    revisions = [Revision(run.check(part), part.select(["target_page_id", "link_method"]), np.array([0])) for part in parts]
    runs = []
    original = validation.run_suite
    monkeypatch.setattr(validation, "run_suite", lambda spec, positions, frame: runs.append(len(frame)) or original(spec, positions, frame))
    run.recheck(revisions)
    assert runs == [5]  # one run, on the one changed row of each part


def test_the_heaviest_column_checked_in_its_own_run_gives_the_report_of_one_run(monkeypatch: pytest.MonkeyPatch):
    rows = [consultation_row(n) for n in range(1, 5)]
    rows[1] |= {"answer": ANSWER + "\n" + TEASER + "..."}  # fails a rule on the heavy column
    rows[2] |= {"category": "x", "question": None}  # fails rules on the others
    whole = table(CONSULTATIONS, rows)
    monkeypatch.setattr("pipeline.core.validation.SPLIT_MIN_BYTES", 0)  # as if the answers were megabytes
    run = SuiteRun("consultations")
    assert [columns for _, columns in run._runs(whole, run._sliced)][0] == ["answer"]  # the answer is most of the bytes
    split = validate("consultations", whole)
    one_run = lambda self, part, positions: [(positions, suite_columns({"expectations": [self._spec["expectations"][i] for i in positions]}))]  # noqa: E731
    monkeypatch.setattr(SuiteRun, "_runs", one_run)
    assert validate("consultations", whole).outcomes == split.outcomes
    assert split.failing_rows().keys() == {1, 2}


def test_validation_leaves_no_thread_behind():
    """A worker pool forks only from a process without other threads (workers.py): GX's hidden tqdm bars
    must not start tqdm's monitor thread."""
    import threading

    validate("sections", table(SECTIONS, [row_for(SECTIONS, page_id="20240315093000-1", section_index=0)]))
    assert [thread.name for thread in threading.enumerate() if "tqdm" in thread.name or "monitor" in thread.name] == []


def test_a_run_lists_failing_rows_by_running_again_only_what_failed(monkeypatch: pytest.MonkeyPatch):
    """A clean frame takes one GX run without row indices; a failing one a second run of its failed expectations
    with them, and the results are those of one COMPLETE run of the whole suite."""
    spec = load_suite_spec("consultations")
    positions = list(range(len(spec["expectations"])))
    columns = suite_columns(spec)
    clean = validation.frame_for_gx(table(CONSULTATIONS, [consultation_row(n) for n in range(1, 4)]), columns)
    rows = [consultation_row(n) for n in range(1, 6)]
    rows[1] |= {"answer": ANSWER + "\n" + TEASER + "..."}
    rows[3] |= {"category": "x", "question": None}
    failing = validation.frame_for_gx(table(CONSULTATIONS, rows), columns)
    runs: list[tuple[str, int]] = []
    original = validation._validate
    monkeypatch.setattr(
        validation, "_validate", lambda suite, frame, kind: runs.append((kind, len(suite.expectations))) or original(suite, frame, kind)
    )

    validation.run_suite(spec, positions, clean)
    assert runs == [("BASIC", len(positions))]

    runs.clear()
    two_runs = [validation.to_outcome(result) for result in validation.run_suite(spec, positions, failing)]
    one_run = [validation.to_outcome(result) for result in original(build_suite(spec), failing, "COMPLETE")]
    assert runs == [("BASIC", len(positions)), ("COMPLETE", 3)]  # the answer's teaser, the category's pattern, the question null
    assert two_runs == one_run
    assert {row for outcome in two_runs for row in outcome.unexpected_rows} == {1, 3}


# --- expectations on the whole table, whatever parts it arrives in -----------------------------


def _suite_with(tmp_path, *extra: dict[str, Any]) -> str:
    """The consultations suite with these expectations added, in tmp_path (a user's edit of the suite)."""
    spec = load_suite_spec("consultations")
    spec["expectations"] += [{"meta": {"why": "a user's rule"}, **expectation} for expectation in extra]
    (tmp_path / "consultations.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return "consultations"


def test_a_row_count_maximum_judges_the_whole_table_not_each_part(tmp_path):
    """Two batches of one page each: every part has a row, the table has two, over the maximum of one."""
    dataset = _suite_with(tmp_path, {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 1}})
    run = SuiteRun(dataset, suites_dir=tmp_path)
    for n in (1, 2):
        run.add(table(CONSULTATIONS, [consultation_row(n)]))
    report = run.report()
    assert failed_names(report) == ["expect_table_row_count_to_be_between()"]
    assert "observed 2" in report.failed()[0].detail
    assert report.failing_rows() == {}


ONE_RUN_CASES = {
    "row count": {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 7}},
    "row count equal": {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 8}},
    "column max": {"type": "expect_column_max_to_be_between", "kwargs": {"column": "kana_share", "min_value": 0.5}},
    "column mean": {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "kana_share", "min_value": 0.25}},
    "distinct values": {"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "category", "max_value": 1}},
    "z-scores": {"type": "expect_column_value_z_scores_to_be_less_than", "kwargs": {"column": "kana_share", "threshold": 1.5, "double_sided": True}},
    "increasing": {"type": "expect_column_values_to_be_increasing", "kwargs": {"column": "kana_share"}},
    "mostly": {"type": "expect_column_values_to_be_between", "kwargs": {"column": "kanji_share", "max_value": 0.5, "mostly": 0.5}},
    "column pair": {"type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "batch", "column_B": "category"}},
}


@pytest.mark.parametrize("case", sorted(ONE_RUN_CASES))
def test_a_suite_run_in_parts_gives_the_report_of_one_run_on_the_whole_table(tmp_path, case, monkeypatch: pytest.MonkeyPatch):
    """Every expectation that is not row by row (a row count, a column's aggregate, a share of rows, rows compared
    with one another, two columns) judges the table made of every part: each case gets another verdict on a part or
    slice than on the table. Kept parts (their checks read back from memos, their files read for the whole-table
    columns) too."""
    dataset = _suite_with(tmp_path, ONE_RUN_CASES[case])
    shares = [0.1, 0.9, 0.2, 0.8, 0.1, 0.1, 0.1, 0.1]
    rows = [consultation_row(n, kana_share=share, kanji_share=share, category=f"分野{n % 2}", batch="分野1") for n, share in enumerate(shares, 1)]
    parts = [table(CONSULTATIONS, rows[:2]), table(CONSULTATIONS, rows[2:])]
    whole = pa.concat_tables(parts)
    spec = load_suite_spec(dataset, tmp_path)
    one_run = [validation.to_outcome(r) for r in validation.run_suite(spec, range(len(spec["expectations"])), validation.frame_for_gx(whole, whole.column_names))]

    monkeypatch.setattr("pipeline.core.validation.SLICE_BYTES", whole.nbytes / len(shares))  # a row a slice
    ran, replayed = SuiteRun(dataset, suites_dir=tmp_path), SuiteRun(dataset, suites_dir=tmp_path)
    for part in parts:
        check = ran.check(part)
        ran.add(part, check)
        memo = json.loads(json.dumps(check.to_memo()))
        replayed.add(part.select(replayed.whole_table_columns), PartCheck.from_memo(dataset, memo, suites_dir=tmp_path))
    assert list(ran.report().outcomes) == one_run
    assert replayed.report() == ran.report()
    assert validate(dataset, whole, suites_dir=tmp_path).outcomes == ran.report().outcomes


@pytest.mark.parametrize("dataset", SUITES)
def test_the_shipped_suites_read_no_more_of_every_part_than_their_uniqueness_columns(dataset):
    """The whole-table path reads its columns of every stored part: only the keys, never a text column."""
    expectations = load_suite_spec(dataset)["expectations"]
    unique = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
    keys = [c for e in expectations if e["type"] in unique for c in [e["kwargs"].get("column"), *e["kwargs"].get("column_list", [])] if c]
    assert SuiteRun(dataset).whole_table_columns == keys


def test_only_single_column_map_expectations_and_the_column_set_run_part_by_part():
    """The row-wise list names GX's own single-column map expectations (a row judged alone), and none that compares
    rows with one another; a type missing from both lists runs on the whole table."""
    from great_expectations.expectations.expectation import ColumnMapExpectation

    gx = validation.import_gx()
    classes = {kind: getattr(gx.expectations, "".join(part.title() for part in kind.split("_"))) for kind in validation.ROW_WISE_TYPES | validation.COLUMN_SET_TYPES}
    assert all(issubclass(classes[kind], ColumnMapExpectation) for kind in validation.ROW_WISE_TYPES)
    assert not any(issubclass(classes[kind], ColumnMapExpectation) for kind in validation.COLUMN_SET_TYPES)
    assert not {"expect_column_values_to_be_unique", "expect_column_values_to_be_increasing", "expect_column_value_z_scores_to_be_less_than"} & validation.ROW_WISE_TYPES
    column = {"column": "a"}
    assert not validation.runs_whole({"type": "expect_column_values_to_not_be_null", "kwargs": column})
    assert validation.runs_whole({"type": "expect_column_values_to_not_be_null", "kwargs": column | {"mostly": 0.9}})
    assert validation.runs_whole({"type": "expect_column_values_to_be_made_up", "kwargs": column})
