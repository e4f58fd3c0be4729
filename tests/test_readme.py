"""The README stays true: it opens with the two commands and documents every dataset column."""

from pathlib import Path

import pytest

from pipeline.core import schemas

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


def test_readme_opens_with_the_two_commands():
    first_lines = README.splitlines()[:6]
    assert any(line.startswith("make run") for line in first_lines)
    assert any(line.startswith("make test") for line in first_lines)


@pytest.mark.parametrize("dataset", ["consultations", "sections", "related_questions", "page_versions", "rejects", "missing_pages", "near_duplicates", "pii_originals"])
def test_every_column_is_documented(dataset):
    section = README.split(f"### `{dataset}`", 1)[1].split("\n### ", 1)[0]
    documented = {name.strip(" `") for row in section.splitlines() if row.startswith("| `") for name in row.split("|")[1].split(",")}
    for name in schemas.DATASETS[dataset].names:
        assert name in documented, f"{dataset}.{name} is not documented"
