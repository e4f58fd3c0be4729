"""Shared fixtures: the repository root and a corpus built once per session from raw/sample/.

Nothing here writes into the repository: builds go to pytest's tmp folders, with a temporary
DAGSTER_HOME.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_BATCH = "sample"
NO_TELEMETRY = "telemetry:\n  enabled: false\n"


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


def make_dagster_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text(NO_TELEMETRY, encoding="utf-8")
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
