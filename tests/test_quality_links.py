"""Related-question graph and crawl frontier: each linking rule, its precedence, and the frontier."""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.core import schemas, tables
from pipeline.core.quality import frontier, links
from pipeline.core.quality.normalise import matching_key
from pipeline.core.schemas import MISSING_PAGES
from pipeline.core.schemas import RELATED_QUESTIONS as RELATED_QUESTIONS_LINKED
from tests.test_quality_support import answer, consultation, table, teaser

SITE = "https://houritsu.example/saiken"
LOAN_ANSWER = answer(
    "個人間の金銭の貸し借りでも、返済の約束があれば消費貸借契約が成立しています。",
    "借用書がなくても、振込記録やメッセージのやり取りが証拠になります。",
)
LOAN = consultation(
    "20240305060708-9",
    question="貸したお金を返してもらうにはどうすればよいですか?",
    background="Kさんは同僚に三十万円を貸しましたが、期限を過ぎても返済がありません。",
    answer_text=LOAN_ANSWER,
    aliases=["20240305060708-8"],  # the same content under a second site id
)
DEPOSIT = consultation(
    "h1a2b3c4d5e6f7a8b",
    title="敷金の返還について",
    question="敷金はいつまでに返してもらえるのでしょうか?",
    background="Lさんは先月アパートを退去しました。",
    answer_text=answer("敷金は、明渡しが完了した時点で返還請求権が発生すると考えられています。", "差し引かれる費用の内訳を確認しましょう。"),
    category="不動産・賃貸",
)
SHORT_QUESTION = consultation(
    "20240101000000-3",
    question="どうすればよいですか?",
    background="Mさんは隣家の木の枝が自宅の敷地に伸びてきて困っています。",
    answer_text=answer("ﾊﾞｲｸの駐輪場所をめぐる争いでも、まずは管理規約を確認することが出発点になります。", "次に話し合いを試みましょう。"),
    category="不動産・賃貸",
)


def link(*pages: dict, shown_on: str = "h9999999999999999", teasers: list[dict]) -> pa.Table:
    """Link the teasers shown on one referring page (with no content of its own in the corpus)."""
    referrer = consultation(shown_on, question="別の相談です。どうなりますか?", related=teasers)
    corpus = table([*pages, referrer])
    return tables.related_questions_table(corpus)


def targets(linked: pa.Table) -> list[tuple]:
    return list(zip(linked["target_page_id"].to_pylist(), linked["link_method"].to_pylist()))


def test_url_names_the_page_or_its_alias():
    linked = link(LOAN, teasers=[
        teaser("何か別の文言", "何か", url=f"{SITE}/20240305060708-9"),
        teaser("何か別の文言", "何か", url=f"{SITE}/20240305060708-9/?from=rec"),
    ])  # fmt: skip
    assert targets(linked) == [("20240305060708-9", "url")] * 2


def test_alias_id_in_url_resolves_to_the_kept_page():
    linked = link(LOAN, teasers=[teaser("何か別の文言", "何か", url=f"{SITE}/20240305060708-8")])
    assert targets(linked) == [("20240305060708-9", "url")]


def test_teaser_question_is_the_whole_consultation_in_either_order():
    background_first = "Kさんは同僚に30万円を貸しましたが、期限を過ぎても返済がありません。貸したお金を返してもらうにはどうすればよいですか？"
    question_first = "貸したお金を 返してもらうには どうすればよいですか? Kさんは同僚に三十万円を貸しましたが、期限を過ぎても返済がありません。"
    preview = LOAN_ANSWER[:39]
    linked = link(LOAN, teasers=[teaser(background_first, preview), teaser(question_first, "x")])
    # "30万円" is not "三十万円": the first only matches by containing the (long) question, which its preview confirms.
    assert targets(linked) == [("20240305060708-9", "question")] * 2


def test_contained_question_needs_the_preview_of_its_answer():
    # A question of 12+ characters can still be common: another page's consultation may contain it word for word.
    other_page = "Kさんは同僚に三十万円を貸しました。貸したお金を返してもらうにはどうすればよいですか？勤務先にも相談済みです。"
    linked = link(LOAN, teasers=[teaser(other_page, "同僚への貸付金は、まず借用書の有無を確かめて"), teaser(other_page, LOAN_ANSWER[:39])])
    assert targets(linked) == [(None, None), ("20240305060708-9", "question")]


