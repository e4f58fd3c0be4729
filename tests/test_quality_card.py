"""The dataset card: every figure from the data, deterministic, and the loading recipes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core import schemas, tables
from pipeline.core.quality import card, frontier, links, near_duplicates, pii
from pipeline.core.quality.signals import add_signals
from tests.parquet_damage import flip_bytes_in_column
from tests.test_quality_support import answer, consultation, table, teaser


def corpus(tmp_path, n_labour: int = 2) -> dict[str, pa.Table]:
    linking = [teaser("コーパスにない相談です。", "どこにもない書き出しです。"), teaser("残業代の相談1です。請求できますか?", "x")]
    pages = [
        consultation(f"h000000000000000{i}", question=f"残業代の相談{i}です。請求できますか?", category="労働問題",
                     background=f"連絡先は090-0000-000{i}です。" if i == 1 else None, related=linking if i > 1 else [])
        for i in range(1, n_labour + 1)
    ] + [consultation("h0000000000000009", question="相続の相談です。どうなりますか?", category="相続・遺言",
                      answer_text=answer("相続の回答は、残業代の回答とは中身がまったく違います。" * 4))]  # fmt: skip
    consultations = add_signals(pii.redact_consultations(table(pages)))  # as screening makes them
    linked = links.link_related(tables.related_questions_table(consultations), consultations).table
    rejects = pa.Table.from_pylist(
        [
            {"batch": "b1", "source": "b1/a.txt", "stage": "parse", "reject_reason": "empty_file", "reject_detail": "d"},
            {"batch": "b1", "source": "b1/b.txt", "stage": "parse", "reject_reason": "empty_file", "reject_detail": "d"},
            {"batch": "b1", "source": "b1/c.txt", "stage": "validate", "reject_reason": "expect_x", "reject_detail": "d"},
        ],
        schema=schemas.REJECTS,
    )
    return {
        "consultations": consultations,
        "related_questions": linked,
        "rejects": rejects,
        "missing_pages": frontier.missing_pages(linked),
        "near_duplicates": near_duplicates.update_index(tmp_path / "index", consultations).table,
    }


def render(tables_: dict[str, pa.Table]) -> str:
    return card.render_dataset_card(tables_, stats=card.card_stats(tables_, near_duplicates.DuplicateConfig()))


def test_card_figures_come_from_the_data(tmp_path):
    text = render(corpus(tmp_path))
    assert "| `consultations` | 3 |" in text and "| `related_questions` | 2 |" in text and "| `missing_pages` | 1 |" in text
    assert "| 労働問題 | 2 | 66.7% |\n| 相続・遺言 | 1 | 33.3% |" in text
    assert "3 inputs were not accepted" in text
    assert "| parse | `empty_file` | 2 |\n| validate | `expect_x` | 1 |" in text
    assert "1 of 2 teasers (50.0%)" in text and "| question | 50.0% |" in text
    assert "2 of 3 pages (66.7%) are in one cluster of near-duplicates" in text and "5-grams, 128 bins" in text
    assert "| phone | `<PHONE>` | 1 |" in text and "The original texts are not published." in text
    assert "| `dup_similarity` | `double` | yes |" in text and "| `target_page_id` | `string` | yes |" in text


def test_card_changes_with_the_data_and_only_with_it(tmp_path):
    assert render(corpus(tmp_path / "a")) == render(corpus(tmp_path / "b"))
    bigger = render(corpus(tmp_path / "c", n_labour=4))
    assert "| 労働問題 | 4 | 80.0% |" in bigger and "| `consultations` | 5 |" in bigger
    assert "4 of 5 pages (80.0%)" in bigger and "3 of 6 teasers (50.0%)" in bigger


def test_card_says_how_to_load_each_way(tmp_path):
    text = render(corpus(tmp_path))
    assert 'pd.read_parquet("processed/consultations", page_checksum_verification=True)' in text
    assert "SELECT * FROM 'processed/consultations/*.parquet';" in text
    assert 'load_dataset("parquet", data_files={"train": "processed/consultations/*.parquet"})' in text
    assert 'ds.dataset("processed/consultations", format=ds.ParquetFileFormat(default_fragment_scan_options=verified))' in text


def test_card_loads_from_the_folder_it_sits_in(tmp_path):
    tables_ = corpus(tmp_path)
    text = card.render_dataset_card(tables_, stats=card.card_stats(tables_, near_duplicates.DuplicateConfig()), folder="corpus2")
    assert 'pd.read_parquet("corpus2/consultations", page_checksum_verification=True)' in text and "`corpus2/<dataset>/`" in text
    assert "processed/" not in text


def test_sections_without_their_data_are_left_out(tmp_path):
    only = {"consultations": table([consultation("h0000000000000001", question="質問ですか?")])}
    text = card.render_dataset_card(only, stats=card.CardStats())
    assert "## Categories" in text and "## Schemas" in text
    for section in ("## Rejected pages", "## Related-question links", "## Near-duplicates", "## Personal information"):
        assert section not in text


@pytest.mark.parametrize("recipe", [1, 2], ids=["pandas", "pyarrow.dataset"])
def test_the_python_recipes_fail_on_a_damaged_file(tmp_path, monkeypatch, recipe):
    """The card's pandas and pyarrow.dataset snippets verify every page's checksum, as the notebook does: run on a
    file damaged inside its pages, they fail rather than give other values."""
    tables_ = corpus(tmp_path)
    snippet = render(tables_).split("## Loading", 1)[1].split("```python\n")[recipe].split("```", 1)[0]
    path = tmp_path / "processed" / "consultations" / "b1.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(tables_["consultations"], path, write_page_checksum=True)
    monkeypatch.chdir(tmp_path)
    loaded: dict = {}
    exec(snippet, loaded)
    assert loaded["consultations"].shape == (3, tables_["consultations"].num_columns)
    flip_bytes_in_column(path, "answer")
    with pytest.raises(OSError, match="CRC checksum verification failed"):
        exec(snippet, {})
