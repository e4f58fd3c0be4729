"""Jobs: `build_corpus` rebuilds every dataset (and runs every check) from raw/."""

from __future__ import annotations

import dagster as dg

from pipeline.defs.assets import GROUP

build_corpus = dg.define_asset_job(
    name="build_corpus",
    selection=dg.AssetSelection.groups(GROUP),
    description="Rebuild every corpus dataset from raw/ and run the blocking expectation checks.",
)
