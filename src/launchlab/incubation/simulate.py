"""Simulated experiments and adoption curves whose truth is known (for tests and benchmarks).

Everything here is **simulated data**, seeded: experiments where every customer's own
treatment effect is known, so segment intervals, heterogeneity tests and uplift rankings can be
scored against the truth; and Bass adoption curves with autocorrelated, level-dependent noise,
so demand intervals can be scored on tails that were really drawn from the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from launchlab.incubation.bass import bass_adoptions

CHANNELS = np.array(["web", "phone", "store"])


def _covariates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "channel": CHANNELS[rng.choice(3, size=n, p=[0.45, 0.4, 0.15])],
        "past_buyer": (rng.random(n) < 0.5).astype(int),
        "recency": rng.integers(1, 13, size=n),
        "spend": np.round(np.exp(rng.normal(5.0, 0.8, size=n)), 2),
        "noise_a": rng.normal(size=n),
        "noise_b": rng.normal(size=n),
    })


def _probabilities(x: pd.DataFrame, effect: str, ate: float, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Conversion probability without and with the treatment for each customer."""
    logit0 = (-2.3 + 0.35 * x["past_buyer"] - 0.06 * x["recency"] + 0.25 * (np.log(x["spend"]) - 5.0)
              + 0.2 * (x["channel"] == "web") + 0.1 * x["noise_a"])
    p0 = expit(logit0.to_numpy(dtype=float))
    if effect == "homogeneous":
        return p0, np.clip(p0 + ate, 0.0, 1.0)
    # Individual lift on the log-odds scale: past buyers, recent customers and the web channel
    # respond most; spend and noise_b add a smooth part; heavy lapsed phone customers barely.
    shift = (0.05 + strength * (0.55 * x["past_buyer"] + 0.45 * (x["recency"] <= 4) + 0.35 * (x["channel"] == "web")
                                - 0.25 * (x["channel"] == "phone") + 0.15 * np.tanh(x["noise_b"])
                                + 0.2 * (np.log(x["spend"]) - 5.0)))
    p1 = expit(logit0.to_numpy(dtype=float) + shift.to_numpy(dtype=float))
    return p0, p1


def simulate_experiment(
    n: int = 20_000, *, effect: str = "heterogeneous", ate: float = 0.03, strength: float = 1.0,
    treated_share: float = 0.5, seed: int = 0,
) -> pd.DataFrame:
    """A simulated randomised experiment with a binary outcome and known individual effects.

    Columns: ``variant`` (treatment / control), covariates ``channel``, ``past_buyer``,
    ``recency`` (1-12 months), ``spend``, ``noise_a``, ``noise_b``, the outcome ``converted``
    and the truth: ``p_control``, ``p_treatment`` and ``tau`` (the customer's own lift in
    conversion probability). ``effect="homogeneous"`` gives every customer the lift ``ate``;
    ``"heterogeneous"`` a lift that depends on the covariates (``strength`` scales it).
    """
    if effect not in ("homogeneous", "heterogeneous"):
        raise ValueError("effect must be 'homogeneous' or 'heterogeneous'")
    rng = np.random.default_rng(seed)
    x = _covariates(rng, n)
    p0, p1 = _probabilities(x, effect, ate, strength)
    treated = rng.random(n) < treated_share
    converted = (rng.random(n) < np.where(treated, p1, p0)).astype(int)
    return x.assign(variant=np.where(treated, "treatment", "control"), converted=converted,
                    p_control=p0, p_treatment=p1, tau=p1 - p0)


def true_segment_effects(
    levels: dict[str, object], *, effect: str = "heterogeneous", ate: float = 0.03, strength: float = 1.0,
    n: int = 1_000_000, seed: int = 12345,
) -> pd.DataFrame:
    """Population lift per segment, from ``n`` fresh customers of the same generator.

    ``levels`` maps a column to a function turning its values into segment labels (e.g. the
    banding used by the analysis). Returns column, level and ``true_lift``.
    """
    rng = np.random.default_rng(seed)
    x = _covariates(rng, n)
    p0, p1 = _probabilities(x, effect, ate, strength)
    tau = pd.Series(p1 - p0)
    rows = []
    for col, to_level in levels.items():
        lab = to_level(x[col]) if callable(to_level) else x[col].astype(str)
        for lv, value in tau.groupby(np.asarray(lab)).mean().items():
            rows.append({"column": col, "level": str(lv), "true_lift": float(value)})
    return pd.DataFrame(rows)


def simulate_bass_curves(
    n_curves: int = 50, *, length: tuple[int, int] = (20, 60), noise: tuple[float, float] = (0.05, 0.25),
    rho: tuple[float, float] = (0.0, 0.7), seed: int = 0,
) -> pd.DataFrame:
    """Simulated Bass adoption curves: long frame ``unique_id, ds, y`` (ds = 1, 2, ...).

    Each curve draws p, q, market size and length, and multiplies the Bass adoptions by
    log-normal noise following an AR(1) with the drawn ``rho`` (sales run hot or cold for a
    few periods, as weekly sales do), so noise grows with the level.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_curves):
        p = float(np.exp(rng.uniform(np.log(0.003), np.log(0.05))))
        q = float(rng.uniform(0.15, 0.7))
        m = float(np.exp(rng.uniform(np.log(2e3), np.log(2e6))))
        k = int(rng.integers(length[0], length[1] + 1))
        sigma, r = float(rng.uniform(*noise)), float(rng.uniform(*rho))
        e = np.empty(k)
        e[0] = rng.normal(0, sigma)
        for t in range(1, k):
            e[t] = r * e[t - 1] + np.sqrt(1 - r**2) * rng.normal(0, sigma)
        y = bass_adoptions(np.arange(1, k + 1), p, q, m) * np.exp(e - sigma**2 / 2)
        frames.append(pd.DataFrame({"unique_id": f"sim{i:03d}", "ds": np.arange(1, k + 1), "y": np.round(y)}))
    return pd.concat(frames, ignore_index=True)
