"""The recommendation block: pairs of question and teaser."""

from pipeline.core.related import parse_related
from pipeline.core.record import Related


def test_pairs_questions_with_truncated_teasers():
    block = "\n\n隣人の騒音に悩んでいます。\n\n騒音の問題は、まず管理会社に相談することが有効で、...\n\n車をぶつけられました。\n\n交通事故の被害にあった場合は、警察への届出が必要…\n"
    items, unpaired = parse_related(block)
    assert items == (
        Related("隣人の騒音に悩んでいます。", "騒音の問題は、まず管理会社に相談することが有効で、", True),
        Related("車をぶつけられました。", "交通事故の被害にあった場合は、警察への届出が必要", True),
    )
    assert unpaired == 0


def test_untruncated_teaser_and_orphans_are_counted():
    items, unpaired = parse_related("質問です。\n短い回答です。\n孤立した質問です。")
    assert items == (Related("質問です。", "短い回答です。", False),)
    assert unpaired == 1


def test_teaser_without_question_is_not_an_item():
    items, unpaired = parse_related("切れた回答の冒頭...\n")
    assert items == () and unpaired == 1


def test_a_question_the_site_cut_too_keeps_its_teaser():
    """A long related question is cut like its teaser: read as a lost question's teaser, it took its own teaser
    and the next pair's question with it."""
    block = "\n".join([
        "賃貸マンションの更新時に管理会社から突然更新料の増額を求められましたが応じなければ…",
        "更新料の増額は、契約書に定めがない限り一方的に...",
        "車をぶつけられました。",
        "交通事故の被害にあった場合は、警察への届出が必要…",
    ])  # fmt: skip
    items, unpaired = parse_related(block)
    assert [(item.question, item.preview) for item in items] == [
        ("賃貸マンションの更新時に管理会社から突然更新料の増額を求められましたが応じなければ…", "更新料の増額は、契約書に定めがない限り一方的に"),
        ("車をぶつけられました。", "交通事故の被害にあった場合は、警察への届出が必要"),
    ]
    assert unpaired == 0


def test_a_lost_question_before_a_pair_still_leaves_one_orphan():
    items, unpaired = parse_related("切れた回答の冒頭...\n車をぶつけられました。\n交通事故の被害にあった場合は、警察への届出が必要…")
    assert [item.question for item in items] == ["車をぶつけられました。"] and unpaired == 1


def test_full_width_cut_marks_cut_a_teaser_as_the_ascii_ones_do():
    block = "\n".join([
        "敷金が返ってきません。",
        "敷金の返還を求めるには、まず内容証明郵便で．．．",
        "残業代が出ません。",
        "固定残業代の定めがあっても、超えた分は・・・",
        "貸したお金が戻りません。",
        "少額訴訟を使えば、一回の期日で‥",
        "．．",
        "・・・",
    ])  # fmt: skip
    items, unpaired = parse_related(block)
    assert [(item.preview, item.truncated) for item in items] == [
        ("敷金の返還を求めるには、まず内容証明郵便で", True),
        ("固定残業代の定めがあっても、超えた分は", True),
        ("少額訴訟を使えば、一回の期日で", True),
    ]
    assert unpaired == 0


def test_lone_cut_marks_between_pairs_are_dropped():
    block = "\n".join([
        "隣の家の犬が夜通し吠えます。",
        "..",
        "鳴き声が受忍限度を超えるかどうかは、時間帯や回数から…",
        "…",
        "車をぶつけられました。",
        "交通事故の被害にあった場合は、警察への届出が必要…",
    ])  # fmt: skip
    items, unpaired = parse_related(block)
    assert [item.question for item in items] == ["隣の家の犬が夜通し吠えます。", "車をぶつけられました。"]
    assert unpaired == 0


def test_a_space_before_the_cut_mark_is_not_part_of_the_preview():
    items, _ = parse_related("隣の家の犬が夜通し吠えます。\n鳴き声が受忍限度を超えるかどうかは …")
    assert items[0].preview == "鳴き声が受忍限度を超えるかどうかは"


def test_a_teaser_shown_whole_keeps_the_link_of_its_question():
    items, _ = parse_related("敷金は戻りますか?\n原則として戻ります。", {"敷金は戻りますか?": "https://houritsu.example/fudosan/20240203040506-2"})
    assert items == (Related("敷金は戻りますか?", "原則として戻ります。", False, "https://houritsu.example/fudosan/20240203040506-2"),)


def test_a_question_ending_in_a_mark_askers_type_keeps_its_whole_teaser():
    block = "\n".join([
        "夫と離婚したいのですが・・・",
        "話し合いで解決できることも多くあります。",
        "車をぶつけられました。",
        "交通事故の被害にあった場合は、警察への届出が必要…",
    ])  # fmt: skip
    items, unpaired = parse_related(block)
    assert [(item.question, item.preview, item.truncated) for item in items] == [
        ("夫と離婚したいのですが・・・", "話し合いで解決できることも多くあります。", False),
        ("車をぶつけられました。", "交通事故の被害にあった場合は、警察への届出が必要", True),
    ]
    assert unpaired == 0


def test_the_block_header_again_is_no_related_question():
    """A page that shows the block twice: the second header was read as a question, and shifted every pair after it."""
    pair = ["敷金が返ってきません。", "敷金の返還を求めるには、まず内容証明郵便で..."]
    items, unpaired = parse_related("\n".join([*pair, "【おすすめ法律相談】", *pair]))
    assert items == (Related(pair[0], pair[1][:-3], True),) * 2 and unpaired == 0
    items, unpaired = parse_related("\n".join(["質問だけが残りました?", "おすすめ法律相談", *pair]))
    assert items == (Related(pair[0], pair[1][:-3], True),) and unpaired == 1


def test_a_question_whose_teaser_was_lost_does_not_take_the_next_question():
    """A related question shown without its teaser: the next question was taken as its (whole) teaser, and that
    question's own teaser dropped as unpaired."""
    block = "\n".join([
        "残業代は請求できますか?",
        "会社を辞めるときは何日前に伝えればよいですか？",
        "退職の意思表示は、期間の定めのない雇用なら二週間前までに…",
    ])  # fmt: skip
    items, unpaired = parse_related(block)
    assert items == (Related("会社を辞めるときは何日前に伝えればよいですか？", "退職の意思表示は、期間の定めのない雇用なら二週間前までに", True),)
    assert unpaired == 1


def test_a_whole_teaser_followed_by_a_pair_is_still_a_teaser():
    items, unpaired = parse_related("質問です。\n短い回答です。\n車をぶつけられました?\n交通事故の被害にあった場合は…")
    assert [(item.question, item.preview) for item in items] == [("質問です。", "短い回答です。"), ("車をぶつけられました?", "交通事故の被害にあった場合は")]
    assert unpaired == 0


def test_a_whole_teaser_asking_before_a_cut_question_is_still_a_teaser():
    """A teaser shown whole that ends in a question mark, then a question the site cut (its teaser after it): the
    teaser was taken for a question whose teaser was lost, and the cut question for its teaser."""
    block = "\n".join([
        "敷金は返ってきますか?",
        "どうすればよいでしょうか?",
        "会社を辞めるときは何日前に伝え...",
        "退職の意思表示は、期間の定めのない雇用なら二週間前までに…",
    ])  # fmt: skip
    items, unpaired = parse_related(block)
    assert [(item.question, item.preview) for item in items] == [
        ("敷金は返ってきますか?", "どうすればよいでしょうか?"),
        ("会社を辞めるときは何日前に伝え...", "退職の意思表示は、期間の定めのない雇用なら二週間前までに"),
    ]
    assert unpaired == 0
