"""A synthetic Viet Nam: provinces to communes, sites, people and their vaccination records.

Seeded and reproducible, generated in fixed blocks of people so that the result does not depend on
how it is chunked, and written to Parquet (and optionally a database) a chunk at a time. The model's
sources are the files in `data/`; docs/population.md describes them.
"""
