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
* ``returned`` — the order was sent back (a guardrail: lower is better);
* customer covariates known before the test (for segment effects and uplift targeting):
  ``channel`` (how the visitor arrived: ``app``, ``web``, ``email`` or ``social``), ``past_buyer`` (1 if they
  had bought a dress before), ``recency_days`` (days since their previous visit, 1–365) and
  ``petite`` (1 if they shop petite sizes).

True effects (on the latent scale, so realised lifts vary with the seed): the new page raises
product views and add-to-cart; over the visitor population that is +1.9 pp of conversion (7.9% →
9.9%, +24% relative) in expectation, and this seed's 20,000 visitors read out +1.42 pp (+17%). It
does not change order values or returns. Engagement before the test (``pre_sessions``) drives every
outcome, which is what makes CUPED useful. The effect is **heterogeneous**, as the stage-4
segment analysis and uplift model should find: the fit notes help petite shoppers most (the
need stage 1 finds growing), and visitors who have never bought a dress (they do not know their
size yet) more than past buyers; e-mail visitors, who arrive set on one product, respond less.
Recency changes the baseline conversion but not the effect (a segment column with no real
difference). ``effect_multiplier`` below is the truth.

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


CHANNELS = np.array(["app", "web", "email", "social"])
CHANNEL_SHARES = [0.33, 0.37, 0.18, 0.12]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def effect_multiplier(channel: np.ndarray, past_buyer: np.ndarray, petite: np.ndarray) -> np.ndarray:
    """How strongly the new page works for each visitor: it scales the page's shift of the view
    and add-to-cart log-odds (1 = the average visitor's shift)."""
    return 0.15 + 2.3 * petite + 0.6 * (1 - past_buyer) + 0.15 * (channel == "web") - 0.3 * (channel == "email")


def _covariates(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "channel": CHANNELS[rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARES)],
        "past_buyer": (rng.random(n) < 0.4).astype(int),
        "recency_days": np.minimum(np.ceil(rng.exponential(60.0, size=n)), 365).astype(int),
        "petite": (rng.random(n) < 0.18).astype(int),
    }


def simulate(n: int = N_VISITORS, seed: int = SEED) -> pd.DataFrame:
    """The experiment as a frame, one row per exposure (including the injected logging faults)."""
    rng = np.random.default_rng(seed)
    treat = rng.random(n) < 0.5
    day = rng.integers(0, DAYS, size=n)
    date = pd.Timestamp(START) + pd.to_timedelta(day, unit="D")
    # Negative binomial: most visitors are occasional, a few are regulars.
    pre_sessions = rng.negative_binomial(n=1.2, p=1.2 / (1.2 + 2.5), size=n)
    engagement = 0.55 * np.log1p(pre_sessions) + rng.normal(0.0, 0.6, size=n)
    cov = _covariates(rng, n)
    base = (0.35 * cov["past_buyer"] + 0.3 * (cov["channel"] == "email") - 0.25 * np.log(cov["recency_days"] / 60.0)
            + 0.1 * cov["petite"])
    lift = treat * effect_multiplier(cov["channel"], cov["past_buyer"], cov["petite"])

    viewed = rng.random(n) < _sigmoid(-0.6 + engagement + 0.5 * base + 0.15 * lift)
    carted = viewed & (rng.random(n) < _sigmoid(-1.9 + 0.8 * engagement + 0.5 * base + 0.26 * lift))
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
            **cov,
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
