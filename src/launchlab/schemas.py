"""Canonical column names of the frames that flow between stages.

Loaders (``launchlab.io``) map users' files onto these names; stage functions only ever see
them. Optional columns may be absent (or all-null).
"""

from __future__ import annotations

# Reviews: one row per review.
REVIEW_ID, TEXT, RATING, DATE, PRODUCT, CATEGORY = "review_id", "text", "rating", "date", "product", "category"
REVIEWS_REQUIRED = (REVIEW_ID, TEXT)
REVIEWS_OPTIONAL = (RATING, DATE, PRODUCT, CATEGORY)

# Time series, long format (statsforecast's convention). ``ds`` is a datetime64 or an int period.
UNIQUE_ID, DS, Y = "unique_id", "ds", "y"
SERIES_REQUIRED = (UNIQUE_ID, DS, Y)

# Concepts.
CONCEPT_ID, NAME, DESCRIPTION, CLAIMS, PRICE = "concept_id", "name", "description", "claims", "price"
CONCEPTS_REQUIRED = (CONCEPT_ID, NAME, DESCRIPTION)
CONCEPTS_OPTIONAL = (CLAIMS, PRICE, CATEGORY)

# Launch experiments: unit-level (one row per unit: variant + metric columns named by the user)
# or aggregated (one row per variant with counts).
VARIANT, UNIT, N, CONVERSIONS = "variant", "unit", "n", "conversions"

# Every loaded frame carries the 1-based data row of the source file, for errors and quarantine.
SOURCE_ROW = "source_row"
REASON = "reason"
