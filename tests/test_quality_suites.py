"""The GX suites of the new datasets and the PII fragment, run for real on small tables."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from pipeline.core import tables, validation
from pipeline.core.quality import frontier, near_duplicates, pii
from pipeline.core.schemas import DATASETS as ALL_DATASETS
from tests.test_quality_support import consultation, keyed_table, teaser

DATASETS = {name: ALL_DATASETS[name] for name in ("missing_pages", "near_duplicates")}


@pytest.fixture(scope="module")
def quality_tables(tmp_path_factory) -> dict[str, pa.Table]:
    corpus = keyed_table([
        consultation("20240101000000-1", question="残業代は請求できますか?", related=[teaser("コーパスにない相談です。", "書き出し")]),
        consultation("h0000000000000002", question="有給休暇は買い取ってもらえますか?", related=[teaser("残業代は請求できますか?", "x")]),
    ])  # fmt: skip
    linked = tables.related_questions_table(corpus)
    return {
        "missing_pages": frontier.missing_pages(linked),
        "near_duplicates": near_duplicates.update_index(tmp_path_factory.mktemp("index"), corpus).table,
    }


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_suite_passes_on_the_real_output_and_matches_the_schema(dataset, quality_tables):
    spec = validation.load_suite_spec(dataset)
    assert spec["expectations"][0]["kwargs"]["column_set"] == DATASETS[dataset].names
    report = validation.validate(dataset, quality_tables[dataset])
    assert report.success, [outcome.detail for outcome in report.failed()]


def test_suites_catch_broken_rows(quality_tables):
    missing = quality_tables["missing_pages"]
    zero = pa.array([0] * missing.num_rows, pa.int32())
    broken = missing.set_column(missing.schema.get_field_index("n_referrers"), "n_referrers", zero)
    assert list(validation.validate("missing_pages", broken).failing_rows()) == list(range(missing.num_rows))
    near = quality_tables["near_duplicates"]
    too_similar = pa.array([1.5, None], pa.float64())
    broken = near.set_column(near.schema.get_field_index("dup_similarity"), "dup_similarity", too_similar)
    assert list(validation.validate("near_duplicates", broken).failing_rows()) == [0]


def test_pii_fragment_fails_exactly_the_rows_with_pii(tmp_path):
    spec = {"name": "pii_probe", "expectations": pii.pii_expectations(("question", "answer"))}
    (tmp_path / "pii_probe.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    probe = pa.table({
        "question": ["電話090-1234-5678で相談できますか?", "2024-01-15に契約しました。解約できますか?", None],
        "answer": ["第709条により1,000,000円を請求できます。", "窓口〒100-0001へ", "回答です。"],
    })  # fmt: skip
    report = validation.validate("pii_probe", probe, suites_dir=tmp_path)
    assert report.failing_rows().keys() == {0, 1}
