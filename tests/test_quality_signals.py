"""Matching keys and quality signals: added as columns, the scraped text untouched."""

from __future__ import annotations

import pytest

from pipeline.core.quality.normalise import matching_key, matching_keys
from pipeline.core.quality.signals import SIGNAL_FIELDS
from pipeline.core.quality.signals import add_signals
from tests.test_quality_support import consultation, table, teaser

HEADINGS = [{"level": 1, "number": None, "text": "はじめに"}, {"level": 2, "number": "1", "text": "確認"}]


def signals(**fields) -> dict:
    row = consultation("h0000000000000001", **fields)
    return add_signals(table([row])).to_pylist()[0]


def test_signals_are_appended_and_the_text_stays_as_scraped():
    row = consultation("h0000000000000001", question="Ｘさんは、 退職金を　もらえますか？")
    result = add_signals(table([row]))
    assert result.column_names == [*table([row]).column_names, *(field.name for field in SIGNAL_FIELDS)]
    assert result.schema.field("kana_share").type == SIGNAL_FIELDS[7].type
    assert result["question"][0].as_py() == "Ｘさんは、 退職金を　もらえますか？"
    assert result["question_key"][0].as_py() == "Xさんは退職金をもらえますか"


def test_counts():
    found = signals(
        question="残業代は請求できますか?",
        answer_text="あいう\n\n漢字ABC",
        headings=HEADINGS,
        related=[teaser("q", "p")] * 3,
        warnings=["no_related_block"],
    )
    assert (found["question_chars"], found["answer_chars"]) == (12, 10)
    assert (found["n_headings"], found["n_sections"], found["n_related"], found["n_warnings"]) == (2, 1, 3, 1)


def test_script_shares_are_of_the_answers_visible_characters():
    # 3 hiragana + 2 katakana (with ー) + 1 half-width katakana, 2 kanji (with 々), 2 ASCII, 1 full-width digit.
    found = signals(question="q?", answer_text="あいう カー\u3000ｱ\n\n人々 AB ２")
    assert found["kana_share"] == pytest.approx(6 / 11)
    assert found["kanji_share"] == pytest.approx(2 / 11)
    assert found["ascii_share"] == pytest.approx(2 / 11)


def test_script_classes_end_where_their_ranges_end():
    kana = "\u3040\u3041\u309f\u30a0\u30ff\uff65\uff66\uff9f\uffa0"  # 6: 3041-309F, 30A0-30FF, FF66-FF9F
    kanji = "\u33ff\u3400\u4dbf\u4dc0\u4e00\u9fff\ua000\uf8ff\uf900\ufaff\ufb00\u3004\u3005\u3006\U00020bb7"  # 7
    ascii_ = "\x20\x21\x7e\x7f"  # 2: ! and ~
    # 8 spaces: RE2's \s is [\t\n\f\r ] (no \v), \p{Z} adds U+00A0, U+3000, U+2028; U+200B and U+FEFF are no spaces.
    spaces = "\t\n\x0b\x0c\r\xa0\u3000\u2028\u200b\ufeff"
    found = signals(question="q?", answer_text=kana + kanji + ascii_ + spaces)
    assert (found["kana_share"], found["kanji_share"], found["ascii_share"]) == (6 / 30, 7 / 30, 2 / 30)


def test_rows_keep_their_signals_across_batches():
    rows = [consultation(f"h{i:016x}", question="q?", answer_text="あ" * i + "A") for i in range(2500)]
    found = add_signals(table(rows))
    assert found["kana_share"].to_pylist() == [i / (i + 1) for i in range(2500)]
    assert found["answer_chars"].to_pylist() == [i + 1 for i in range(2500)]
    assert add_signals(table([])).column_names == found.column_names


def test_keys_are_null_safe_and_identical_for_width_and_spacing_variants():
    keys = matching_keys(table([consultation("h0000000000000001", question="x?")])["background"]).to_pylist()
    assert keys == [None]
    assert matching_key("「敷金」は 返ってきますか？") == matching_key("敷金は返ってきますか?") == "敷金は返ってきますか"
    assert matching_key("ﾃﾞｰﾀ・ＡＢＣ") == "データABC"  # ・ is punctuation; half-width kana are joined
