"""Builders for test pages in the site's shapes, with sentences of our own."""

from __future__ import annotations

CATEGORY = "不動産・賃貸"
CONSULTATION = "退去時の原状回復費用はどこまで負担すべきでしょうか? (背景)Pさんは五年間借りていた部屋を退去しました。管理会社から壁紙の全面張替え費用を請求されています。"
ANSWER_LINES = [
    "原状回復の範囲は、契約の内容と国のガイドラインを手がかりに判断します。",
    "はじめに",
    "通常の使用で生じた汚れや日焼けは、借主が負担する必要のないものとされています。",
    "1. 契約書の特約を確認する",
    "特約で借主負担が定められていても、内容が明確で合理的でなければ無効とされることがあります。",
    "2. 見積もりの内訳を求める",
    "請求額の根拠となる内訳を書面で求め、経過年数による減価が考慮されているかを確かめましょう。",
    "まとめ",
    "納得できない場合は、消費生活センターや弁護士に相談し、少額訴訟なども検討してください。",
]
RELATED_LINES = [
    "Qさんは、家賃の値上げを通知されました。応じなければならないのでしょうか。",
    "家賃の増額は、貸主と借主の合意によって決まるのが原則であり、一方的な通知だけで...",
    "更新料の支払いを断ることはできますか?",
    "更新料の支払義務は、契約書に明確な定めがあるかどうかによって判断が分かれます。…",
]


def make_page(
    *,
    category: str = CATEGORY,
    consultation: str = CONSULTATION,
    answer_lines: list[str] | None = None,
    related_lines: list[str] | None = None,
    blank_lines: int = 1,
    ellipsis_line: bool = True,
) -> str:
    """A text dump: category, optional lone '...', consultation, answer, recommendation block."""
    gap = "\n" * (blank_lines + 1)
    answer = gap.join(ANSWER_LINES if answer_lines is None else answer_lines)
    head = f"{category}\n\n" + ("...\n" if ellipsis_line else "") + f"{consultation}{gap}{answer}"
    related = RELATED_LINES if related_lines is None else related_lines
    if not related:
        return head + "\n"
    return head + f"{gap}おすすめ法律相談{gap}" + gap.join(related)


def make_html(text_page: str, *, url: str | None = "https://houritsu.example/fudosan/20240102030405-7", charset: str = "utf-8") -> str:
    """The same page as a crawler would save it: chrome around an article with one <p> per line."""
    lines = [line for line in text_page.split("\n") if line.strip()]
    body = "".join(f"<p>{line}</p>" for line in lines)
    link = f'<link rel="canonical" href="{url}">' if url else ""
    return (
        f'<!DOCTYPE html><html lang="ja"><head><meta charset="{charset}"><title>相談 | テスト</title>{link}'
        "<script>var x = 'おすすめ法律相談';</script><style>p{margin:0}</style></head><body>"
        '<header><nav><a href="/">トップ</a><a href="/c">カテゴリ一覧</a></nav></header>'
        '<div class="breadcrumb"><a href="/">ホーム</a> &gt; <a href="/fudosan">不動産・賃貸</a></div>'
        f'<main><article>{body}</article></main>'
        '<div class="share-buttons"><a>共有する</a></div><div id="cookie-consent">クッキーを使用しています。</div>'
        "<footer>(C) テスト法律サイト</footer></body></html>"
    )
