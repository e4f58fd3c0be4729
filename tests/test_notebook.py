"""The exploration notebook runs end to end on a corpus built from raw/sample/ and only reads it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

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


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert outputs(notebook) == [], "clear the outputs before committing the notebook"


def test_notebook_runs_on_the_built_corpus_and_only_reads_it(built_corpus: Path, monkeypatch):
    before = tree_digest(built_corpus)
    assert before, "the built corpus is empty"
    monkeypatch.setenv("CORPUS_DIR", str(built_corpus))  # the kernel inherits this environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # run from notebooks/, as a user would
    ).execute()  # raises CellExecutionError when a cell fails

    produced = outputs(notebook)
    images = [output for output in produced if "image/png" in output.get("data", {})]
    assert len(images) >= 3
    assert not [output for output in produced if output.output_type == "error"]
    stderr = "".join(output.text for output in produced if output.get("name") == "stderr")
    assert "Glyph" not in stderr, "missing-glyph warnings should be silenced"
    assert str(built_corpus.resolve()) in "".join(o.get("text", "") for o in produced), "read another corpus"
    assert tree_digest(built_corpus) == before, "the notebook wrote to the processed folder"
