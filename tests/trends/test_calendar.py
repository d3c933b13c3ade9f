"""Calendar inference and alignment of long series frames."""

from __future__ import annotations

import pandas as pd
import pytest

from launchlab.errors import InputError
from launchlab.trends.calendar import infer_freq, regularise, season_length_for


@pytest.mark.parametrize(
    ("dates", "freq", "season"),
    [
        (pd.date_range("2024-01-01", periods=20, freq="D"), "D", 7),
        (pd.date_range("2024-01-07", periods=20, freq="W-SUN"), "W-SUN", 52),
        (pd.date_range("2020-01-01", periods=20, freq="MS"), "MS", 12),
        (pd.date_range("2020-01-31", periods=20, freq="ME"), "ME", 12),
        (pd.date_range("2000-01-01", periods=20, freq="QS-JAN"), "QS-JAN", 4),
        (pd.date_range("1990-01-01", periods=20, freq="YS-JAN"), "YS-JAN", 1),
    ],
)
def test_infer_freq_and_season_length(dates, freq, season):
    inferred = infer_freq(pd.Series(dates))
    assert inferred == freq and season_length_for(inferred) == season


def test_integer_periods_use_their_common_step():
    frame = pd.DataFrame({"unique_id": ["a"] * 4 + ["b"] * 3, "ds": [2000, 2002, 2004, 2008, 2001, 2003, 2005], "y": 1.0})
    assert infer_freq(frame["ds"], frame["unique_id"]) == 2
    reg = regularise(frame, fill="zero")
    a = reg.frame[reg.frame["unique_id"] == "a"]
    assert a["ds"].tolist() == [2000, 2002, 2004, 2006, 2008] and a["y"].tolist() == [1, 1, 1, 0, 1]
    assert reg.n_filled == 1


def test_unreadable_spacing_asks_for_a_frequency():
    dates = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-20", "2024-02-08"]))
    with pytest.raises(InputError, match="freq"):
        infer_freq(dates)
