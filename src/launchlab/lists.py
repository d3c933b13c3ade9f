"""Cells that hold a list of texts (claims, keywords, quotes), however they were written."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

SEPARATORS = re.compile(r"[;|\n]")
"""How a table cell separates the items of a list written as text (``soft; machine washable``)."""


def as_list(value: object) -> list[str]:
    """The items of a list cell as stripped, non-empty texts.

    A list, tuple, array or Series gives its items (missing ones dropped); text is split on
    ``;``, ``|`` or a line break; a missing cell gives ``[]``; any other value is one item.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [part.strip() for part in SEPARATORS.split(value) if part.strip()]
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [str(v).strip() for v in value if v is not None and str(v).strip() and str(v) != "nan"]
    return [str(value)]