def test_title_leads_the_consultation_text():
    linked = link(DEPOSIT, teasers=[teaser("敷金の返還について Lさんは先月アパートを退去しました。敷金はいつまでに返してもらえるのでしょうか。", "x")])
    assert targets(linked) == [("h1a2b3c4d5e6f7a8b", "question")]


def test_short_question_is_not_matched_by_containment_but_by_preview():
    # "どうすればよいですか" is in countless teasers: containment alone must not name this page.
    unrelated = teaser("Nさんは車をぶつけられました。どうすればよいですか?", "保険会社への連絡を先に")
    by_preview = teaser("Nさんは枝の越境に悩んでいます。どうすればよいですか?", "ﾊﾞｲｸの駐輪場所をめぐる争いでも、まずは管理規約を確認することが出発点にな")
    assert targets(link(SHORT_QUESTION, teasers=[unrelated, by_preview])) == [(None, None), ("20240101000000-3", "preview")]


def test_preview_cut_inside_a_half_width_voiced_kana_still_links():
    head = "駐輪場の使い方をめぐる争いでは、管理規約と使用細則の定めを確かめたうえで、各"
    assert len(head) == 38
    text = head + "ﾃﾞｰﾀや写真で状況を記録しましょう。\n\n" + answer()
    page = consultation("20240101000000-4", question="自転車の置き場所で揉めています。", answer_text=text)
    preview = text[:39]  # the site's cut: ﾃ without its ﾞ, which NFKC would have joined into デ
    assert not matching_key(text).startswith(matching_key(preview))
    assert targets(link(page, teasers=[teaser("言い換えた質問", preview), teaser("言い換えた質問", "駐輪場")])) == [
        ("20240101000000-4", "preview"),
        (None, None),  # too short to name a page
    ]


def test_url_outside_the_corpus_falls_back_to_the_text():
    linked = link(LOAN, teasers=[teaser("貸したお金を返してもらうにはどうすればよいですか?", "x", url=f"{SITE}/20990101000000-1")])
    assert targets(linked) == [("20240305060708-9", "question")]


def test_a_page_never_links_to_itself():
    own = consultation("20240305060708-9", question=LOAN["question"], background=LOAN["background"], answer_text=LOAN_ANSWER,
                       related=[teaser(LOAN["question"], LOAN_ANSWER[:39])])  # fmt: skip
    corpus = table([own])
    linked = tables.related_questions_table(corpus)
    assert targets(linked) == [(None, None)]


def test_same_question_on_two_pages_prefers_the_one_the_preview_confirms():
    twin = consultation("20240305060708-1", question=LOAN["question"], background=LOAN["background"], answer_text=answer())
    linked = link(twin, LOAN, teasers=[
        teaser(LOAN["background"] + LOAN["question"], LOAN_ANSWER[:39]),
        teaser(LOAN["background"] + LOAN["question"], "どちらの回答とも違う書き出しの文章です。"),
    ])  # fmt: skip
    assert targets(linked) == [("20240305060708-9", "question"), ("20240305060708-1", "question")]


def test_output_keeps_the_rows_and_reports_coverage():
    teasers = [
        teaser("何か別の文言", "何か", url=f"{SITE}/20240305060708-9"),
        teaser(DEPOSIT["question"], "x"),
        teaser("言い換えた質問", LOAN_ANSWER[:39]),
        teaser("コーパスにない相談です。", "どこにもない回答の書き出しです。"),
    ]
    referrer = consultation("h9999999999999999", question="別の相談です。どうなりますか?", related=teasers)
    corpus = table([LOAN, DEPOSIT, referrer])
    related = tables.related_questions_table(corpus)
    result = links.link_related(related, corpus)
    assert result.table.schema.equals(RELATED_QUESTIONS_LINKED)
    assert result.table.select(related.column_names).equals(related)
    assert result.table["link_method"].to_pylist() == ["url", "question", "preview", None]
    assert result.coverage == {
        "teasers": 4, "linked": 3, "linked_share": 0.75, "url_share": 0.25, "question_share": 0.25, "preview_share": 0.25,
    }  # fmt: skip


