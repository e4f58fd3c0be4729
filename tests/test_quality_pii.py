"""PII: each kind found in its written forms, look-alikes left alone, redaction of a consultations table."""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter

import pandas as pd
import pyarrow as pa
import pytest

from pipeline.core import schemas, validation
from pipeline.core.quality import pii
from pipeline.core.quality.pii import PII_COUNT_FIELDS
from tests.test_quality_support import answer, consultation, table, teaser

FOUND = [
    ("email", "連絡は yamada.taro+soudan@example.co.jp までお願いします。", "連絡は <EMAIL> までお願いします。"),
    ("email", "ｓｕｚｕｋｉ＠ｅｘａｍｐｌｅ．ｊｐに送りました。", "<EMAIL>に送りました。"),
    ("phone", "事務所の番号は03-1234-5678です。", "事務所の番号は<PHONE>です。"),
    ("phone", "大阪の窓口06-6123-4567へ", "大阪の窓口<PHONE>へ"),
    ("phone", "045-123-4567に折り返してください", "<PHONE>に折り返してください"),
    ("phone", "本店0123-45-6789まで", "本店<PHONE>まで"),
    ("phone", "(03)1234-5678", "<PHONE>"),
    ("phone", "電話は03(1234)5678です", "電話は<PHONE>です"),
    ("phone", "携帯090-1234-5678に", "携帯<PHONE>に"),
    ("phone", "080 1234 5678", "<PHONE>"),
    ("phone", "07012345678", "<PHONE>"),
    ("phone", "連絡先は03.1234.5678です", "連絡先は<PHONE>です"),
    ("phone", "090.1234.5678", "<PHONE>"),
    ("phone", "０９０．１２３４．５６７８まで", "<PHONE>まで"),
    ("phone", "０９０－１２３４－５６７８へ", "<PHONE>へ"),
    ("phone", "０３（１２３４）５６７８", "<PHONE>"),
    ("phone", "０９０ー１２３４ー５６７８", "<PHONE>"),
    ("phone", "フリーダイヤル0120-123-456", "フリーダイヤル<PHONE>"),
    ("phone", "0120123456", "<PHONE>"),
    ("phone", "0312345678", "<PHONE>"),
    ("phone", "海外からは+81-3-1234-5678へ", "海外からは<PHONE>へ"),
    ("phone", "+81 90 1234 5678", "<PHONE>"),
    ("phone", "＋８１（０）９０－１２３４－５６７８に", "<PHONE>に"),
    ("phone", "+81(0)45-123-4567", "<PHONE>"),
    ("phone", "+819012345678", "<PHONE>"),
    ("phone", "+81 120-123-456", "<PHONE>"),
    ("phone", "(+81)3-1234-5678", "<PHONE>"),
    ("postal", "〒100-0001 東京都千代田区", "<POSTAL> 東京都千代田区"),
    ("postal", "〒１００－０００１", "<POSTAL>"),
    ("postal", "郵便番号は530-0001です", "郵便番号は<POSTAL>です"),
    ("postal", "〒５３００００１", "<POSTAL>"),
    ("postal", "５３０－０００１\n", "<POSTAL>\n"),
    ("phone", "電話\n090-1234-5678\n", "電話\n<PHONE>\n"),
    ("url", "詳しくは https://www.example.go.jp/guide/page.html。", "詳しくは <URL>。"),
    ("url", "www.example.or.jp/faq?q=1&x=2、を参照", "<URL>、を参照"),
    ("phone", "IP電話050-1234-5678へ", "IP電話<PHONE>へ"),
    ("phone", "0800-123-4567", "<PHONE>"),
    ("phone", "ナビダイヤル0570-123-456", "ナビダイヤル<PHONE>"),
    ("postal", "〒 530-0001", "<POSTAL>"),
    ("url", "旧サイト http://example.jp/old/ も", "旧サイト <URL> も"),
    ("url", "案内は https://example.jp/faq.", "案内は <URL>."),  # the sentence's period is not the URL's
]

