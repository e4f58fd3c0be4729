"""Shared fixtures and helpers: the repository root, a corpus built once per session from raw/sample/,
scrape batches written on the fly, temporary DAGSTER_HOMEs.

Nothing here writes into the repository: builds go to pytest's tmp folders, with a temporary
DAGSTER_HOME.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_BATCH = "sample"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def copy_sample_raw(repo_root: Path, destination: Path) -> Path:
    """A raw folder holding one batch, a copy of raw/sample/; returns the raw folder (not the batch)."""
    sample = repo_root / "raw" / SAMPLE_BATCH
    if not sample.is_dir() or not any(sample.iterdir()):
        pytest.fail(f"{sample} is missing or empty: the sample batch is part of the repository")
    shutil.copytree(sample, destination / SAMPLE_BATCH)
    return destination


def write_batch(
    raw: Path, batch: str, pages: dict[str, str | bytes], *, marker: bool = True, age_seconds: float = 0
) -> Path:
    """raw/<batch>/ with `pages` (name -> content), then the scraper's _SUCCESS marker when `marker`;
    `age_seconds` back-dates the files (a batch that has been quiet that long)."""
    from pipeline.core.batches import SUCCESS_MARKER

    folder = raw / batch
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in pages.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        written.append(path)
    if marker:
        written.append(folder / SUCCESS_MARKER)
        written[-1].write_bytes(b"")
    if age_seconds:
        past = time.time() - age_seconds
        for path in written:
            os.utime(path, (past, past))
    return folder


def make_dagster_home(path: Path) -> Path:
    """A DAGSTER_HOME with the local instance's settings (telemetry off, the run queue limits)."""
    from pipeline.build import LOCAL_INSTANCE_CONFIG

    path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LOCAL_INSTANCE_CONFIG, path / "dagster.yaml")
    return path


@pytest.fixture(scope="session")
def sample_raw_dir(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention tmp copy of the sample batch: <tmp>/raw/sample/…"""
    return copy_sample_raw(repo_root, tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="session")
def session_dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary DAGSTER_HOME for in-process builds of this session."""
    home = make_dagster_home(tmp_path_factory.mktemp("dagster_home"))
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}):
        yield home


@pytest.fixture(scope="session")
def built_corpus(
    sample_raw_dir: Path, session_dagster_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The processed folder (one sub-folder per dataset) built from raw/sample/ by `run_build`."""
    from pipeline.build import run_build

    processed = tmp_path_factory.mktemp("built") / "processed"
    out = io.StringIO()
    code = run_build(sample_raw_dir, processed, out=out)
    assert code == 0, f"the sample build failed:\n{out.getvalue()}"
    return processed