def test_teaser_table_has_one_row_per_teaser_by_page_then_position():
    first, second = teaser("一つ目", "a", url=f"{SITE}/20240305060708-9"), teaser("二つ目", "b", truncated=False)
    corpus = table([
        consultation("h1000000000000000", question="q1", related=[first, second]),
        consultation("h2000000000000000", question="q2"),
        consultation("h3000000000000000", question="q3", related=[second]),
    ])  # fmt: skip
    teasers = tables.explode(corpus, "related", "position", schemas.RELATED_QUESTIONS)
    assert teasers.column_names == schemas.RELATED_QUESTIONS.names[:6]
    assert teasers.to_pylist() == [
        {"page_id": "h1000000000000000", "position": 0, **first},
        {"page_id": "h1000000000000000", "position": 1, **second},
        {"page_id": "h3000000000000000", "position": 0, **second},
    ]
    assert tables.explode(table([]), "related", "position", schemas.RELATED_QUESTIONS).schema.equals(teasers.schema)


def test_a_teaser_on_one_of_several_pages_with_its_question_links_to_another():
    twins = [consultation(f"20240305060708-{n}", question=LOAN["question"], background=LOAN["background"]) for n in (1, 2)]
    # The preview confirms the referrer itself: the smallest of the other pages is left.
    shown_on_loan = {**LOAN, "related": [teaser(LOAN["background"] + LOAN["question"], LOAN_ANSWER[:39])]}
    linked = tables.related_questions_table(table([*twins, shown_on_loan]))
    assert targets(linked) == [("20240305060708-1", "question")]


def test_an_exact_match_on_the_referrer_alone_is_not_widened_to_contained_questions():
    # "返してもらうにはどうすればよいですか" is long enough to be contained, but the teaser is the referrer's own text.
    contained = consultation("20240101000000-5", question="返してもらうにはどうすればよいですか。", answer_text=DEPOSIT["answer"])
    shown_on_loan = {**LOAN, "related": [teaser(LOAN["question"] + LOAN["background"], "どちらの回答とも違う書き出しの文章です。")]}
    linked = tables.related_questions_table(table([contained, shown_on_loan]))
    assert targets(linked) == [(None, None)]


def test_preview_of_several_pages_takes_the_smallest_but_the_referrer():
    pages = [consultation(f"2024010100000{n}-1", question=f"質問{n}", answer_text=LOAN_ANSWER) for n in range(3)]
    pages[0]["related"] = [teaser("言い換えた質問", LOAN_ANSWER[:39])]
    pages[1]["related"] = [teaser("言い換えた質問", LOAN_ANSWER[:39])]
    assert targets(tables.related_questions_table(table(pages))) == [
        ("20240101000001-1", "preview"), ("20240101000000-1", "preview"),
    ]  # fmt: skip


def test_url_naming_the_referrer_links_to_it():
    own = {**LOAN, "related": [teaser("何か別の文言", "何か", url=f"{SITE}/20240305060708-8")]}
    assert targets(tables.related_questions_table(table([own]))) == [("20240305060708-9", "url")]


def test_preview_of_an_answer_that_starts_with_a_list_still_links():
    # Answers are keyed only as far as the previews need; this one keys to a character per two raw ones
    # (甲、乙、…), and the first cut tried falls between ﾊ and ﾞ, which NFKC joins into バ.
    text = "甲、乙、丙、丁、戊、己、庚、辛、壬、癸、子、、ﾊﾞｲｸの駐輪場所について。\n\n" + answer()
    page = consultation("20240101000000-6", question="駐輪場で揉めています。", answer_text=text)
    assert targets(link(page, teasers=[teaser("言い換えた質問", text[:26])])) == [("20240101000000-6", "preview")]


# --- linking again after pages change (links.relink) ------------------------------------------

# Few distinct words, so that teasers and pages share questions, previews and ids by accident as well.
_WORDS = ["敷金の返還", "残業代の請求", "隣人の騒音", "相続放棄の期限", "交通事故の示談", "解雇の撤回"]


