"""stages.run_trends keeps share of voice and mean sentiment in the need series it writes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab import stages
from launchlab.trends import TrendsConfig


def _reviews(seed: int = 0, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 7 * 40, n), unit="D")
    need = rng.integers(0, 3, n)
    return pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(n)],
            "need_id": need,
            "date": dates,
            "sentiment": np.where(need == 2, -0.5, 0.5) + rng.normal(0, 0.1, n),
            "category": np.where(rng.random(n) < 0.5, "Dresses", "Tops"),
        }
    )


def test_need_series_table_has_share_and_sentiment(tmp_path):
    reviews = _reviews()
    result = stages.run_trends(
        [], config=TrendsConfig(horizon=4, backtest_windows=0), out_dir=tmp_path, insight_reviews=reviews
    )
    table = result.result.tables["series"]
    assert {"unique_id", "ds", "y", "share", "sentiment_mean"} <= set(table.columns)
    need2 = table[table["unique_id"] == "need-2"]
    assert need2["y"].sum() == (reviews["need_id"] == 2).sum()  # every review counted once
    assert need2.loc[need2["y"] > 0, "sentiment_mean"].lt(0).all()  # the negative need stays negative
    weekly_share = table[table["unique_id"].str.startswith("need-")].groupby("ds")["share"].sum()
    assert np.allclose(weekly_share[weekly_share > 0], 1.0)  # shares of voice add up per period
    written = pd.read_parquet(tmp_path / "series.parquet")
    assert {"share", "sentiment_mean"} <= set(written.columns) and len(written) == len(table)
