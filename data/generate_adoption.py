"""Generate ``data/launch_adoption_weekly.csv``: **simulated** weekly sales of the demo's new product line.

Why simulated: the demo's story is a women's clothing brand that finds a growing need (petite
sizing), ranks concepts against it, tests the launch page (``launch_experiment.csv``, simulated
too) and then follows the early sales of the new line. No real, redistributable sales series of a
clothing launch is reachable, and a real adoption curve of another category (video games,
mainframes) behind a clothing decision would pretend to be evidence it is not. So the early sales
are drawn from a Bass diffusion model with noise. Nothing in them is real.

The design: the line ("true-petite-midi-dress") launches on Monday 2026-03-16, right after the
two-week page test; weekly unit sales follow a Bass curve with innovation p = 0.01, imitation
q = 0.22 and a market of m = 12,000 units (so sales peak around week 13), drawn from a negative
binomial around the curve (overdispersed, as real weekly sales are). The file holds the first
``WEEKS`` weeks observed so far; the rest of the curve is what the incubation stage forecasts.

Long format: ``unique_id, ds, y`` (week start, units sold).

Run: ``python data/generate_adoption.py`` (seeded; numpy + pandas).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20260316
LAUNCH = "2026-03-16"
WEEKS = 17
P, Q, M = 0.01, 0.22, 12_000.0
DISPERSION = 25.0
PRODUCT = "true-petite-midi-dress"


def bass_cumulative(t: np.ndarray, p: float = P, q: float = Q, m: float = M) -> np.ndarray:
    """Cumulative adopters of the Bass model after ``t`` periods."""
    e = np.exp(-(p + q) * t)
    return m * (1.0 - e) / (1.0 + (q / p) * e)


def simulate(weeks: int = WEEKS, seed: int = SEED) -> pd.DataFrame:
    """The observed weeks as a long frame."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks + 1, dtype=float)
    expected = np.diff(bass_cumulative(t))
    units = rng.negative_binomial(DISPERSION, DISPERSION / (DISPERSION + expected))
    return pd.DataFrame(
        {
            "unique_id": PRODUCT,
            "ds": pd.date_range(LAUNCH, periods=weeks, freq="W-MON").strftime("%Y-%m-%d"),
            "y": units,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("launch_adoption_weekly.csv"))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--weeks", type=int, default=WEEKS)
    args = parser.parse_args()
    frame = simulate(args.weeks, args.seed)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} weeks to {args.out}; units sold so far {frame['y'].sum():,}")
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