def _random_targets(rng: random.Random, ids: list[str]) -> pa.Table:
    rows = []
    for page_id in ids:
        # some questions too short to be found inside a teaser's (MIN_CONTAINED_QUESTION): only an exact match finds them
        question = rng.choice(_WORDS) if rng.random() < 0.3 else "".join(rng.sample(_WORDS, rng.randint(1, 3))) + "について知りたいです"
        rows.append({
            "page_id": page_id,
            "aliases": [f"{page_id}a"] if rng.random() < 0.2 else [],
            "title_key": rng.choice(["", "相談"]),
            "question_key": question,
            "background_key": rng.choice(["", "先月のことです"]),
            "answer_head": rng.choice(_WORDS) + "は" + "".join(rng.sample(_WORDS, 2)) + "の問題として考えられます",
        })  # fmt: skip
    return pa.Table.from_pylist(rows, schema=links.TARGET_KEYS) if rows else links.TARGET_KEYS.empty_table()


def _random_teasers(rng: random.Random, referrers: list[str], targets: pa.Table) -> pa.Table:
    pages = targets.to_pylist()
    rows = []
    for referrer in referrers:
        for _ in range(3):
            page = rng.choice(pages) if pages and rng.random() < 0.7 else None
            previewed = rng.choice(pages) if pages and rng.random() < 0.7 else None  # often not the question's page
            rows.append({
                "page_id": referrer,
                "site_id": (page["page_id"] if page and rng.random() < 0.3 else rng.choice([None, "p99", "p3a"])),
                "question_key": page["question_key"] if page else "".join(rng.sample(_WORDS, 2)) + "について知りたいです",
                "preview_key": (previewed["answer_head"][: rng.randint(5, 40)] if previewed else rng.choice(_WORDS) + "は困ります"),
            })  # fmt: skip
    plain = pa.schema([field.with_type(pa.string()) for field in links.TEASER_KEYS])
    table = pa.Table.from_pylist(rows, schema=plain)
    return pa.Table.from_arrays([table["page_id"], *(pc.dictionary_encode(table[name]) for name in table.column_names[1:])], schema=links.TEASER_KEYS)


@pytest.mark.parametrize("seed", range(40))
def test_linking_again_after_pages_change_gives_the_links_of_linking_everything(seed: int):
    rng = random.Random(seed)
    ids = [f"p{n}" for n in range(rng.randint(0, 12))]
    before_targets = _random_targets(rng, ids)
    teasers = _random_teasers(rng, ids, before_targets)
    before = links.link(teasers, before_targets)
    # Pages removed, changed and added; the teasers of some pages are new (their links not known before).
    kept = [page for page in before_targets.to_pylist() if rng.random() < 0.7]
    changed_ids = [page["page_id"] for page in kept if rng.random() < 0.2]
    remade = _random_targets(rng, changed_ids).to_pylist()
    # New ids sort before the old ones (n) or after them (q), as a page of the same question may come first or not.
    added = _random_targets(rng, [f"{rng.choice('nq')}{n}" for n in range(rng.randint(0, 4))]).to_pylist()
    unchanged = [page for page in kept if page["page_id"] not in changed_ids]
    now_targets = pa.Table.from_pylist(unchanged + remade + added, schema=links.TARGET_KEYS)
    removed_or_old = [page for page in before_targets.to_pylist() if page["page_id"] not in {p["page_id"] for p in unchanged}]
    changed = pa.Table.from_pylist(removed_or_old + remade + added, schema=links.TARGET_KEYS)
    known = np.array([rng.random() < 0.8 for _ in range(teasers.num_rows)], dtype=bool)

    again, linked_again = links.relink(teasers, now_targets, before, known, changed)

    assert again.equals(links.link(teasers, now_targets))
    assert linked_again >= int((~known).sum())


def _targets(*pages: tuple[str, str, str]) -> pa.Table:
    """TARGET_KEYS of (page_id, question_key, answer_head) pages without title, background or aliases."""
    rows = [{"page_id": page_id, "aliases": [], "title_key": "", "question_key": question, "background_key": "", "answer_head": head}
            for page_id, question, head in pages]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=links.TARGET_KEYS)


