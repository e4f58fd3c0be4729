"""Golden tests: every sample page has an expected record, compared field by field.

After a deliberate parser change, review and rewrite the expectations with:
    .venv/bin/python -m tests.test_golden
"""

import json
from pathlib import Path

import pytest

from pipeline.core.batches import batch_dirs, batch_files
from pipeline.core.page import parse_file

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "raw"
GOLDEN = ROOT / "tests" / "golden"
SAMPLE_FILES = [path for batch in batch_dirs(RAW) for path in batch_files(batch)]


def actual_record(sample: Path) -> dict:
    return parse_file(sample, source=sample.relative_to(ROOT).as_posix()).to_dict()


def golden_path(sample: Path) -> Path:
    return GOLDEN / sample.parent.relative_to(RAW) / f"{sample.name}.json"


def test_every_sample_has_a_golden_and_no_golden_is_orphaned():
    assert len(SAMPLE_FILES) >= 26
    assert sorted(GOLDEN.rglob("*.json")) == sorted(golden_path(s) for s in SAMPLE_FILES)


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.relative_to(RAW).as_posix())
def test_sample_matches_golden(sample):
    expected = json.loads(golden_path(sample).read_text("utf-8"))
    actual = actual_record(sample)
    assert list(actual) == list(expected)
    for field in expected:
        assert actual[field] == expected[field], f"{sample.name}: field {field!r} differs"


def test_samples_cover_every_shape():
    records = [actual_record(s) for s in SAMPLE_FILES]
    ok = [r for r in records if r["status"] == "ok"]
    assert {r["format"] for r in ok} == {"text", "html"}
    assert {r["encoding"] for r in ok} >= {"utf-8", "utf-8-sig", "cp932", "euc_jp"}
    assert len({r["category"] for r in ok}) >= 6
    assert any(r["title"] for r in ok) and any(r["background"] is None for r in ok)
    assert any("no_related_block" in r["warnings"] for r in ok)
    assert any("no_question_sentence" in r["warnings"] for r in ok)
    assert any(r["answer"].endswith(("...", "…")) or "...\n" in r["answer"] for r in ok)
    assert {h["level"] for r in ok for h in r["headings"]} == {1, 2, 3}
    assert {r["reject_reason"] for r in records if r["status"] == "rejected"} >= {"empty_file", "binary_content", "no_answer"}


def write_goldens() -> None:
    for stale in GOLDEN.rglob("*.json"):
        stale.unlink()
    for sample in SAMPLE_FILES:
        text = json.dumps(actual_record(sample), ensure_ascii=False, indent=2) + "\n"
        golden_path(sample).parent.mkdir(parents=True, exist_ok=True)
        golden_path(sample).write_text(text, encoding="utf-8")
    print(f"wrote {len(SAMPLE_FILES)} goldens to {GOLDEN}")


if __name__ == "__main__":
    write_goldens()
