"""parse_page: boilerplate removal, fields, identity, and rejections that never raise."""

import dataclasses
import hashlib
import os
import threading

import pytest

from pipeline.core.html_text import MAX_DEPTH
from pipeline.core.page import parse_file, parse_page
from tests.pages import ANSWER_LINES, CATEGORY, make_html, make_page


def parse_text(text: str, **kwargs):
    return parse_page(text.encode("utf-8"), "test.txt", **kwargs)


def test_fields_of_a_well_formed_page():
    result = parse_text(make_page())
    assert result.status == "ok"
    assert result.category == CATEGORY
    assert result.question == "退去時の原状回復費用はどこまで負担すべきでしょうか?"
    assert result.background.startswith("Pさんは五年間")
    assert result.answer == "\n\n".join(ANSWER_LINES)
    assert [h.text for h in result.headings] == ["はじめに", "契約書の特約を確認する", "見積もりの内訳を求める", "まとめ"]
    assert [item.truncated for item in result.related] == [True, True]
    assert result.related[1].preview.endswith("判断が分かれます。")
    assert result.warnings == ()
    assert result.format == "text" and result.encoding == "utf-8"
    assert result.sha256 == hashlib.sha256(make_page().encode()).hexdigest()


@pytest.mark.parametrize("blank_lines", [0, 1, 2, 4])
def test_blank_line_variations_give_the_same_record(blank_lines):
    reference = parse_text(make_page(blank_lines=1))
    result = parse_text(make_page(blank_lines=blank_lines))
    assert (result.question, result.answer, result.headings, result.sections, result.related) == (
        reference.question,
        reference.answer,
        reference.headings,
        reference.sections,
        reference.related,
    )


def test_lone_ellipsis_line_is_dropped_and_optional():
    assert parse_text(make_page(ellipsis_line=False)).answer == parse_text(make_page()).answer


def test_recommendation_block_and_teasers_never_reach_the_answer():
    result = parse_text(make_page())
    assert "おすすめ法律相談" not in result.answer
    assert "家賃の増額" not in result.answer
    assert not result.answer.endswith("...")


def test_real_sentence_ending_in_ellipsis_stays_in_the_answer():
    lines = [*ANSWER_LINES, "最終的には当事者の話し合い次第ですが、早めに動くに越したことはありません..."]
    result = parse_text(make_page(answer_lines=lines))
    assert result.answer.endswith("越したことはありません...")


def test_decorated_or_inline_block_header_is_cut():
    page = make_page().replace("おすすめ法律相談", "【おすすめ法律相談】")
    assert parse_text(page).answer == parse_text(make_page()).answer
    inline = make_page(related_lines=[]).rstrip("\n") + "おすすめ法律相談 関係ない質問ですか?\n途中で切れた回答..."
    assert "おすすめ" not in parse_text(inline).answer


def test_no_related_block_is_a_warning():
    result = parse_text(make_page(related_lines=[]))
    assert result.related == ()
    assert "no_related_block" in result.warnings


def test_topic_only_consultation_warns_no_question_sentence():
    result = parse_text(make_page(consultation="賃貸借契約の更新条項に不備があるかもしれない"))
    assert result.question == "賃貸借契約の更新条項に不備があるかもしれない"
    assert "no_question_sentence" in result.warnings


def test_title_on_its_own_line():
    consultation = "Rさんの敷金返還の場合\nRさんは退去後二か月たっても敷金が返ってきません。請求するにはどうすればよいですか?"
    result = parse_text(make_page(consultation=consultation))
    assert result.title == "Rさんの敷金返還の場合"
    assert result.question == "請求するにはどうすればよいですか?"
    assert result.answer.startswith("原状回復の範囲")


