"""Generate ``data/womens_clothing_reviews_dated.parquet``: the real clothing reviews with **simulated** dates.

Why simulated: the demo needs dated reviews to show the whole chain (need series → trend classes
→ concept momentum), and no redistributable, dated, real review corpus is reachable: the
clothing corpus (CC0) has no dates, and the dated Amazon beauty corpus may not be bundled. So the
demo keeps every real field of the clothing reviews (text, title, stars, age, product, class) and
only adds a date that we invent. Nothing in the date column is real.

How the dates are drawn (seeded, reproducible byte for byte for a given numpy/pandas):

* The window is 30 months, 2023-09-01 … 2026-02-28 (the month before the demo's launch test).
* Reviews that talk about petite sizing (``petite`` in the title or text, 8.4% of the corpus) are
  the one need that grows: a share ``BASELINE`` of them gets a uniform date over the window (petite
  shoppers always wrote reviews), the rest falls in the last ``RAMP_MONTHS`` months with a monthly
  weight rising linearly (1, 2, …, ``RAMP_MONTHS``), so their monthly count ramps up from the
  onset month 2025-07 to the end of the window.
* Every other review gets a uniform date over the window: no other need has a trend by design.
  What the demo finds rising besides petite sizing comes from sampling noise or from topics that
  co-occur with petite sizing in real reviews (lengths, hems, sizes), not from the simulation.

The output is the bundled parquet file with one column added, ``Simulated Date`` (ISO date).

Run: ``python data/generate_review_dates.py`` (numpy + pandas). It prints the petite reviews'
monthly share so the ramp can be checked.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20250701
START, END = "2023-09-01", "2026-02-28"
RAMP_MONTHS = 8
BASELINE = 0.6
COLUMN = "Simulated Date"
GROWING = re.compile(r"\bpetite", re.IGNORECASE)
HERE = Path(__file__).resolve().parent


def talks_about_growing_need(reviews: pd.DataFrame) -> np.ndarray:
    """True for reviews whose title or text mentions petite sizing."""
    text = reviews["Title"].fillna("").astype(str) + " " + reviews["Review Text"].fillna("").astype(str)
    return text.map(lambda value: bool(GROWING.search(value))).to_numpy()


def simulate_dates(reviews: pd.DataFrame, seed: int = SEED) -> pd.Series:
    """One simulated date per review (see the module docstring for the design)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END, freq="D")
    months = days.to_period("M")
    month_starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    month_lengths = np.diff(np.r_[month_starts, len(days)])
    n_months = len(month_starts)

    growing = talks_about_growing_need(reviews)
    day = rng.integers(0, len(days), size=len(reviews))
    ramped = growing & (rng.random(len(reviews)) >= BASELINE)
    weights = np.zeros(n_months)
    weights[n_months - RAMP_MONTHS:] = np.arange(1, RAMP_MONTHS + 1)
    month = rng.choice(n_months, size=int(ramped.sum()), p=weights / weights.sum())
    offset = (rng.random(month.size) * month_lengths[month]).astype(int)
    day[ramped] = month_starts[month] + offset
    return pd.Series(days[day].strftime("%Y-%m-%d"), index=reviews.index, name=COLUMN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=Path, default=HERE / "womens_clothing_reviews.parquet")
    parser.add_argument("--out", type=Path, default=HERE / "womens_clothing_reviews_dated.parquet")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    reviews = pd.read_parquet(args.reviews)
    dated = reviews.assign(**{COLUMN: simulate_dates(reviews, args.seed)})
    dated.to_parquet(args.out, index=False, compression="brotli")
    month = pd.to_datetime(dated[COLUMN]).dt.to_period("M")
    share = pd.Series(talks_about_growing_need(reviews), index=reviews.index).groupby(month).mean()
    print(f"wrote {len(dated):,} reviews to {args.out}")
    print("share of reviews about petite sizing, by simulated month:")
    print(share.round(3).to_string())


if __name__ == "__main__":
    main()
