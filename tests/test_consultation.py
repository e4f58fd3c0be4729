"""The consultation block: one test per shape the site uses."""

import pytest

from pipeline.core.consultation import is_question, split_consultation, split_sentences


def test_marker_splits_question_from_background():
    parts = split_consultation("敷金は全額戻ってきますか? (背景)Bさんは三年住んだ部屋を退去しました。壁に小さな傷があります。")
    assert parts.question == "敷金は全額戻ってきますか?"
    assert parts.background == "Bさんは三年住んだ部屋を退去しました。壁に小さな傷があります。"
    assert parts.title is None


@pytest.mark.parametrize("marker", ["(背景)", "（背景）", "【背景】", "背景:", "背景：", "背景として、"])
def test_every_background_marker(marker):
    parts = split_consultation(f"残業代は請求できますか？{marker}Cさんは毎日二時間の残業をしています。")
    assert parts.question == "残業代は請求できますか？"
    assert parts.background == "Cさんは毎日二時間の残業をしています。"


def test_background_after_question_with_sentence_boundary_only():
    parts = split_consultation("この契約の背景として何が考えられますか?")
    assert parts.background is None
    assert parts.question == "この契約の背景として何が考えられますか?"


def test_narrative_ending_in_question():
    parts = split_consultation("Dさんは中古車を購入しました。納車の翌日に故障しました。販売店に修理を求められますか?")
    assert parts.question == "販売店に修理を求められますか?"
    assert parts.background == "Dさんは中古車を購入しました。納車の翌日に故障しました。"


def test_two_trailing_question_sentences_both_belong_to_the_question():
    parts = split_consultation("Eさんは解雇を告げられました。撤回を求められますか?また、慰謝料は請求できますか?")
    assert parts.question == "撤回を求められますか?また、慰謝料は請求できますか?"
    assert parts.background == "Eさんは解雇を告げられました。"


def test_request_sentence_counts_as_the_question():
    parts = split_consultation("Fさんは自宅を建て替える予定です。必要な届出の種類を教えてください。")
    assert parts.question == "必要な届出の種類を教えてください。"
    assert parts.background == "Fさんは自宅を建て替える予定です。"


def test_quoted_question_is_unwrapped():
    parts = split_consultation("「隣家の木の枝が越境してきたら切ってもよいですか？」")
    assert parts.question == "隣家の木の枝が越境してきたら切ってもよいですか？"
    assert parts.background is None


def test_quoted_question_with_marker():
    parts = split_consultation("「遺言書は自分で書いても有効ですか？」(背景)Gさんは八十歳で、財産を整理したいと考えています。")
    assert parts.question == "遺言書は自分で書いても有効ですか？"
    assert parts.background == "Gさんは八十歳で、財産を整理したいと考えています。"


def test_topic_only_block_is_the_whole_question():
    parts = split_consultation("業務委託契約の解除条項が一方的かもしれない")
    assert parts.question == "業務委託契約の解除条項が一方的かもしれない"
    assert parts.background is None
    assert not parts.has_question_sentence


def test_one_sentence_request_has_no_background():
    parts = split_consultation("Hさんは、成年後見制度の申立てに必要な書類を知りたいです。")
    assert parts.question == "Hさんは、成年後見制度の申立てに必要な書類を知りたいです。"
    assert parts.background is None


@pytest.mark.parametrize("separator", [" ", "\u3000"])
def test_title_prefix_before_the_story(separator):
    parts = split_consultation(f"Lさんの駐車場トラブルについて{separator}Lさんは契約した区画に他人の車を停められています。どう対処すべきでしょうか。")
    assert parts.title == "Lさんの駐車場トラブルについて"
    assert parts.question == "どう対処すべきでしょうか。"
    assert parts.background == "Lさんは契約した区画に他人の車を停められています。"


def test_title_given_from_its_own_line_is_kept():
    parts = split_consultation("Mさんは離婚を考えています。親権はどうなりますか?", title="Mさんの場合")
    assert parts.title == "Mさんの場合"
    assert parts.question == "親権はどうなりますか?"


def test_comma_after_nitsuite_is_not_a_title():
    parts = split_consultation("祖父の遺産相続について、相談したいです。")
    assert parts.title is None


def test_question_in_the_middle_without_marker_keeps_the_rest_as_background():
    parts = split_consultation("Nさんは店で転倒しました。店に責任はありますか?床は濡れていました。")
    assert parts.question == "店に責任はありますか?"
    assert parts.background == "Nさんは店で転倒しました。床は濡れていました。"


def test_sentences_do_not_split_inside_brackets():
    assert split_sentences("彼は「もう無理だ。帰る。」と言いました。どうしますか?") == [
        "彼は「もう無理だ。帰る。」と言いました。",
        "どうしますか?",
    ]


@pytest.mark.parametrize(
    "ending",
    [
        "教えてください。", "知りたいです。", "教えてほしいです。", "お願いします。", "できますか。",
        "教えて下さい。", "知りたい。", "教えて欲しい。", "ご教示願います。", "どう進めればよいのか。", "確認できますか．",
    ],
)  # fmt: skip
def test_request_endings_are_question_sentences(ending):
    assert split_consultation(f"Tさんは転職を考えています。退職の手続きを{ending}").has_question_sentence


@pytest.mark.parametrize("ending", ["について", "に関して", "に関する相談", "についての相談", "の場合", "の件"])
def test_every_title_ending(ending):
    parts = split_consultation(f"Uさんの未払い賃金{ending} Uさんは三か月分の給料を受け取っていません。請求できますか?")
    assert parts.title == f"Uさんの未払い賃金{ending}"
    assert parts.question == "請求できますか?"


def test_marker_after_a_topic_that_asks_nothing_has_no_question_sentence():
    parts = split_consultation("賃料の減額交渉の相談(背景)Vさんの店舗は売上が半分になりました。")
    assert (parts.question, parts.background) == ("賃料の減額交渉の相談", "Vさんの店舗は売上が半分になりました。")
    assert not parts.has_question_sentence


def test_marker_opening_the_block_stays_out_of_the_background():
    parts = split_consultation("【背景】Xさんは通販で買った家電が初日から動きませんでした。返品できますか?")
    assert parts.question == "返品できますか?"
    assert parts.background == "Xさんは通販で買った家電が初日から動きませんでした。"


def test_a_run_of_sentence_ends_stays_with_its_sentence():
    assert split_sentences("本当に払う必要がありますか？！まずは教えてください。") == ["本当に払う必要がありますか？！", "まずは教えてください。"]


def test_a_closer_of_another_bracket_does_not_close_a_quotation():
    text = "Aさんは「1）鍵を返す。2）部屋を空ける。」という条件を示されました。どうすべきですか?"
    assert split_sentences(text) == ["Aさんは「1）鍵を返す。2）部屋を空ける。」という条件を示されました。", "どうすべきですか?"]


def test_a_question_quoted_before_its_full_stop_is_a_question():
    assert is_question("「更新料は必ず払うものですか」。")


def test_title_given_from_its_own_line_is_not_replaced_by_a_prefix():
    parts = split_consultation("Yさんの件について Yさんは家賃を滞納しています。退去させられますか?", title="賃料滞納の場合")
    assert parts.title == "賃料滞納の場合"


def test_two_quotations_are_not_unwrapped_as_one():
    parts = split_consultation("「退去しろ」と言われた後に届いた「請求書」")
    assert parts.question == "「退去しろ」と言われた後に届いた「請求書」"
