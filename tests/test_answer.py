"""Headings, list items and sections of the answer."""

import pytest

from pipeline.core.answer import structure_answer
from pipeline.core.record import Heading, Section

BODY = "契約の内容を確認し、相手方と話し合うことが大切です。"


def headings_of(*lines):
    return structure_answer(list(lines)).headings


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("はじめに", Heading(1, None, "はじめに")),
        ("法的な規制", Heading(1, None, "法的な規制")),
        ("1.契約内容の確認", Heading(2, "1", "契約内容の確認")),
        ("1. 証拠を保全する", Heading(2, "1", "証拠を保全する")),
        ("２．専門家への相談", Heading(2, "2", "専門家への相談")),
        ("(3) 支払督促", Heading(3, "3", "支払督促")),
        ("（2）少額訴訟", Heading(3, "2", "少額訴訟")),
        ("2) 証拠の保全", Heading(3, "2", "証拠の保全")),  # a numbered line, not an unnumbered title
        ("３）和解", Heading(3, "3", "和解")),
        ("①内容証明郵便", Heading(3, "1", "内容証明郵便")),
        ("第2 損害の範囲", Heading(1, "2", "損害の範囲")),
        ("第三 時効", Heading(1, "3", "時効")),
        ("第十二 まとめ", Heading(1, "12", "まとめ")),
        ("第二十一　結論", Heading(1, "21", "結論")),
        ("第1章 総論", Heading(1, "1", "総論")),
        # 第 + a number + a counter is a word (the third party, the first instance), not a numbered heading.
        ("第三者への対抗要件", Heading(1, None, "第三者への対抗要件")),
        ("第一審の判決", Heading(1, None, "第一審の判決")),
        ("第1回の支払い", Heading(1, None, "第1回の支払い")),
        ("第十一回の期日", Heading(1, None, "第十一回の期日")),
        ("■借地借家法", Heading(1, None, "借地借家法")),
        ("●交渉の進め方", Heading(2, None, "交渉の進め方")),
        ("【注意点】", Heading(1, None, "注意点")),
        ("(2)", Heading(3, "2", "(2)")),
        ("□費用の目安", Heading(1, None, "費用の目安")),
        ("◇手続きの流れ", Heading(1, None, "手続きの流れ")),
        # A decimal or an article number is no heading number: the line is a title as written.
        ("2.5倍の請求", Heading(1, None, "2.5倍の請求")),
        ("第709条の要件", Heading(1, None, "第709条の要件")),
    ],
)
def test_heading_forms(line, heading):
    assert headings_of("前置きの段落です。", line, BODY) == (heading,)


@pytest.mark.parametrize(
    "line",
    [
        "・請求書の写し",
        "- 相手方の住所を確認する",
        "1. 事前の説明: 事業者は、契約前に重要事項を説明する必要があります。",
        "第1条により、契約は書面で締結します。",
        "このため、早めに専門家へ相談することをお勧めします。",
        "「返金してほしい」",
        "https://example.go.jp/soudan/",  # a link given on its own line opened a section
        "http://example.jp/faq",
        "* 印鑑証明書",
        "• 住民票の写し",
        "2. 書面で通知します。期限に注意",  # a sentence inside: a list item, though it does not end as one
        "ところが…",
        "1. 相手方が支払いに応じない場合に裁判所へ申し立てる手続きの流れと必要な費用や期間の目安および注意点",  # > 40
        "相手方が支払いに応じない場合に裁判所へ申し立てる手続きの流れと費用",  # > 30, unnumbered
    ],
)
def test_not_headings(line):
    assert headings_of("前置きの段落です。", line, BODY) == ()


def test_run_of_numbered_lines_without_body_is_a_list():
    assert headings_of("必要な書類は次のとおりです。", "1. 契約書", "2. 領収書", "3. 見積書", BODY) == ()
    assert headings_of("必要な書類は次のとおりです。", "1) 契約書", "2) 領収書", BODY) == ()


def test_run_of_short_unnumbered_lines_is_a_list():
    assert headings_of("持参するもの", "印鑑", "身分証", BODY) == ()


def test_numbered_headings_with_body_between_are_headings():
    found = headings_of("1.交渉", BODY, "2.調停", BODY, "3.訴訟", BODY)
    assert [h.number for h in found] == ["1", "2", "3"]


def test_title_then_numbered_heading_are_both_headings():
    found = headings_of("対処の手順", "1. 証拠を集める", BODY)
    assert found == (Heading(1, None, "対処の手順"), Heading(2, "1", "証拠を集める"))


def test_last_line_is_never_a_heading():
    assert headings_of(BODY, "以上") == ()


def test_sections_have_intro_with_null_heading_and_bodies_joined_by_blank_line():
    answer = structure_answer(["導入の段落です。", "まとめ", "一つ目の段落です。", "二つ目の段落です。"])
    assert answer.sections == (
        Section(None, "導入の段落です。"),
        Section("まとめ", "一つ目の段落です。\n\n二つ目の段落です。"),
    )
    assert answer.text == "導入の段落です。\n\nまとめ\n\n一つ目の段落です。\n\n二つ目の段落です。"


def test_no_intro_section_when_answer_starts_with_a_heading():
    answer = structure_answer(["はじめに", BODY])
    assert answer.sections == (Section("はじめに", BODY),)


def test_numbered_headings_of_two_styles_in_a_row_are_a_heading_and_its_subheading():
    found = headings_of("前置きの段落です。", "1. 契約の確認", "(1) 書面の有無", BODY)
    assert found == (Heading(2, "1", "契約の確認"), Heading(3, "1", "書面の有無"))
