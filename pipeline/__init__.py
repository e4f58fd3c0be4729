"""Consultation corpus pipeline: raw scrapes of a legal-consultation Q&A site to validated Parquet.

`pipeline.core` is the pure core (bytes to records to tables, no Dagster import);
`pipeline.defs` wires it into Dagster assets, checks and the Parquet IO manager.
"""
