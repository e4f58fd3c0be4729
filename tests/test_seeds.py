"""The two real pages in ../shared/seeds/, asserted field by field.

Expected long sentences are derived from the seed file at run time (never copied into the project).
"""

from pathlib import Path

import pytest

from pipeline.core.page import parse_file
from pipeline.core.record import Heading

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed pages not available at {SEEDS}")


def seed(name: str):
    path = SEEDS / name
    lines = [line.strip() for line in path.read_text("utf-8").split("\n") if line.strip()]
    block = lines.index("おすすめ法律相談")
    # category, "...", consultation, answer..., header, related...
    return parse_file(path), lines[2], lines[3:block], lines[block + 1 :]


def test_seed_with_background_marker_and_unnumbered_headings():
    result, consultation, answer_lines, related_lines = seed("000_a70431a7681f439c.txt")
    question, background = consultation.split("(背景)")
    assert result.status == "ok"
    assert result.category == "個人情報保護・情報漏洩"
    assert result.title is None
    assert result.question == question.strip()
    assert result.background == background.strip()
    assert result.answer == "\n\n".join(answer_lines)
    assert result.headings == (
        Heading(1, None, "個人情報保護の重要性"),
        Heading(1, None, "個人情報漏洩対策としての取り組み"),
        Heading(2, "1", "原因の特定と修正"),
        Heading(2, "2", "被害の抑止・最小限化"),
        Heading(2, "3", "再発防止策の策定"),
        Heading(1, None, "法的規制"),
        Heading(1, None, "まとめ"),
    )
    assert [s.heading for s in result.sections] == [
        "個人情報保護の重要性", "個人情報漏洩対策としての取り組み", "1.原因の特定と修正",
        "2.被害の抑止・最小限化", "3.再発防止策の策定", "法的規制", "まとめ",
    ]  # fmt: skip
    assert result.sections[-1].body == answer_lines[-1]
    assert len(result.related) == 10
    assert [r.question for r in result.related] == related_lines[0::2]
    assert [r.preview + "..." for r in result.related] == related_lines[1::2]
    assert all(r.truncated and len(r.preview) == 39 for r in result.related)
    assert result.warnings == ()
    assert (result.format, result.encoding, result.url) == ("text", "utf-8", None)
    assert result.page_id.startswith("h")


def test_seed_with_narrative_and_numbered_headings():
    result, consultation, answer_lines, related_lines = seed("003_1f889892a648e33c.txt")
    cut = consultation.rindex("。") + 1
    assert result.status == "ok"
    assert result.category == "個人情報保護・情報漏洩"
    assert result.question == consultation[cut:]
    assert result.background == consultation[:cut]
    assert result.answer == "\n\n".join(answer_lines)
    assert [(h.level, h.number) for h in result.headings] == [(2, str(n)) for n in range(1, 7)]
    assert [h.text for h in result.headings][-1] == "相談窓口の利用"
    assert result.sections[0].heading is None and result.sections[0].body == answer_lines[0]
    assert len(result.sections) == 7
    assert result.sections[-1].body == "\n\n".join(answer_lines[-2:])  # the closing paragraph stays in section 6
    assert [r.question for r in result.related] == related_lines[0::2]
    assert len(result.related) == 10
    assert result.warnings == ()
