"""The launchlab forecaster: a scikit-learn estimator over statsforecast.

Series are routed by what they look like, decided from history only:

* ``short``: fewer than ``min_length`` observations → the naive model (reported as a fallback);
* ``intermittent``: non-negative with at least ``intermittent_threshold`` zero periods → the mean
  of the Croston-type ``intermittent_models``;
* ``regular``: everything else → the mean of ``models`` (combinations beat single models, the
  lesson of the M competitions).

Each route is one ``StatsForecast`` call over all its series (statsforecast parallelises over
series; there is no Python loop per series). Interval bounds of the combination are the means of
the members' bounds. Forecasts of series that never went negative are clipped at zero.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from launchlab.errors import InputError
from launchlab.schemas import DS, UNIQUE_ID, Y
from launchlab.trends.calendar import regularise, season_length_for
from launchlab.trends.config import DEFAULT_INTERMITTENT_MODELS, DEFAULT_MODELS
from launchlab.trends.models import Guarded

COMBINED = "launchlab"
SAFETY = "Naive"
TIERS = ("regular", "intermittent", "short")


def interval_columns(levels: Sequence[int]) -> list[str]:
    """``yhat_lo_80, yhat_hi_80, yhat_lo_95, …`` in level order."""
    return [f"yhat_{side}_{lv}" for lv in sorted(levels) for side in ("lo", "hi")]


class Forecaster(BaseEstimator):
    """Forecast many series at once with per-route statsforecast model combinations.

    ``fit(frame)`` takes a long frame (unique_id, ds, y), aligns it to one calendar, fills gaps
    and routes every series; ``predict(h)`` returns ``unique_id, ds, yhat, yhat_lo_<l>,
    yhat_hi_<l>…, model``; ``backtest(h, n_windows)`` runs a rolling-origin backtest of every
    member model and of the combination. Statistical models are refit on the stored history at
    prediction time (statsforecast's memory-light ``forecast`` path), so the fitted state is the
    clean history plus the routing.
    """

    def __init__(
        self,
        freq: str | int | None = None,
        season_length: int | None = None,
        levels: Sequence[int] = (80, 95),
        models: Sequence[str] = tuple(DEFAULT_MODELS),
        intermittent_models: Sequence[str] = tuple(DEFAULT_INTERMITTENT_MODELS),
        intermittent_threshold: float = 0.3,
        min_length: int = 10,
        fill: str = "interpolate",
        n_jobs: int = 1,
    ) -> None:
        self.freq = freq
        self.season_length = season_length
        self.levels = levels
        self.models = models
        self.intermittent_models = intermittent_models
        self.intermittent_threshold = intermittent_threshold
        self.min_length = min_length
        self.fill = fill
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: None = None) -> Forecaster:
        """Learn the calendar, clean history and route of every series in the long frame ``X``."""
        missing = [c for c in (UNIQUE_ID, DS, Y) if c not in X.columns]
        if missing:
            raise InputError(
                f"the series frame has no {missing[0]!r} column", column=missing[0], fix="map your columns to unique_id, ds, y"
            )
        frame = X[[UNIQUE_ID, DS, Y]].copy()
        frame[UNIQUE_ID] = frame[UNIQUE_ID].astype(str)
        frame[Y] = pd.to_numeric(frame[Y], errors="coerce").astype(np.float64)
        if frame.empty:
            raise InputError("the series frame has no rows", fix="supply at least one series with two or more periods")
        reg = regularise(frame, freq=self.freq, fill=self.fill)
        clean = reg.frame
        # Leading/trailing gaps that interpolation or ffill cannot reach stay NaN: drop them.
        clean = clean[clean[Y].notna()]
        sizes = clean.groupby(UNIQUE_ID)[Y].size()
        too_short = sizes.index[sizes < 2]
        clean = clean[~clean[UNIQUE_ID].isin(too_short)].reset_index(drop=True)
        if clean.empty:
            raise InputError(
                "no series has two or more usable periods", column=Y, fix="supply longer series or a coarser frequency"
            )
        self.freq_ = reg.freq
        self.season_length_ = int(self.season_length or season_length_for(reg.freq))
        self.train_ = clean
        self.notes_ = list(reg.notes)
        self.quarantine_ = reg.quarantine
        self.excluded_ids_ = sorted(too_short.tolist())
        self.n_filled_ = reg.n_filled
        self.n_snapped_ = reg.n_snapped
        self.routes_ = self._route(clean)
        return self

    def _route(self, clean: pd.DataFrame) -> pd.DataFrame:
        g = clean.groupby(UNIQUE_ID, sort=True)[Y]
        routes = pd.DataFrame(
            {
                "n_obs": g.size(),
                "zero_share": clean[Y].eq(0).groupby(clean[UNIQUE_ID]).mean(),
                "nonnegative": clean[Y].ge(0).groupby(clean[UNIQUE_ID]).all(),
            }
        )
        routes["route"] = np.where(
            routes["n_obs"] < self.min_length,
            "short",
            np.where(
                routes["nonnegative"] & (routes["zero_share"] >= self.intermittent_threshold), "intermittent", "regular"
            ),
        )
        routes["model"] = [self._label(r) for r in routes["route"]]
        routes.index.name = UNIQUE_ID
        return routes.reset_index()

    def _members(self, route: str) -> list[str]:
        if route == "short":
            return [SAFETY]
        return list(self.models if route == "regular" else self.intermittent_models)

    def _label(self, route: str) -> str:
        members = self._members(route)
        return members[0] if len(members) == 1 else "mean(" + ",".join(members) + ")"

    def _sf(self, route: str):
        from statsforecast import StatsForecast

        names = self._members(route)
        if SAFETY not in names:
            names = names + [SAFETY]
        models = [Guarded(name, self.season_length_) for name in names]
        return StatsForecast(models=models, freq=self.freq_, n_jobs=self.n_jobs), names

    def predict(self, h: int) -> pd.DataFrame:
        """Forecast ``h`` periods past each series' end: ``unique_id, ds, yhat, yhat_lo_*, yhat_hi_*, model``."""
        if h < 1:
            raise InputError(f"horizon must be at least 1, got {h}", fix="pass a positive horizon")
        parts = []
        for route in TIERS:
            ids = self.routes_.loc[self.routes_["route"] == route, UNIQUE_ID]
            if ids.empty:
                continue
            sf, names = self._sf(route)
            raw = sf.forecast(df=self.train_[self.train_[UNIQUE_ID].isin(ids)], h=h, level=list(self.levels))
            parts.append(self._combine(raw, route, names))
        out = pd.concat(parts, ignore_index=True).sort_values([UNIQUE_ID, DS], kind="stable")
        return out.reset_index(drop=True)

    def _combine(self, raw: pd.DataFrame, route: str, names: list[str]) -> pd.DataFrame:
        """Mean of the route's members (bounds too), the safety model where all members failed."""
        raw = raw.reset_index() if UNIQUE_ID not in raw.columns else raw
        members = self._members(route)
        out = raw[[UNIQUE_ID, DS]].copy()
        means = raw[members].to_numpy()
        failed = np.all(np.isnan(means), axis=1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["yhat"] = np.where(failed, raw[SAFETY].to_numpy(), np.nanmean(means, axis=1))
        for lv in sorted(self.levels):
            for side in ("lo", "hi"):
                cols = raw[[f"{m}-{side}-{lv}" for m in members]].to_numpy()
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    combined = np.nanmean(cols, axis=1)
                out[f"yhat_{side}_{lv}"] = np.where(failed | np.isnan(combined), raw[f"{SAFETY}-{side}-{lv}"], combined)
        out["model"] = np.where(failed, SAFETY, self._label(route))
        out["n_failed_members"] = np.isnan(means).sum(axis=1)
        nonneg = out[UNIQUE_ID].map(self.routes_.set_index(UNIQUE_ID)["nonnegative"]).to_numpy(bool)
        cols = ["yhat", *interval_columns(self.levels)]
        out.loc[nonneg, cols] = out.loc[nonneg, cols].clip(lower=0.0)
        return _order_bounds(out, self.levels)

    def backtest(self, h: int, n_windows: int = 2) -> tuple[pd.DataFrame, list[str]]:
        """Rolling-origin backtest: ``n_windows`` cutoffs ``h`` apart, refitting at each.

        Returns the long frame ``unique_id, cutoff, ds, y, model, yhat, yhat_lo_*, yhat_hi_*`` (one
        block per member model and one for the combination, ``model == "launchlab"``) and the ids
        too short to backtest (they need ``min_length + n_windows * h`` periods).
        """
        need = self.min_length + n_windows * h
        sizes = self.routes_.set_index(UNIQUE_ID)["n_obs"]
        skipped = sorted(sizes.index[sizes < need].tolist())
        blocks = []
        for route in ("regular", "intermittent"):
            ids = self.routes_.loc[(self.routes_["route"] == route) & (self.routes_["n_obs"] >= need), UNIQUE_ID]
            if ids.empty:
                continue
            sf, names = self._sf(route)
            cv = sf.cross_validation(
                df=self.train_[self.train_[UNIQUE_ID].isin(ids)], h=h, n_windows=n_windows, step_size=h,
                level=list(self.levels),
            )
            cv = cv.reset_index() if UNIQUE_ID not in cv.columns else cv
            for name in names:
                block = cv[[UNIQUE_ID, "cutoff", DS, Y]].copy()
                block["model"] = name
                block["yhat"] = cv[name].to_numpy()
                for lv in sorted(self.levels):
                    block[f"yhat_lo_{lv}"] = cv[f"{name}-lo-{lv}"].to_numpy()
                    block[f"yhat_hi_{lv}"] = cv[f"{name}-hi-{lv}"].to_numpy()
                blocks.append(block)
            combined = self._combine(cv, route, names).drop(columns=["model", "n_failed_members"])
            combined.insert(2, "cutoff", cv["cutoff"].to_numpy())
            combined.insert(4, Y, cv[Y].to_numpy())
            combined.insert(5, "model", COMBINED)
            blocks.append(combined)
        columns = [UNIQUE_ID, "cutoff", DS, Y, "model", "yhat", *interval_columns(self.levels)]
        frame = pd.concat(blocks, ignore_index=True)[columns] if blocks else pd.DataFrame(columns=columns)
        return frame, skipped


def _order_bounds(out: pd.DataFrame, levels: Sequence[int]) -> pd.DataFrame:
    """Make lo_95 ≤ lo_80 ≤ yhat ≤ hi_80 ≤ hi_95 hold even after clipping or odd member bounds."""
    lo_inner, hi_inner = out["yhat"].to_numpy(), out["yhat"].to_numpy()
    for lv in sorted(levels):
        lo = np.fmin(out[f"yhat_lo_{lv}"].to_numpy(), lo_inner)
        hi = np.fmax(out[f"yhat_hi_{lv}"].to_numpy(), hi_inner)
        out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = lo, hi
        lo_inner, hi_inner = lo, hi
    return out