LEFT_ALONE = [
    "令和6年2024-01-15に契約しました。",
    "請求額は1,000,000円です。",
    "民法第709条に基づく損害賠償",
    "2024年4月1日から施行されました。",
    "ページ 20240102030405-7 の相談",
    "12345678円を支払いました。",
    "令和5年(ワ)第1234号事件",
    "03-1234-56789",  # one digit too many for a phone number
    "平成30年の3-4月",
    "0-1-2345",
    "1090-1234-5678",  # a digit before, in either width
    "１０９０－１２３４－５６７８",
    "０９０－１２３４－５６７８９",
    "03123456789",
    "-530-0001",  # a hyphen next to a bare postal code
    "530-0001－",
    "0120-123-4567",
    "+81-3-1234-56789",
    "+8190123456789",
    "前年比+81%の増加",
    "2024.01.15に締結",  # dates and versions written with dots
    "192.168.10.1",
    "金利は0.5%です",
]

# Where the lookaround and the RE2 form of a pattern could part: text edges, newlines, digits and hyphens
# next to a number in both widths, candidates that overlap or follow each other.
EDGES = [
    "090-1234-5678",
    "1090-1234-5678",
    "03.1234.5678.",
    "1.03.1234.5678",
    "090-1234-56789",
    "０９０－１２３４－５６７８９",
    "電話\n090-1234-5678\n",
    "x03-1234-5678\n1",
    "1(03)1234-5678",
    "03)1234-5678(",
    "530-0001",
    "-530-0001",
    "530-0001－",
    "５３０－０００１\n",
    "〒530-00012",
    "045-123-4567",
    "090-1234-5678-9",
    "03-1234-5678と06-1234-5678",
    "https://example.jp/tel/0312345678",
    "mail@www.example.jp",
    "a@b.c",
    "+81-90-1234-5678\n",
    "1+81-90-1234-5678",
    "+81-90-1234-5678-9",
    "",
    "\n",
]


@pytest.mark.parametrize(("kind", "text", "redacted"), FOUND)
def test_pii_is_found_and_replaced(kind, text, redacted):
    assert pii.redact(text) == (redacted, {kind: 1})
    assert re.search(pii.PII_CHECK_REGEX, text)


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_dates_amounts_articles_and_ids_are_left_alone(text):
    assert pii.redact(text) == (text, {})
    assert not re.search(pii.PII_CHECK_REGEX, text)


def test_a_url_holding_digits_is_one_url_and_a_mail_domain_no_url():
    assert pii.redact("https://houritsu.example/c/20240102030405-7?tel=0312345678") == ("<URL>", {"url": 1})
    assert pii.redact("info@www.example.jp") == ("<EMAIL>", {"email": 1})


def test_check_regex_works_with_pandas_without_warnings():
    texts = pd.Series([text for _, text, _ in FOUND] + LEFT_ALONE + [None], dtype="string")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas warns on capturing groups in str.contains
        matched = texts.str.contains(pii.PII_CHECK_REGEX, regex=True)
    assert matched.tolist()[: len(FOUND)] == [True] * len(FOUND)
    assert matched.tolist()[len(FOUND) : -1] == [False] * len(LEFT_ALONE)


def test_the_check_holds_exactly_where_redaction_finds_something():
    found = [bool(pii.redact(text)[1]) for text in EDGES]
    assert True in found and False in found
    assert [bool(re.search(pii.PII_CHECK_REGEX, text)) for text in EDGES] == found
    assert pd.Series(EDGES, dtype="str").str.contains(pii.PII_CHECK_REGEX, regex=True).tolist() == found


def test_pandas_runs_the_check_with_pyarrow():
    # Lookarounds (or $ on texts with newlines) send pandas to Python re, text by text: 40 times slower.
    texts = pd.array(["電話\n03-1234-5678"], dtype="str")
    assert not texts._needs_python_regex(pii.PII_CHECK_REGEX)


def test_every_suite_checks_pii_with_the_fragment_of_this_module():
    checked = []
    for path in sorted(validation.EXPECTATIONS_DIR.glob("*.json")):
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            if expectation.get("meta", {}).get("label") == "pii":
                assert expectation == pii.pii_expectations((expectation["kwargs"]["column"],))[0], path.name
                checked.append((path.stem, expectation["kwargs"]["column"]))
    assert [column for suite, column in checked if suite == "consultations"] == list(schemas.PII_TEXT_COLUMNS)