@pytest.mark.parametrize("mark", ["...", "…"])
def test_a_title_the_site_cut_is_the_title_not_part_of_the_story(mark):
    """In place of the lone '...' line: a long title cut by the site, as it cuts teasers."""
    consultation = f"退去のときに壁紙の張替え費用を全額求められ{mark}\nTさんは五年住んだ部屋を退去しました。全額を払う必要はありますか?"
    result = parse_text(make_page(consultation=consultation, ellipsis_line=False))
    assert result.title == f"退去のときに壁紙の張替え費用を全額求められ{mark}"
    assert (result.question, result.background) == ("全額を払う必要はありますか?", "Tさんは五年住んだ部屋を退去しました。")
    assert result.answer.startswith(ANSWER_LINES[0])


def test_a_line_the_asker_trailed_off_is_no_title():
    """Askers type ・・・ themselves: such a line followed by a story is the consultation, as before."""
    consultation = "退去費用のことで悩んでいます・・・\nTさんは五年住んだ部屋を退去しました。全額を払う必要はありますか?"
    result = parse_text(make_page(consultation=consultation, ellipsis_line=False))
    assert result.title is None and result.background.startswith("退去費用のことで悩んでいます・・・")


def test_background_on_its_own_line_joins_the_consultation():
    consultation = "更新料は払わなければなりませんか?\n(背景)Sさんは二年ごとの更新で家賃一か月分を求められています。"
    result = parse_text(make_page(consultation=consultation))
    assert result.background == "Sさんは二年ごとの更新で家賃一か月分を求められています。"
    assert result.answer.startswith("原状回復の範囲")


def test_text_page_id_is_a_stable_hash_of_content():
    a, b = parse_text(make_page()), parse_text(make_page(blank_lines=4))
    assert a.page_id == b.page_id and a.page_id.startswith("h") and len(a.page_id) == 17
    assert parse_text(make_page(consultation="別の相談内容ですか?")).page_id != a.page_id


def test_html_page_id_comes_from_canonical_url():
    html = make_html(make_page())
    result = parse_page(html.encode("utf-8"), "p.html")
    assert result.url == "https://houritsu.example/fudosan/20240102030405-7"
    assert result.page_id == "20240102030405-7"
    assert result.format == "html"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"  \n\r\n ", "empty_file"),
        ("\u3000\u3000\n".encode(), "empty_file"),
        (" \u00a0\u200b\n\u3000".encode("utf-8-sig"), "empty_file"),
        ("\u3000\r\n".encode("cp932"), "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary_content"),
        (bytes(range(128, 256)) * 4, "undecodable"),
        ("<html><head><title>x</title></head><body><nav>メニュー</nav><footer>フッター</footer></body></html>".encode(), "no_content"),
        ("これはカテゴリではなく長い文章から始まるページです。質問はありますか?\n\n回答です。".encode(), "no_category"),
        # A bot check or maintenance notice in the site's shapes: its first line is a sentence, not a category.
        (("アクセスが集中しています\nロボットによる操作でないことをご確認ください\n" + "時間をおいて再度お試しください。" * 10).encode(), "no_category"),
        (make_html("ただいまメンテナンス中です\n再開までお待ちください\n" + "ご不便をおかけしますがご了承ください。" * 10, url=None).encode(), "no_category"),
        # Other notices in those shapes: not found, please wait, finished, stopped.
        (("ページが見つかりません\nアドレスが変わった可能性があります\n" + "トップページからお探しください。" * 10).encode(), "no_category"),
        (("しばらくお待ちください\n混雑のため表示に時間がかかっています\n" + "このままお待ちいただけます。" * 10).encode(), "no_category"),
        (("受付は終了しました\n多数のご相談をいただいています\n" + "次回の受付をお待ちください。" * 10).encode(), "no_category"),
        (("この相談は公開を停止しました\n理由は次のとおりです\n" + "投稿者から削除の依頼がありました。" * 10).encode(), "no_category"),
        # A label is short: a long first line without punctuation is no category either.
        (make_page(category="ご利用中のブラウザではこのページの一部の機能や表示が正しく動作しない可能性があるため最新版への更新を推奨").encode(), "no_category"),
        ("労働問題\n\n...\n".encode(), "no_consultation"),
        ("労働問題\n\n...\n有給休暇は自由に取れますか?\n".encode(), "no_answer"),
        ("労働問題\nおすすめ法律相談\n質問?\n回答...".encode(), "no_consultation"),
    ],
)
def test_rejections_have_a_reason_and_never_raise(data, reason):
    result = parse_page(data, "bad")
    assert result.status == "rejected"
    assert result.reject_reason == reason
    assert result.reject_detail
    assert result.source == "bad"


