"""The pure core: everything that decides what the data is. Never imports Dagster."""
