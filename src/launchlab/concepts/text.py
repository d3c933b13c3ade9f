"""The texts of a concept as the scorer reads them (and their embeddings), and quotes as the
explanations show them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from launchlab.schemas import CLAIMS, DESCRIPTION, NAME, TEXT

QUOTE_CHARS = 220
"""Quotes longer than this are cut at a word boundary."""


def concept_units(row: object) -> list[str]:
    """Whole text first (name. description. claims), then each claim alone."""
    claims = list(getattr(row, CLAIMS, []) or [])
    name, desc = str(getattr(row, NAME)).strip(), str(getattr(row, DESCRIPTION)).strip()
    whole = ". ".join(p.rstrip(".") for p in [name, desc, *claims] if p) + "."
    return [whole, *claims]


def history_texts(history: pd.DataFrame) -> list[list[str]]:
    """Text units of past concepts: whole text, then claims (as for new concepts)."""
    units = []
    for row in history.itertuples(index=False):
        name = str(getattr(row, NAME, "") or "").strip()
        body = getattr(row, DESCRIPTION, None) if DESCRIPTION in history else getattr(row, TEXT)
        claims = list(getattr(row, CLAIMS, None) or []) if CLAIMS in history else []
        whole = ". ".join(p.rstrip(".") for p in [name, str(body).strip(), *claims] if p and p != "nan") + "."
        units.append([whole, *claims])
    return units


def clean_quote(text: object) -> str:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = " ".join(str(text).split())
    if len(text) <= QUOTE_CHARS:
        return text
    cut = text[:QUOTE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


@dataclass
class ConceptTexts:
    """The texts behind a scoring run and their embeddings.

    ``units``: each concept's texts (whole text, then each claim); ``mentions``: the defect words
    each unit asserts; ``unit_vecs``: one ``(k_i, dim)`` array per concept; ``null_vecs``: the
    unrelated product texts the relevance is measured against; ``quotes``: the needs' quotes
    (cleaned), ``quote_vecs`` the embeddings of the non-empty ones, in order."""

    units: list[list[str]]
    mentions: list[list[list[str]]]
    pattern: re.Pattern[str]
    unit_vecs: list[np.ndarray]
    null_vecs: np.ndarray
    quotes: list[list[str]]
    quote_vecs: np.ndarray

    @property
    def defects(self) -> list[list[bool]]:
        return [[bool(found) for found in per_unit] for per_unit in self.mentions]