def test_links_that_lead_to_no_file_are_unreadable_and_say_why(tmp_path):
    (tmp_path / "broken.txt").symlink_to("/nonexistent/page.txt")
    (tmp_path / "folder").symlink_to(tmp_path)
    broken, folder = parse_file(tmp_path / "broken.txt"), parse_file(tmp_path / "folder")
    assert (broken.reject_reason, broken.reject_detail) == (
        "unreadable", "broken symbolic link to /nonexistent/page.txt (FileNotFoundError: No such file or directory)"
    )
    assert (folder.reject_reason, folder.reject_detail) == ("unreadable", f"symbolic link to {tmp_path}: a folder, not followed")


def test_a_pipe_is_rejected_without_being_read(tmp_path):
    pipe = tmp_path / "page.txt"
    os.mkfifo(pipe)
    # A writer that closes at once: had the parser opened the pipe, it would read an empty page instead of waiting.
    writer = threading.Thread(target=lambda: open(pipe, "wb").close(), daemon=True)
    writer.start()
    result = parse_file(pipe)
    os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
    assert (result.reject_reason, result.reject_detail) == ("unreadable", "not a regular file (a pipe, socket or device)")


def test_file_larger_than_the_limit_is_rejected():
    result = parse_text(make_page(), max_bytes=100)
    assert result.reject_reason == "too_large"
    assert "100" in result.reject_detail


@pytest.mark.parametrize("max_bytes", [0, -1])
def test_a_limit_that_would_reject_every_page_is_the_callers_error(tmp_path, max_bytes):
    path = tmp_path / "page.txt"
    path.write_text(make_page(), encoding="utf-8")
    with pytest.raises(ValueError, match="positive number of bytes"):
        parse_file(path, max_bytes=max_bytes)
    with pytest.raises(ValueError, match="positive number of bytes"):
        parse_page(b"", "page.txt", max_bytes=max_bytes)


def test_related_questions_keep_the_link_of_their_page():
    html = make_html(make_page()).replace(
        "<p>更新料の支払いを断ることはできますか?</p>",
        '<p><a href="https://houritsu.example/fudosan/20240203040506-1">更新料の支払いを断ることはできますか?</a></p>',
    )
    related = parse_page(html.encode("utf-8"), "p.html").related
    assert [item.url for item in related] == [None, "https://houritsu.example/fudosan/20240203040506-1"]


FLAT_HTML = make_html(make_page())
# Where a scrape nests deeply: an unclosed run of inline tags (as broken pages have), the chrome, one answer line.
NESTINGS = {
    "unclosed after the consultation": lambda depth: FLAT_HTML.replace("</p><p>原状回復", "</p>" + "<b>" * depth + "<p>原状回復", 1),
    "in the header": lambda depth: FLAT_HTML.replace("<nav>", "<div>" * depth + "<nav>", 1).replace("</nav>", "</nav>" + "</div>" * depth, 1),
    "inside an answer line": lambda depth: FLAT_HTML.replace("<p>まとめ</p>", "<p>" + "<span>" * depth + "まとめ" + "</span>" * depth + "</p>", 1),
}


def parse_html(html: str):
    return parse_page(html.encode("utf-8"), "p.html")


@pytest.mark.parametrize("where", NESTINGS)
def test_a_page_nested_a_few_hundred_levels_parses_whole(where):
    deep = parse_html(NESTINGS[where](300))
    assert deep.status == "ok", deep.reject_detail
    assert dataclasses.replace(deep, sha256=None) == dataclasses.replace(parse_html(FLAT_HTML), sha256=None)


