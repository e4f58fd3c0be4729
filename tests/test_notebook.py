"""The exploration notebook runs end to end on a corpus built from raw/sample/, and on one in which every page
was rejected, and only reads them."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import make_dagster_home, write_batch
from .pages import make_page

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore_corpus.ipynb"

pytestmark = pytest.mark.slow  # starts a Jupyter kernel


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root: any write, addition or removal shows."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def execute(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """The notebook run by a real kernel on `corpus`, outputs filled in; CellExecutionError when a cell fails."""
    monkeypatch.setenv("CORPUS_DIR", str(corpus))  # the kernel inherits this environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # run from notebooks/, as a user would
    ).execute()
    return notebook


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert outputs(notebook) == [], "clear the outputs before committing the notebook"


def test_notebook_runs_on_the_built_corpus_and_only_reads_it(built_corpus: Path, monkeypatch):
    before = tree_digest(built_corpus)
    assert before, "the built corpus is empty"

    produced = outputs(execute(built_corpus, monkeypatch))
    images = [output for output in produced if "image/png" in output.get("data", {})]
    assert len(images) >= 3
    assert not [output for output in produced if output.output_type == "error"]
    stderr = "".join(output.text for output in produced if output.get("name") == "stderr")
    assert "Glyph" not in stderr, "missing-glyph warnings should be silenced"
    assert str(built_corpus.resolve()) in "".join(o.get("text", "") for o in produced), "read another corpus"
    assert tree_digest(built_corpus) == before, "the notebook wrote to the processed folder"


def test_notebook_runs_on_a_corpus_in_which_every_page_was_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Such a build succeeds with no file in the per-batch datasets: pandas reads those folders as frames without
    columns, and the notebook stopped at its first chart (KeyError: 'category'). It now says the corpus is empty."""
    from pipeline.build import run_build

    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_batch(raw, "2026-11-03", {"empty.txt": b"", "no-answer.txt": make_page(answer_lines=[], related_lines=[])})
    out = io.StringIO()
    assert run_build(raw, processed, out=out) == 0, out.getvalue()
    assert not list((processed / "consultations").glob("*.parquet")), "not the case: a consultations file was written"
    before = tree_digest(processed)

    produced = outputs(execute(processed, monkeypatch))

    assert not [output for output in produced if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in produced)
    assert "No consultations in this corpus" in text and "no consultations to show" in text
    assert str(processed.resolve()) in text, "read another corpus"
    shown = "".join(output.get("data", {}).get("text/plain", "") for output in produced)
    assert "empty_file" in shown and "no_answer" in shown, "the rejects should still be shown"
    assert tree_digest(processed) == before, "the notebook wrote to the processed folder"
