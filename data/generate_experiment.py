"""Generate ``data/launch_experiment.csv``: a simulated post-launch A/B test of a product page.

Why simulated: the real A/B test files we use in tests (Cookie Cats, Hillstrom, the fast-food
promotions in ``../shared/data/launch/``) carry no licence that lets us redistribute them, so the
demo ships a synthetic experiment instead. Nothing in it is real customer data.

The story: the demo clothing brand launches a new product page (size guide with fit notes from
reviews, on-model photos) for its new line and tests it against the current page for 14 days.
One row per visitor exposed to the test:

* ``user_id`` — randomisation unit; ``date`` — first exposure (2026-03-02 … 2026-03-15);
* ``variant`` — ``control`` (current page) or ``treatment`` (new page), a fair 50/50 coin;
* ``pre_sessions`` — sessions in the 28 days before the test (pre-period covariate, for CUPED);
* funnel (AIPL): every visitor saw the campaign (awareness); ``viewed_product`` (interest),
  ``added_to_cart``, ``converted`` (purchase, the primary metric), ``repeat_purchase`` (loyalty,
  a second order within the window);
* ``revenue`` — order value in EUR (0 without an order);
* ``returned`` — the order was sent back (a guardrail: lower is better).

True effects (on the latent scale, so realised lifts vary with the seed): the new page raises
product views and add-to-cart, for roughly +15–20% relative conversion; it does not change order
values or returns. Engagement before the test (``pre_sessions``) drives every outcome, which is
what makes CUPED useful.

Logging problems a real test has, so the demo exercises the data checks: 30 visitors were
exposed to both pages (both rows kept) and 40 exposure events were logged twice (exact duplicate
rows). The readout quarantines them.

Run: ``python data/generate_experiment.py`` (seeded; stdlib + numpy + pandas). Output is
deterministic for a given seed and numpy version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20260302
N_VISITORS = 20_000
START = "2026-03-02"
DAYS = 14


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate(n: int = N_VISITORS, seed: int = SEED) -> pd.DataFrame:
    """The experiment as a frame, one row per exposure (including the injected logging faults)."""
    rng = np.random.default_rng(seed)
    treat = rng.random(n) < 0.5
    day = rng.integers(0, DAYS, size=n)
    date = pd.Timestamp(START) + pd.to_timedelta(day, unit="D")
    # Negative binomial: most visitors are occasional, a few are regulars.
    pre_sessions = rng.negative_binomial(n=1.2, p=1.2 / (1.2 + 2.5), size=n)
    engagement = 0.55 * np.log1p(pre_sessions) + rng.normal(0.0, 0.6, size=n)

    viewed = rng.random(n) < _sigmoid(-0.6 + engagement + 0.15 * treat)
    carted = viewed & (rng.random(n) < _sigmoid(-1.9 + 0.8 * engagement + 0.26 * treat))
    converted = carted & (rng.random(n) < _sigmoid(-0.1 + 0.4 * engagement))
    repeat = converted & (rng.random(n) < _sigmoid(-1.6 + 0.5 * engagement))
    order_value = rng.lognormal(mean=3.95, sigma=0.45, size=n) * (1.0 + 0.12 * np.log1p(pre_sessions))
    orders = converted.astype(int) + repeat.astype(int)
    revenue = np.round(orders * order_value, 2)
    returned = converted & (rng.random(n) < 0.22)

    frame = pd.DataFrame(
        {
            "user_id": [f"u{100000 + i}" for i in range(n)],
            "date": date.strftime("%Y-%m-%d"),
            "variant": np.where(treat, "treatment", "control"),
            "pre_sessions": pre_sessions,
            "viewed_product": viewed.astype(int),
            "added_to_cart": carted.astype(int),
            "converted": converted.astype(int),
            "repeat_purchase": repeat.astype(int),
            "revenue": revenue,
            "returned": returned.astype(int),
        }
    )

    # Logging faults: visitors seen in both arms (a cache served them the other page on a later
    # visit) and exposure events fired twice.
    crossed = frame.sample(30, random_state=seed).copy()
    crossed["variant"] = np.where(crossed["variant"] == "control", "treatment", "control")
    crossed["date"] = (pd.to_datetime(crossed["date"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    doubled = frame.drop(crossed.index).sample(40, random_state=seed + 1)
    out = pd.concat([frame, crossed, doubled], ignore_index=True)
    return out.sort_values(["date", "user_id"], kind="stable").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("launch_experiment.csv"))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("-n", type=int, default=N_VISITORS)
    args = parser.parse_args()
    frame = simulate(args.n, args.seed)
    frame.to_csv(args.out, index=False)
    rates = frame.groupby("variant")[["converted", "revenue", "returned"]].mean()
    print(f"wrote {len(frame):,} rows to {args.out}")
    print(rates.round(4).to_string())


if __name__ == "__main__":
    main()
