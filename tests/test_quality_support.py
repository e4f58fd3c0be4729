"""Builders shared by the tests/test_quality_* files (no tests here): consultations rows of our own."""

from __future__ import annotations

import pyarrow as pa

from pipeline.core import schemas
from pipeline.core.page import content_hash
from pipeline.core.quality.signals import add_signals

# Sentences of our own, in the site's register, to make answers long enough for real n-gram statistics.
ANSWER_SENTENCES = [
    "まず、契約書の条項を一つずつ読み直し、どの義務が誰に課されているのかを確認しましょう。",
    "口頭での約束も契約として有効ですが、後から内容を証明するのは難しくなります。",
    "やり取りの記録は、日付の分かる形で保存しておくことが大切です。",
    "相手方と話し合う際は、感情的にならず、求める内容を具体的に伝えるようにしてください。",
    "話し合いで解決しない場合には、内容証明郵便で請求の意思を明確に示す方法があります。",
    "それでも応じてもらえないときは、簡易裁判所の調停や少額訴訟を利用することも考えられます。",
    "手続きの選び方に迷ったら、法テラスや自治体の無料相談窓口を活用するとよいでしょう。",
    "時効によって権利が消滅することもあるため、早めに行動することをおすすめします。",
]


def answer(*sentences: str) -> str:
    return "\n\n".join(sentences or ANSWER_SENTENCES)


def consultation(
    page_id: str,
    *,
    question: str,
    background: str | None = None,
    title: str | None = None,
    answer_text: str | None = None,
    category: str = "債権回収",
    related: list[dict] | None = None,
    aliases: list[str] | None = None,
    headings: list[dict] | None = None,
    warnings: list[str] | None = None,
) -> dict:
    """A consultations row as screening makes it; fields not under test get plausible constants."""
    text = answer() if answer_text is None else answer_text
    return {
        "page_id": page_id,
        "url": None,
        "posted_at": None,
        "category": category,
        "title": title,
        "question": question,
        "background": background,
        "answer": text,
        "headings": headings or [],
        "sections": [{"heading": None, "body": text}],
        "related": related or [],
        "warnings": warnings or [],
        "content_hash": content_hash(title, question, background, text),
        "batch": "b1",
        "first_seen": "b1",
        "last_seen": "b1",
        "n_versions": 1,
        "aliases": aliases or [],
        "source": f"b1/{page_id}.txt",
        "sha256": "0" * 64,
        "encoding": "utf-8",
        "format": "text",
        "parser_version": "1.0.0",
    }


def teaser(question: str, preview: str, url: str | None = None, truncated: bool = True) -> dict:
    return {"question": question, "preview": preview, "truncated": truncated, "url": url}


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schemas.SCREENED_CONSULTATIONS)


def keyed_table(rows: list[dict]) -> pa.Table:
    """The same with the signal columns (matching keys among them), as screening adds them."""
    return add_signals(table(rows))
