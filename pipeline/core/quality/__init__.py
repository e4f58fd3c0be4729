"""Corpus quality: related-question links, the crawl frontier, near-duplicates, PII redaction,
matching keys and quality signals, and the dataset card.

Pure core like the rest of `pipeline.core`: functions over pyarrow tables, no Dagster. Each step adds
columns or side tables; the scraped text is never rewritten except by PII redaction, which is opt-out.
"""