@pytest.mark.parametrize("where", NESTINGS)
def test_a_page_nested_past_the_html_parsers_limit_is_rejected_not_cut(where):
    result = parse_html(NESTINGS[where](MAX_DEPTH))
    assert (result.status, result.reject_reason) == ("rejected", "too_deep")
    assert f"deeper than {MAX_DEPTH} levels" in result.reject_detail


def test_spaces_and_invisible_characters_written_as_html_entities_are_normalised_too():
    # Entities are decoded by the HTML parser, after the raw text was normalised: the README's rule (NBSP becomes
    # a space, zero-width characters go) must hold for them as well.
    html = (
        make_html(make_page())
        .replace("Pさんは五年間", "Pさんは&nbsp;五年間")
        .replace("<p>はじめに</p>", "<p>は&#8203;じめに&zwj;</p>")
        .replace("<p>おすすめ法律相談</p>", "<p>おすすめ&#xFEFF;法律相談</p>")
        .replace("<p>更新料の支払いを断ることはできますか?</p>",
                 '<p><a href="https://houritsu.example/fudosan/20240203040506-1">更新料の支払いを断ることはできますか?&nbsp;</a></p>')
    )
    result = parse_html(html)
    assert result.background.startswith("Pさんは 五年間")
    assert "\u200b" not in result.answer and "\u200d" not in result.answer and "\xa0" not in result.background
    assert [h.text for h in result.headings][0] == "はじめに"
    assert "家賃の増額" not in result.answer and len(result.related) == 2
    assert result.related[1].url == "https://houritsu.example/fudosan/20240203040506-1"


@pytest.mark.parametrize("invisible", ["&#8203;&nbsp;", "&#8203;&nbsp;&#8203;"])
def test_html_whose_only_text_is_invisible_has_no_content(invisible):
    result = parse_html(f"<html><body><main><p>{invisible}</p></main></body></html>")
    assert (result.status, result.reject_reason) == ("rejected", "no_content")


@pytest.mark.parametrize("header", ["おすすめ 法律相談", "おすすめ\u3000法律相談", "【おすすめ　法律相談】"])
def test_block_header_with_a_space_inside_is_cut_too(header):
    page = make_page().replace("おすすめ法律相談", header)
    result = parse_text(page)
    assert result.answer == parse_text(make_page()).answer
    assert result.related == parse_text(make_page()).related
    html = make_html(make_page()).replace("<p>おすすめ法律相談</p>", "<h2><span>おすすめ</span> <span>法律相談</span></h2>")
    assert parse_html(html).related == parse_html(make_html(make_page())).related


STORY = "Pさんは五年間借りていた部屋を先月退去しました。管理会社から壁紙の全面張替え費用を請求されています。"
ASKED = "この費用は全額を負担しなければならないのでしょうか?"


@pytest.mark.parametrize("form", ["text", "html"])
def test_a_consultation_broken_over_two_lines_keeps_its_question(form):
    """The story, then the question on a line of its own (a <br> in the paragraph): the question was the answer's
    first paragraph, and the story the question."""
    html = make_html(make_page(consultation="@@")).replace("<p>@@</p>", f"<p>{STORY}<br>{ASKED}</p>")
    text = make_page(consultation=f"{STORY}\n{ASKED}")
    result = parse_page((text if form == "text" else html).encode("utf-8"), f"page.{form}")
    assert (result.question, result.background) == (ASKED, STORY)
    assert result.answer.startswith(ANSWER_LINES[0])
    assert "no_question_sentence" not in result.warnings


def test_a_story_then_one_paragraph_ending_in_a_question_mark_is_a_consultation_and_its_answer():
    """With nothing after it, the line may be the whole answer (advice ending 〜いかがでしょうか?): the page is kept."""
    advice = "まずは管理会社に見積もりの内訳を求め、納得できなければ消費生活センターに相談してみてはいかがでしょうか?"
    result = parse_page(f"不動産・賃貸\n{STORY}\n{advice}\n".encode(), "p.txt")
    assert (result.status, result.question, result.answer) == ("ok", STORY, advice)