def _teasers(*rows: tuple[str, str, str]) -> pa.Table:
    """TEASER_KEYS of (referrer, question_key, preview_key) teasers without a url."""
    columns = list(zip(*rows))
    return pa.Table.from_arrays(
        [pa.array(columns[0]), pc.dictionary_encode(pa.nulls(len(rows), pa.string())), *(pc.dictionary_encode(pa.array(c)) for c in columns[1:])],
        schema=links.TEASER_KEYS,
    )


def test_a_teaser_linked_by_a_contained_question_moves_to_a_new_page_that_is_its_question_whole():
    contained = "敷金の返還について知りたいです"  # long enough to be found inside a teaser's question
    head = "敷金は原状回復費用を差し引いて返還されます"
    before_targets = _targets(("p0", "解雇の撤回について知りたいです", "解雇は無効です"), ("p1", contained, head))
    teasers = _teasers(("p0", "相続放棄の期限" + contained, head[:20]))
    before = links.link(teasers, before_targets)
    assert before.to_pylist() == [{"target_page_id": "p1", "link_method": "question"}]
    added = _targets(("q1", "相続放棄の期限" + contained, "期限は三か月です"))  # the teaser's question whole, a later id
    now = pa.concat_tables([before_targets, added])

    again, linked_again = links.relink(teasers, now, before, np.ones(1, dtype=bool), added)

    assert again.to_pylist() == links.link(teasers, now).to_pylist() == [{"target_page_id": "q1", "link_method": "question"}]
    assert linked_again == 1


def test_relinking_a_few_teasers_asks_the_corpus_only_about_their_keys(monkeypatch: pytest.MonkeyPatch):
    # A filtered dictionary column keeps every value of the dictionary: the link must index the corpus for the
    # keys of the teasers it links again, not for every key of the corpus's teasers.
    targets = _targets(("p1", "退職金の計算方法を知りたいです", "退職金は勤続年数で決まります"), ("p2", "敷金の返還について教えてください", "敷金は返還されます"))
    teasers = _teasers(
        ("p0", "退職金の計算方法を知りたいです", "退職金は勤続年数で"), ("p0", "敷金の返還について教えてください", "敷金は返還されま"),
    )  # fmt: skip
    before = links.link(teasers, targets)
    added = _targets(("p3", "退職金の計算方法を知りたいです", "退職金の額は就業規則によります"))
    asked = []
    index_corpus = links._index_corpus
    monkeypatch.setattr(links, "_index_corpus", lambda targets, *keys: asked.append(keys[1]) or index_corpus(targets, *keys))

    again, linked_again = links.relink(teasers, pa.concat_tables([targets, added]), before, np.ones(2, dtype=bool), added)

    assert linked_again == 1 and asked[-1] == ["退職金の計算方法を知りたいです"]
    assert again.to_pylist() == links.link(teasers, pa.concat_tables([targets, added])).to_pylist()


def test_matching_key_folds_width_space_and_punctuation():
    assert matching_key("Ｋさんは、 ３０万円を\n貸しました！「返して」…") == "Kさんは30万円を貸しました返して"


def test_teaser_keys_hold_each_key_once_so_parquet_keeps_them_a_dictionary():
    # Two spellings of one question (full-width digits, a comma) key alike; the url without a site id is no key.
    related = pa.table({
        "page_id": ["p1", "p2", "p3", "p4"],
        "url": [f"{SITE}/20240101000000-1", None, f"{SITE}/about", f"{SITE}/20240101000000-1"],
        "question": ["家賃を３か月滞納しました、どうなりますか", "家賃を3か月滞納しました。どうなりますか", "別の質問です", None],
        "preview": ["退去を求められる", "退去を求められる", "別の回答", "退去を"],
    })  # fmt: skip
    keys = links.teaser_keys(related)

    for name in ("site_id", "question_key", "preview_key"):
        dictionary = keys[name].chunk(0).dictionary if isinstance(keys[name], pa.ChunkedArray) else keys[name].dictionary
        assert len(pc.unique(dictionary)) == len(dictionary) and dictionary.null_count == 0
    assert keys["question_key"].to_pylist() == ["家賃を3か月滞納しましたどうなりますか"] * 2 + ["別の質問です", None]
    assert keys["site_id"].to_pylist() == ["20240101000000-1", None, None, "20240101000000-1"]


