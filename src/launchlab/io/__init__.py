"""Loaders and data contracts: the one place where users' files become canonical frames.

Every loader reads CSV/TSV, Parquet or JSON Lines (gzip allowed; :mod:`.reading`), maps the
user's column names onto launchlab's canonical ones (known aliases and the Amazon review dump
format without flags, anything else through an explicit ``mapping``; :mod:`.columns`), checks
each row against the frame's contract and returns a :class:`Loaded`: the usable rows, the
quarantined rows with their reason, and the counts (``rows_in == rows_used +
rows_quarantined``). Problems with the file as a whole raise :class:`~launchlab.errors.InputError`.

One module per contract (:mod:`.reviews`, :mod:`.series`, :mod:`.concepts`,
:mod:`.experiment`), each declaring its rules once: ``validate_*`` sets aside the rows that break
them with the reason, ``require_*`` (called at a stage function's entry) raises on the first one,
naming the file, row and column. :mod:`.writing` writes tables and quarantine files.
"""

from launchlab.io.columns import map_columns
from launchlab.io.concepts import CONCEPT_ALIASES, concept_problems, load_concepts, require_concepts, validate_concepts
from launchlab.io.contract import Loaded, Problems, require_columns, row_number
from launchlab.io.experiment import load_experiment, validate_experiment
from launchlab.io.reading import TABLE_SUFFIXES, read_table
from launchlab.io.reviews import RATING_RANGE, REVIEW_ALIASES, load_reviews, require_reviews, review_problems, validate_reviews
from launchlab.io.series import SERIES_ALIASES, load_series, parse_ds, require_series, series_problems, validate_series
from launchlab.io.values import parse_dates
from launchlab.io.writing import neutralise_formulas, write_preview, write_quarantine, write_table

__all__ = [
    "CONCEPT_ALIASES",
    "RATING_RANGE",
    "REVIEW_ALIASES",
    "SERIES_ALIASES",
    "TABLE_SUFFIXES",
    "Loaded",
    "Problems",
    "concept_problems",
    "load_concepts",
    "load_experiment",
    "load_reviews",
    "load_series",
    "map_columns",
    "neutralise_formulas",
    "parse_dates",
    "parse_ds",
    "read_table",
    "require_columns",
    "require_concepts",
    "require_reviews",
    "require_series",
    "review_problems",
    "row_number",
    "series_problems",
    "validate_concepts",
    "validate_experiment",
    "validate_reviews",
    "validate_series",
    "write_preview",
    "write_quarantine",
    "write_table",
]