def test_placeholders_do_not_match_the_check():
    redacted = [pii.redact(text)[0] for _, text, _ in FOUND]
    assert not any(re.search(pii.PII_CHECK_REGEX, text) for text in redacted)


def rows() -> list[dict]:
    return [
        consultation(
            "20240101000000-1",
            title="〒100-0001の住所について",
            question="知らない番号090-1111-2222から何度も電話があります。どうすればよいですか?",
            background="相手はmail@example.comからもメールを送ってきます。電話は03-1111-2222からも来ます。",
            answer_text=answer("着信拒否の設定をしましょう。", "相談窓口 https://www.example.go.jp/soudan を利用できます。"),
            headings=[{"level": 1, "number": None, "text": "窓口 0120-111-222"}],
            related=[teaser("別の人の相談 06-1111-2222", "回答の書き出し")],
        ),
        consultation("20240101000000-2", question="個人情報を含まない質問ですか?", background=None),
    ]


def test_redact_consultations_counts_per_page_and_redacts_nested_copies():
    redacted = pii.redact_consultations(table(rows()))
    first, second = redacted.to_pylist()
    assert (first["pii_email"], first["pii_phone"], first["pii_postal"], first["pii_url"]) == (1, 2, 1, 1)
    assert (second["pii_email"], second["pii_phone"], second["pii_postal"], second["pii_url"]) == (0, 0, 0, 0)
    assert first["title"] == "<POSTAL>の住所について"
    assert first["question"] == "知らない番号<PHONE>から何度も電話があります。どうすればよいですか?"
    assert first["background"] == "相手は<EMAIL>からもメールを送ってきます。電話は<PHONE>からも来ます。"
    assert first["sections"][0]["body"] == first["answer"] and "<URL>" in first["answer"]
    assert first["headings"][0]["text"] == "窓口 <PHONE>"
    assert first["related"][0]["question"] == "別の人の相談 <PHONE>"
    assert second["question"] == "個人情報を含まない質問ですか?" and second["background"] is None
    assert redacted.column_names[-4:] == [field.name for field in PII_COUNT_FIELDS]
    assert not any(name.endswith("_original") for name in redacted.column_names)
    assert pii.pii_totals(redacted) == {"email": 1, "phone": 2, "postal": 1, "url": 1}


def test_a_table_in_several_chunks_is_redacted_text_by_text():
    rows = [
        consultation(
            f"h{i:016x}",
            question=text or "?",
            background=text,
            answer_text=f"{text}です。",
            headings=[{"level": 1, "number": None, "text": text}],
            related=[teaser(text, text)],
        )
        for i, text in enumerate(EDGES)
    ]
    whole = table(rows)
    chunked = pa.concat_tables([whole.slice(0, 7), whole.slice(7)]).slice(1)  # two chunks, an offset
    for row, text in zip(pii.redact_consultations(chunked).to_pylist(), EDGES[1:], strict=True):
        texts = (row["question"], row["background"], row["answer"])
        expected = [pii.redact(original) for original in (text or "?", text, f"{text}です。")]
        assert texts == tuple(redacted for redacted, _ in expected)
        assert {kind: row[f"pii_{kind}"] for kind in schemas.PII_KINDS} == {
            kind: sum((counts for _, counts in expected), Counter())[kind] for kind in schemas.PII_KINDS
        }
        assert row["headings"][0]["text"] == row["background"] == row["related"][0]["question"] == row["related"][0]["preview"]
        assert row["sections"][0]["body"] == row["answer"]


def test_originals_of_redacted_pages_only():
    original = table(rows())
    kept = pii.pii_originals(original, pii.redact_consultations(original))
    assert kept.schema.equals(schemas.PII_ORIGINALS)
    assert kept["question"].to_pylist() == original["question"].to_pylist()[:1]  # the second page has no PII


def test_expectation_fragment_names_each_column_with_the_check_regex():
    fragment = pii.pii_expectations(("question", "answer"))
    assert [(e["type"], e["kwargs"]["column"]) for e in fragment] == [
        ("expect_column_values_to_not_match_regex", "question"),
        ("expect_column_values_to_not_match_regex", "answer"),
    ]
    assert {e["kwargs"]["regex"] for e in fragment} == {pii.PII_CHECK_REGEX}
