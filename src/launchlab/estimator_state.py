"""Estimator state that skops can save: MLflow stores our scikit-learn models in the skops
format (no pickle), and skops saves numpy arrays, numbers, strings and containers but not
pandas frames. :class:`FramesAsArrays` stores each fitted DataFrame attribute as its column
arrays and rebuilds it on load.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_FRAME = "__launchlab_frame__"


class FramesAsArrays:
    """Mixin for estimators that keep fitted ``DataFrame`` attributes (put it before ``BaseEstimator``)."""

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # type: ignore[misc]
        return {key: _frame_state(value) if isinstance(value, pd.DataFrame) else value for key, value in state.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        restored = {key: _frame(value) if isinstance(value, dict) and _FRAME in value else value for key, value in state.items()}
        super().__setstate__(restored)  # type: ignore[misc]


def _frame_state(frame: pd.DataFrame) -> dict[str, Any]:
    columns = [str(c) for c in frame.columns]
    return {
        _FRAME: True,
        "columns": columns,
        "dtypes": [str(t) for t in frame.dtypes],
        "arrays": [np.asarray(frame[c].to_numpy(), dtype=object if frame[c].dtype == object else None) for c in frame.columns],
    }


def _frame(state: dict[str, Any]) -> pd.DataFrame:
    data = {name: pd.Series(values).astype(dtype) for name, values, dtype in zip(state["columns"], state["arrays"], state["dtypes"])}
    return pd.DataFrame(data, columns=state["columns"])
