from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def monthly_trio() -> pd.DataFrame:
    """Three seeded monthly series (48 months, seasonal): clearly rising, clearly declining, flat."""
    rng = np.random.default_rng(7)
    ds = pd.date_range("2020-01-01", periods=48, freq="MS")
    t = np.arange(48)
    season = 8 * np.sin(2 * np.pi * t / 12)
    shapes = {"up": 100 + 2.0 * t, "down": 200 - 2.0 * t, "flat": np.full(48, 150.0)}
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": ds, "y": level + season + rng.normal(0, 3, 48)})
        for uid, level in shapes.items()
    ]
    return pd.concat(frames, ignore_index=True)
