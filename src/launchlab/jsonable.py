"""Results in plain JSON types and safe MLflow metric keys: the one place that turns numpy and
pandas values into what ``json`` and MLflow accept."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd


def to_jsonable(value: Any, *, digits: int | None = None) -> Any:
    """A JSON-ready copy of ``value``: dicts (keys as text) and lists/tuples item by item, numpy
    scalars as Python ones, NaN and infinities as None; floats rounded to ``digits`` when given.
    Anything else is returned as is."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, digits=digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, digits=digits) for v in value]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return None
        return float(value) if digits is None else round(float(value), digits)
    return value


def json_default(value: Any) -> Any:
    """The ``default=`` hook of ``json.dumps`` for values it cannot write: numpy scalars and
    arrays as Python values, timestamps as ISO text, anything else as its text."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def metric_key(name: str) -> str:
    """A variant or series name as a safe metric-key fragment (``Mens E-Mail`` → ``mens_e_mail``)."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return key or "blank"