# --- frontier ----------------------------------------------------------------------------------

MISSING_URL = f"{SITE}/20231111111111-2"
MISSING_QUESTION = "Pさんは友人の保証人になりました。責任を負うのでしょうか?"


def frontier_of(pages: dict[str, list[dict]]) -> pa.Table:
    corpus = table([consultation(page, question=f"{page}の相談です。どうなりますか?", related=items) for page, items in pages.items()])
    return frontier.missing_pages(tables.related_questions_table(corpus))


def test_frontier_groups_by_url_and_joins_text_dumps_by_question():
    missing = frontier_of({
        "h2000000000000000": [teaser(MISSING_QUESTION, "保証人は、主たる債務者が", url=MISSING_URL)],
        "h1000000000000000": [teaser("Pさんは友人の保証人になりました。責任を負うのでしょうか？", "保証人は")],  # text dump
        "h3000000000000000": [teaser("Qさんの退職金の相談です。", "退職金は"), teaser(MISSING_QUESTION, "保証人は", url=MISSING_URL)],
    })  # fmt: skip
    assert missing.schema.equals(MISSING_PAGES)
    rows = missing.to_pylist()
    assert [(r["key"], r["url"], r["n_referrers"], r["referrers"]) for r in rows] == [
        (MISSING_URL, MISSING_URL, 3, ["h1000000000000000", "h2000000000000000", "h3000000000000000"]),
        ("Qさんの退職金の相談です", None, 1, ["h3000000000000000"]),
    ]
    # The representative texts come from the first referrer in (page_id, position) order.
    assert rows[0]["question"].endswith("？") and rows[0]["preview"] == "保証人は"


def test_a_text_dump_joins_the_url_its_first_referrer_with_a_url_shows_for_its_question():
    other_url = f"{SITE}/20231111111111-9"  # the site shows two pages with the same question
    missing = frontier_of({
        "h3000000000000000": [teaser(MISSING_QUESTION, "三番目", url=other_url)],
        "h1000000000000000": [teaser(MISSING_QUESTION, "一番目")],  # text dump
        "h2000000000000000": [teaser("Qさんの相談です。", "q"), teaser(MISSING_QUESTION, "二番目", url=MISSING_URL)],
    })  # fmt: skip
    rows = {row["key"]: (row["preview"], row["referrers"]) for row in missing.to_pylist()}
    assert rows[MISSING_URL] == ("一番目", ["h1000000000000000", "h2000000000000000"])
    assert rows[other_url] == ("三番目", ["h3000000000000000"])


def test_frontier_leaves_out_linked_teasers_and_orders_ties_by_key():
    missing = frontier_of({
        "h1000000000000000": [teaser("Rさんの相談です。", "r"), teaser("h2000000000000000の相談です。どうなりますか?", "x")],
        "h2000000000000000": [teaser("Sさんの相談です。", "s")],
    })  # fmt: skip
    assert missing["key"].to_pylist() == ["Rさんの相談です", "Sさんの相談です"]


def test_frontier_csv_lists_url_or_question_with_counts(tmp_path):
    missing = frontier_of({
        "h1000000000000000": [teaser(MISSING_QUESTION, "p", url=MISSING_URL), teaser("Tさんは、家を買いました。", "t")],
        "h2000000000000000": [teaser(MISSING_QUESTION, "p", url=MISSING_URL)],
    })  # fmt: skip
    text = frontier.frontier_csv(missing)
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["target", "n_referrers"], [MISSING_URL, "2"], ["Tさんは、家を買いました。", "1"],
    ]  # fmt: skip


@pytest.mark.parametrize("rows", [[]])
def test_empty_inputs_give_empty_tables(rows):
    corpus = table(rows)
    linked = tables.related_questions_table(corpus)
    assert linked.num_rows == 0 and links.link_coverage(linked)["linked_share"] == 0.0
    assert frontier.missing_pages(linked).schema.equals(MISSING_PAGES)