def test_advice_after_a_consultation_that_asks_nothing_stays_in_the_answer():
    """A request (〜してください) may be a consultation's question, but it is also how answers give advice: only a
    line ending in a question mark continues a consultation that asks nothing."""
    advice = "まずは契約書の写しを用意し、管理会社に内訳の説明を求めるようにしてください。"
    result = parse_page(make_page(consultation="敷金の返還で困っている", answer_lines=[advice, *ANSWER_LINES]).encode("utf-8"), "p.txt")
    assert result.question == "敷金の返還で困っている"
    assert result.answer.startswith(advice)


@pytest.mark.parametrize("mark", ["…", "‥", "..", "．．．", "・・・"])
def test_lone_cut_mark_line_in_any_form_is_dropped(mark):
    page = make_page().replace("\n...\n", f"\n{mark}\n", 1)
    assert parse_text(page).to_dict() | {"sha256": None} == parse_text(make_page()).to_dict() | {"sha256": None}


def test_block_header_after_a_marker_and_a_space_is_cut_with_them():
    assert parse_text(make_page().replace("おすすめ法律相談", "■ おすすめ法律相談")).answer == parse_text(make_page()).answer


def test_the_block_is_cut_at_its_first_header_when_the_header_repeats():
    page = make_page() + "\n\nおすすめ法律相談\n\n遺言書は自分で書けますか?\n自筆証書遺言には、全文を自分で書くなどの要件があり..."
    assert parse_text(page).answer == parse_text(make_page()).answer


def test_a_title_like_line_followed_by_the_answer_is_the_question():
    result = parse_text(make_page(consultation="更新料の支払いについて"))
    assert (result.title, result.question) == (None, "更新料の支払いについて")
    assert result.answer.startswith(ANSWER_LINES[0])


@pytest.mark.parametrize(
    "consultation",
    ["敷金は全額返ってきますか?", "相続放棄の相談(背景)Aさんは亡くなった父に借金があると知りました。"],
    ids=["asks already", "background marker"],
)
def test_an_answer_opening_on_a_question_mark_stays_the_answer(consultation):
    """Only a story that asks nothing and carries no background marker takes the next line as its question."""
    opening = "では、そもそも何が問題となるのでしょうか?"
    result = parse_text(make_page(consultation=consultation, answer_lines=[opening, *ANSWER_LINES]))
    assert result.answer.startswith(opening)


def test_a_consultation_broken_over_two_lines_may_end_in_a_full_width_question_mark():
    asked = ASKED.replace("?", "？")
    result = parse_text(make_page(consultation=f"{STORY}\n{asked}"))
    assert (result.question, result.background) == (asked, STORY)


@pytest.mark.parametrize("suffix", ["/", "?from=ranking", "/#answer"])
def test_site_page_id_survives_a_trailing_slash_query_or_fragment(suffix):
    html = make_html(make_page(), url=f"https://houritsu.example/fudosan/20240102030405-7{suffix}")
    assert parse_html(html).page_id == "20240102030405-7"


def test_a_page_of_exactly_the_limit_is_accepted():
    data = make_page().encode()
    assert parse_page(data, "p.txt", max_bytes=len(data)).status == "ok"


@pytest.mark.parametrize(
    "header",
    ["▼おすすめ法律相談▼", "■おすすめ法律相談■", "★ おすすめ法律相談 ★", "「おすすめ法律相談」", "＜おすすめ法律相談＞",
     "［おすすめ法律相談］", "-- おすすめ法律相談 --", "おすすめ法律相談：", "おすすめ法律相談 ▼", "ーー おすすめ法律相談 ーー"],
)  # fmt: skip
def test_decoration_around_the_block_header_on_its_line_goes_with_it(header):
    """A mark left after the header was read as the first related question (its question then taken as the teaser,
    and its teaser dropped); an opening bracket left before it ended the answer."""
    result = parse_text(make_page().replace("おすすめ法律相談", header))
    reference = parse_text(make_page())
    assert (result.answer, result.related, result.warnings) == (reference.answer, reference.related, reference.warnings)
